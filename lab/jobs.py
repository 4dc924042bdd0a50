"""Training runs that outlive a page rerun and are shared by every session of the server.

A ``TrainingJob`` trains one configuration (the digit classifier, the CNN, or the sequence model) in a background
thread and keeps every finished record. Jobs live in ``REGISTRY``, one per configuration for the whole server:
identical settings pressed by a whole class train once, a widget change mid-run loses nothing, and a reloaded page
finds its run again.

The registry is also a fair queue: at most one job per core trains at once (each on one torch thread), the others
wait first come, first served, and each knows its place in line and an estimate of the wait. A job nobody watches
any more (every viewer closed the tab, cancelled, or asked for something else) is dropped from the queue, or
stopped after its current epoch. A queued or running job that someone watches is never dropped; finished jobs are
kept up to a bound. No streamlit import here.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict

from lab.estimate import estimate_seconds, learn
from transformer.sequence import SeqConfig, SeqRecord, SequenceModel, build_sequence_model, train_sequence_model
from transformer.train import Classifier, EpochRecord, TrainConfig, build_model, train_classifier

CORES = max(1, os.cpu_count() or 1)
# trainings at once: one per core, or LAB_TRAINING_SLOTS (a test sets it, so that its queue does not depend on the
# machine it runs on)
SLOTS = max(1, int(os.environ.get("LAB_TRAINING_SLOTS") or CORES))
PACE_FROM = 0.2  # a running job's own pace counts fully from this share of its training on
PACE_MEMORY = 120.0  # seconds: how long the pace of the last finished job still informs the waits
GRACE_SECONDS = 60.0  # a job keeps its place (or goes on training) this long without a viewer: a student who looks
# at another page and comes back finds it still there; a closed tab frees the core within a minute


def trainer(config: TrainConfig | SeqConfig):
    """(build the model, train it) for a configuration: the digit classifier or the sequence model."""
    if isinstance(config, SeqConfig):
        return build_sequence_model, train_sequence_model
    return build_model, train_classifier


class TrainingJob:
    """One training of a ``TrainConfig`` (digit classifier, CNN) or a ``SeqConfig`` (sequence model)."""

    def __init__(self, config: TrainConfig | SeqConfig, registry: JobRegistry | None = None):
        self.config = config
        self.registry = registry
        self.records: list[EpochRecord | SeqRecord] = []
        self.model: Classifier | SequenceModel | None = None
        self.error: str | None = None
        self.state = "new"  # new -> queued -> training -> done | failed | cancelled
        self.watchers: set[str] = set()  # sessions showing this job right now
        self.unwatched_since: float | None = None
        self.estimate = estimate_seconds(config)  # seconds of one core, before it starts
        self.started_at: float | None = None
        self._stop = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def fraction_done(self) -> float:
        """The share of its training this job has done, from its last record."""
        with self._cond:
            last = self.records[-1] if self.records else None
        if last is None:
            return 0.0
        if isinstance(self.config, SeqConfig):
            return last.step / max(1, self.config.steps)
        return last.epoch / max(1, self.config.epochs)

    def pace(self) -> float | None:
        """How many times its estimate this running job is taking (1.0: as estimated; more when the cores are
        shared), once it is far enough along to tell; else None."""
        fraction = self.fraction_done()
        if self.started_at is None or self.done or fraction < PACE_FROM:  # the first epochs carry the start-up
            return None
        return (time.monotonic() - self.started_at) / fraction / max(self.estimate, 1e-3)

    def remaining(self) -> float:
        """Seconds this job still needs: before it starts, its estimate; while it trains, more and more its own
        pace so far carried to the end (so a run slowed by a busy server says so)."""
        if self.done:
            return 0.0
        if self.started_at is None:
            return self.estimate
        elapsed, fraction = time.monotonic() - self.started_at, self.fraction_done()
        planned = max(0.5, self.estimate - elapsed)
        if fraction <= 0:
            return planned
        measured = max(0.5, elapsed * (1 - fraction) / fraction)
        trust = min(1.0, fraction / PACE_FROM)  # the first epochs carry the start-up: trust them gradually
        return trust * measured + (1 - trust) * planned

    def start(self) -> TrainingJob:
        """Without a registry: train now, in a thread of its own. With one: join its queue."""
        if self.registry is not None:
            self.registry.enqueue(self)
            return self
        self._launch()
        return self

    def _launch(self) -> None:
        with self._cond:
            if self._thread is None:
                self.state = "training"
                self.started_at = time.monotonic()
                self._thread = threading.Thread(target=self._run, name=f"train-{id(self):x}", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        final = "done"
        try:
            build, train = trainer(self.config)
            model = build(self.config)
            for record in train(self.config, model):
                with self._cond:
                    self.records.append(record)
                    self._cond.notify_all()
                if self._stop or self.abandoned():
                    final = "cancelled"
                    break
            self.model = model
            if final == "done" and self.records:  # CPU time: a busy server must not inflate later estimates
                learn(self.config, self.records[-1].cpu_seconds)
        except Exception as exc:  # shown in the page, never a traceback
            self.error = f"{type(exc).__name__}: {exc}"
            final = "failed"
        with self._cond:
            self.state = final
            self._cond.notify_all()
        if self.registry is not None:
            self.registry.finished(self)

    def abandoned(self) -> bool:
        """Nobody has watched this job for a while (only jobs in a registry can be abandoned)."""
        with self._cond:
            return (self.registry is not None and not self.watchers and self.unwatched_since is not None
                    and time.monotonic() - self.unwatched_since > GRACE_SECONDS)

    def cancel(self) -> None:
        """Stop after the current epoch (or never start); the records so far are kept."""
        with self._cond:
            self._stop = True
            if self.state in ("new", "queued"):
                self.state = "cancelled"
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float = 0.5) -> list:
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
            self.unwatched_since = None

    def unwatch(self, session: str) -> None:
        with self._cond:
            self.watchers.discard(session)
            if not self.watchers:
                self.unwatched_since = time.monotonic()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread is None and not self.done:  # still queued
            if deadline is not None and time.monotonic() > deadline:
                return
            self.wait_until_done(0.1)
        if self._thread is not None:
            self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


class JobRegistry:
    """The server's jobs by configuration, and the queue in front of its cores.

    ``start`` returns the queued, running or finished job for a configuration, or queues a new one; ``get`` only
    looks. Up to ``slots`` jobs train at once, the others wait in arrival order. ``keep`` bounds the finished jobs
    kept (the oldest go first); a queued or running job is never dropped while someone watches it."""

    def __init__(self, keep: int = 48, slots: int = SLOTS):
        self.keep, self.slots = keep, slots
        self._jobs: OrderedDict[TrainConfig | SeqConfig, TrainingJob] = OrderedDict()
        self._queue: list[TrainingJob] = []
        self._running: list[TrainingJob] = []
        self._lock = threading.RLock()
        self.started = 0  # trainings started by this registry (a benchmark counts duplicates with it)
        self._last_pace: tuple[float, float] | None = None  # (when, pace) of the last job that finished

    def get(self, config) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(config)

    def new_work(self, configs) -> list:
        """The configurations among ``configs`` that this server has not trained, is not training and has not
        queued: what a request would add (a finished, running or waiting job is shared, never trained again)."""
        with self._lock:
            return [c for c in configs if (job := self._jobs.get(c)) is None or job.state in ("failed", "cancelled")]

    def start(self, config, session: str | None = None) -> TrainingJob:
        with self._lock:
            job = self._jobs.get(config)
            if job is None or job.state in ("failed", "cancelled"):  # may be tried again
                job = self._jobs[config] = TrainingJob(config, self)
                self._evict()
            self._jobs.move_to_end(config)
            if session is not None:
                job.watch(session)
            if job.state == "new":
                job.start()
            return job

    def enqueue(self, job: TrainingJob) -> None:
        with self._lock:
            job.state = "queued"
            self._queue.append(job)
            self._dispatch()

    def finished(self, job: TrainingJob) -> None:
        with self._lock:
            if job in self._running:
                self._running.remove(job)
            if job.state == "done" and job.started_at is not None:
                now = time.monotonic()
                self._last_pace = now, (now - job.started_at) / max(job.estimate, 1e-3)
            self._dispatch()

    def _dispatch(self) -> None:
        """Start waiting jobs, oldest first, while a core is free; drop the ones nobody watches any more."""
        for job in list(self._queue):
            if job.state == "cancelled" or job.abandoned():
                job.cancel()
                self._queue.remove(job)
        while self._queue and len(self._running) < self.slots:
            job = self._queue.pop(0)
            self._running.append(job)
            self.started += 1
            if os.environ.get("LAB_LOG_TRAININGS") == "1":  # for the class benchmark: count trainings started
                sys.stderr.write(f"lab.jobs: training started {job.config!r}\n")
            job._launch()

    def tick(self) -> None:
        """Let the queue drop abandoned waiting jobs (pages call it while they follow a job)."""
        with self._lock:
            self._dispatch()

    def place(self, job: TrainingJob) -> tuple[int, float] | None:
        """(1-based place in line, estimated seconds until it starts) for a waiting job, else None."""
        with self._lock:
            if job not in self._queue:
                return None
            ahead = self._queue[: self._queue.index(job)]
            # the jobs ahead will go as the running ones go now: estimates scaled by their pace (within reason)
            paces = [p for j in self._running if (p := j.pace()) is not None]
            if self._last_pace is not None and time.monotonic() - self._last_pace[0] < PACE_MEMORY:
                paces.append(self._last_pace[1])
            scale = min(4.0, max(0.5, sum(paces) / len(paces))) if paces else 1.0
            work = sum(j.remaining() for j in self._running) + scale * sum(j.estimate for j in ahead)
            free = max(0, self.slots - len(self._running))
            return len(ahead) + 1, 0.0 if len(ahead) < free else work / self.slots

    def cancel(self, session: str, configs) -> None:
        """This session no longer wants ``configs``: each job it alone watched stops (or leaves the queue)."""
        with self._lock:
            for config in configs:
                job = self._jobs.get(config)
                if job is None:
                    continue
                job.unwatch(session)
                if not job.watchers and not job.done:
                    job.cancel()  # a running job stops after its epoch; a waiting one leaves the queue just below
            self._dispatch()

    def _evict(self) -> None:
        done = [c for c, j in self._jobs.items() if j.done]
        for config in done[: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[config]

    def clear(self) -> None:
        """Forget every finished job (the tests start each page with none); jobs in progress stay."""
        with self._lock:
            for config in [c for c, j in self._jobs.items() if j.done]:
                del self._jobs[config]

    def __len__(self) -> int:
        return len(self._jobs)


REGISTRY = JobRegistry()
