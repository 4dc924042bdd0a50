"""Training runs that outlive a page rerun and are shared by every session of the server.

A ``TrainingJob`` trains one ``TrainConfig`` in a background thread and keeps every finished epoch. The page
gets jobs from ``st.cache_resource`` (bounded), so identical settings pressed by a whole class train once,
and a widget change mid-run loses nothing: the thread goes on and the next rerun shows where it is.
At most one job per core trains at once (``_SLOTS``), each on one torch thread: ten different requests queue
instead of fighting for two cores, and a run with its check run uses both cores.
No streamlit import here: the page does the caching and the drawing.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

from transformer.train import EpochRecord, TrainConfig, build_model, train_classifier

_SLOTS = threading.Semaphore(max(1, os.cpu_count() or 1))


class TrainingJob:
    def __init__(self, config: TrainConfig):
        self.config = config
        self.records: list[EpochRecord] = []
        self.model = None
        self.error: str | None = None
        self.state = "new"  # new -> queued -> training -> done | failed
        self.watchers: set[str] = set()  # sessions showing this job right now (pages redraw less when many watch)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self.state in ("done", "failed")

    def start(self) -> "TrainingJob":
        with self._cond:
            if self._thread is None:
                self.state = "queued"
                self._thread = threading.Thread(target=self._run, name=f"train-{id(self):x}", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with _SLOTS:
                with self._cond:
                    self.state = "training"
                    self._cond.notify_all()
                model = build_model(self.config)
                for record in train_classifier(self.config, model):
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

    def watch(self, session: str) -> None:
        with self._cond:
            self.watchers.add(session)

    def unwatch(self, session: str) -> None:
        with self._cond:
            self.watchers.discard(session)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def plan(epoch_counts: list[int], base: TrainConfig) -> dict[int, TrainConfig]:
    """The training each requested run needs: with a constant learning rate one run of the longest length
    serves every shorter one (its first epochs are the same computation), so only that one trains."""
    counts = sorted(set(epoch_counts))
    if base.schedule == "constant":
        longest = replace(base, epochs=counts[-1])
        return {n: longest for n in counts}
    return {n: replace(base, epochs=n) for n in counts}
