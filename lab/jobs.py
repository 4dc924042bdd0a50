"""Training runs that outlive a page rerun and are shared by every session of the server.

A ``TrainingJob`` trains one ``TrainConfig`` in a background thread and keeps every finished epoch. Jobs live in
``REGISTRY``, one per configuration for the whole server process: identical settings pressed by a whole class
train once, a widget change mid-run loses nothing (the thread goes on and the next rerun shows where it is), and a
reloaded page finds its run again. The registry keeps a bounded number of finished jobs and never drops one that is
queued or training. At most one job per core trains at once (``SLOTS``), each on one torch thread.
No streamlit import here.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict

from transformer.sequence import SeqConfig, SeqRecord, SequenceModel, build_sequence_model, train_sequence_model
from transformer.train import Classifier, EpochRecord, TrainConfig, build_model, train_classifier

SLOTS = threading.Semaphore(max(1, os.cpu_count() or 1))


def trainer(config: TrainConfig | SeqConfig):
    """(build the model, train it) for a configuration: the digit classifier or the sequence model."""
    if isinstance(config, SeqConfig):
        return build_sequence_model, train_sequence_model
    return build_model, train_classifier


class TrainingJob:
    """One training of a ``TrainConfig`` (digit classifier, CNN) or a ``SeqConfig`` (sequence model)."""

    def __init__(self, config: TrainConfig | SeqConfig):
        self.config = config
        self.records: list[EpochRecord | SeqRecord] = []
        self.model: Classifier | SequenceModel | None = None
        self.error: str | None = None
        self.state = "new"  # new -> queued -> training -> done | failed
        self.watchers: set[str] = set()  # sessions showing this job right now (pages redraw less when many watch)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self.state in ("done", "failed")

    def start(self) -> TrainingJob:
        with self._cond:
            if self._thread is None:
                self.state = "queued"
                self._thread = threading.Thread(target=self._run, name=f"train-{id(self):x}", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with SLOTS:
                with self._cond:
                    self.state = "training"
                    self._cond.notify_all()
                build, train = trainer(self.config)
                model = build(self.config)
                for record in train(self.config, model):
                    with self._cond:
                        self.records.append(record)
                        self._cond.notify_all()
                self.model = model
                final = "done"
        except Exception as exc:  # shown in the page, never a traceback
            self.error = f"{type(exc).__name__}: {exc}"
            final = "failed"
        with self._cond:
            self.state = final
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float = 0.5) -> list[EpochRecord]:
        """Block until there are more than ``seen`` records or the job ends (or ``timeout``); return a copy."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.records) <= seen and not self.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self.records)

    def wait_until_done(self, timeout: float) -> bool:
        """Block until the job has ended (True) or ``timeout`` seconds have passed (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.done, timeout)

    def watch(self, session: str) -> None:
        with self._cond:
            self.watchers.add(session)

    def unwatch(self, session: str) -> None:
        with self._cond:
            self.watchers.discard(session)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class JobRegistry:
    """The server's jobs by configuration. ``start`` returns the running or finished job for a configuration, or
    starts one; ``get`` only looks. Beyond ``keep`` jobs the oldest *finished* ones are dropped (their sessions
    keep the records they showed); a job that is queued or training is never dropped, so nobody waiting for it
    ever causes a second training of the same settings."""

    def __init__(self, keep: int = 48):
        self.keep = keep
        self._jobs: OrderedDict[TrainConfig, TrainingJob] = OrderedDict()
        self._lock = threading.Lock()
        self.started = 0  # trainings started by this registry (a benchmark counts duplicates with it)

    def get(self, config: TrainConfig) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(config)

    def start(self, config: TrainConfig) -> TrainingJob:
        with self._lock:
            job = self._jobs.get(config)
            if job is None or job.state == "failed":  # a failed run may be tried again
                job = self._jobs[config] = TrainingJob(config)
                self.started += 1
                self._evict()
            self._jobs.move_to_end(config)
        return job.start()

    def _evict(self) -> None:
        for config in [c for c, j in self._jobs.items() if j.done][: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[config]

    def clear(self) -> None:
        """Forget every finished job (the tests start each page with none); jobs in progress stay."""
        with self._lock:
            for config in [c for c, j in self._jobs.items() if j.done]:
                del self._jobs[config]

    def __len__(self) -> int:
        return len(self._jobs)


REGISTRY = JobRegistry()
