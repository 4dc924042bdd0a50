"""Training runs that outlive a page rerun and are shared by every session of the server.

A ``TrainingJob`` trains one configuration of any kind (``transformer.protocol.Trainable``) in a background
thread and keeps every finished record. Jobs live in ``REGISTRY``, one per configuration for the whole server:
identical settings pressed by a whole class train once, a widget change mid-run loses nothing, and a reloaded page
finds its run again.

The registry is also a fair queue: at most one job per core trains at once (each on one torch thread), the others
wait first come, first served. A job nobody watches any more (every viewer closed the tab, cancelled, or asked for
something else) leaves the queue, or stops after its current epoch. A queued or running job that someone watches
is never dropped; finished jobs are kept up to a bound. No streamlit import here.

**One owner for every state.** A job's state, its place in the queue or among the running jobs, its records, its
watchers and its stop flag change only inside ``JobRegistry`` methods, under the registry's one lock; a job's own
methods hand every change to its registry, and a job made without a registry gets a private one. Lock order: none to
keep. No other lock is ever taken while the registry's is held (``lab.server.estimate`` has a lock of its own for what
finished trainings taught it; jobs are made, and their estimates learned from, outside the registry's lock). Each
job waits and wakes on a condition variable of that same lock, so a viewer wakes only for its job. The training
thread builds and trains the model outside the lock and hands each record, and its end, to the registry. The states:

    new ──start──> queued ──a core frees──> training ──the last record──> done
     │               │                         ├── an exception ────────> failed
     │               │                         └── Cancel, or nobody watching: after the epoch ──> cancelled
     └── Cancel ─────┴── Cancel, or nobody watching (it leaves the queue) ──────────────────────> cancelled

``failed`` and ``cancelled`` jobs may be started again (the registry replaces them with a new job). How long a job
will take and how long a place in line will wait are ``lab.server.estimate``'s to say: the queue hands it its snapshot.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from lab.server import estimate
from transformer.protocol import Trainable

CORES = max(1, os.cpu_count() or 1)
# trainings at once: one per core, or LAB_TRAINING_SLOTS (a test sets it, so that its queue does not depend on the
# machine it runs on)
SLOTS = max(1, int(os.environ.get("LAB_TRAINING_SLOTS") or CORES))
GRACE_SECONDS = 60.0  # a job keeps its place (or goes on training) this long without a viewer: a student who looks
# at another page and comes back finds it still there; a closed tab frees the core within a minute
ENDED = ("done", "failed", "cancelled")
WAIT_POLL = 0.25  # seconds between two looks at the store while another server trains the same settings


class TrainingJob:
    """One training of any kind (``transformer.protocol.Trainable``: the digit classifier, the CNN, a sequence or
    induction model, the language model). Its fields are read by the pages; every change to them goes through
    ``registry``."""

    def __init__(self, config: Trainable, registry: JobRegistry | None = None):
        self.config = config
        self.registry = registry if registry is not None else JobRegistry(keep=1, slots=1)  # a job of its own
        self.records: list = []
        self.model = None
        self.error: str | None = None
        self.state = "new"
        self.watchers: set[str] = set()  # sessions showing this job right now
        self.unwatched_since: float | None = None
        self.estimate = estimate.estimate_seconds(config)  # seconds of one core, before it starts
        self.started_at: float | None = None
        self.stop_asked = False
        self.changed = threading.Condition(self.registry.lock)  # notified on every new record and state
        self.thread: threading.Thread | None = None

    # ---- reading (under the registry's lock, so a reader sees one consistent moment)
    @property
    def done(self) -> bool:
        with self.registry.lock:
            return self.state in ENDED

    def _fraction_locked(self) -> float:
        return self.config.progress(self.records[-1]) if self.records else 0.0

    def _elapsed_locked(self) -> float | None:
        return None if self.started_at is None else time.monotonic() - self.started_at

    def pace(self) -> float | None:
        """How many times its estimate this running job is taking, once far enough along to tell; else None."""
        with self.registry.lock:
            if self.state != "training":
                return None
            return estimate.pace(self._elapsed_locked(), self._fraction_locked(), self.estimate)

    def remaining(self) -> float:
        """Seconds this job still needs (its estimate before it starts; more and more its own pace as it trains)."""
        with self.registry.lock:
            if self.state in ENDED:
                return 0.0
            return estimate.remaining(self.estimate, self._elapsed_locked(), self._fraction_locked())

    def _abandoned_locked(self) -> bool:
        return (not self.watchers and self.unwatched_since is not None
                and time.monotonic() - self.unwatched_since > GRACE_SECONDS)

    # ---- asking for changes (each one made by the registry)
    def start(self) -> TrainingJob:
        """Join the registry's queue (a job already started stays as it is)."""
        self.registry.submit(self)
        return self

    def cancel(self) -> None:
        """Stop after the current epoch, or never start; the records so far are kept."""
        self.registry.cancel_job(self)

    def watch(self, session: str) -> None:
        self.registry.watch(self, session)

    def unwatch(self, session: str) -> None:
        self.registry.unwatch(self, session)

    # ---- waiting
    def wait(self, seen: int, timeout: float = 0.5) -> list:
        """Block until there are more than ``seen`` records or the job ends (or ``timeout``); return a copy."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.records) > seen or self.state in ENDED, timeout)
            return list(self.records)

    def wait_until_done(self, timeout: float) -> bool:
        """Block until the job has ended (True) or ``timeout`` seconds have passed (False)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.state in ENDED, timeout)

    def join(self, timeout: float | None = None) -> None:
        """Until the job has ended (and its thread with it), or ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.changed:
            self.changed.wait_for(lambda: self.state in ENDED, timeout)
            thread = self.thread
        if thread is not None:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    # ---- the training thread
    def _run(self) -> None:
        final, error, model, last = "done", None, None, None
        archive = self.registry.archive
        try:
            served = self._wait_for_another_server() if archive is not None else None
            if served == "cancelled":
                final = "cancelled"
            elif served is not None:  # another server trained it meanwhile: its records and weights, as stored
                for record in served[0]:
                    self.registry.report(self, record)
                model = served[1]
            else:
                self.registry.training_here(self)
                model = self.config.build()
                for last in self.config.train(model):
                    if archive is not None:
                        archive.lease(self.config)  # renewed with every record: this server is alive
                    if not self.registry.report(self, last):  # asked to stop, or nobody watches any more
                        final = "cancelled"
                        break
                if final == "done" and last is not None:
                    estimate.learn(self.config, last.cpu_seconds)  # CPU time: a busy server does not inflate it
                    if archive is not None:
                        archive.save(self.config, self.records, model)
        except Exception as exc:  # shown in the page, never a traceback
            final, error, model = "failed", f"{type(exc).__name__}: {exc}", None
        finally:
            if archive is not None:
                archive.release(self.config)
        self.registry.end(self, final, error, model)

    def _wait_for_another_server(self):
        """None when this server holds the lease and trains; else wait for the server that holds it: its stored
        result, or the lease once it expires (that server died: then None, and this one trains). "cancelled" when
        this job is stopped while it waits."""
        archive = self.registry.archive
        while not archive.lease(self.config):
            stored = archive.load(self.config)
            if stored is not None:
                return stored
            if self.stop_asked:
                return "cancelled"
            time.sleep(WAIT_POLL)
        return archive.load(self.config)  # the lease is ours: trained meanwhile by a server that has let it go?


class JobRegistry:
    """The server's jobs by configuration, the queue in front of its cores, and the one owner of every job's state.

    ``start`` returns the queued, running or finished job for a configuration, or queues a new one; ``get`` only
    looks. Up to ``slots`` jobs train at once, the others wait in arrival order. ``keep`` bounds the finished jobs
    kept (the oldest go first); a queued or running job is never dropped while someone watches it. ``on_start``
    holds callables told of every training started (the class benchmark counts them)."""

    def __init__(self, keep: int = 48, slots: int = SLOTS, archive=None):
        self.keep, self.slots = keep, slots
        self.archive = archive  # lab.server.archive.Archive: finished trainings kept beyond the process, or None
        self.lock = threading.Lock()  # the only lock: every change below is made holding it
        self._jobs: OrderedDict[Trainable, TrainingJob] = OrderedDict()
        self._queue: list[TrainingJob] = []
        self._running: list[TrainingJob] = []
        self.started = 0  # trainings started by this registry (taken from the queue)
        self.trained = 0  # of those, trained here (not served by another server that held the lease)
        self.served = 0  # finished trainings read from the store instead of trained
        self.last_pace: tuple[float, float] | None = None  # (when, pace) of the last job that finished
        self.on_start: list[Callable[[Trainable], None]] = []

    # ---- looking
    def get(self, config) -> TrainingJob | None:
        with self.lock:
            return self._jobs.get(config)

    def new_work(self, configs) -> list:
        """The configurations among ``configs`` that this server has not trained, is not training and has not
        queued, and that its store does not hold: what a request would add (a finished, running or waiting job, or
        a stored result, is shared, never trained again)."""
        with self.lock:
            todo = [c for c in configs if (job := self._jobs.get(c)) is None or job.state in ("failed", "cancelled")]
        return [c for c in todo if not self.archive.has(c)] if self.archive is not None else todo

    def place(self, job: TrainingJob) -> tuple[int, float] | None:
        """(1-based place in line, estimated seconds until it starts) for a waiting job, else None."""
        with self.lock:
            if job not in self._queue:
                return None
            ahead = [j.estimate for j in self._queue[: self._queue.index(job)]]
            running = [(j._elapsed_locked(), j._fraction_locked(), j.estimate) for j in self._running]
            recent = self.last_pace is not None and time.monotonic() - self.last_pace[0] < estimate.PACE_MEMORY
            last, slots = self.last_pace[1] if recent else None, self.slots
        return len(ahead) + 1, estimate.queue_wait(ahead, running, slots, last)

    def __len__(self) -> int:
        with self.lock:
            return len(self._jobs)

    # ---- changes asked for by the pages
    def start(self, config, session: str | None = None) -> TrainingJob:
        with self.lock:
            known = self._jobs.get(config)
        stored = None
        if self.archive is not None and (known is None or known.state in ("failed", "cancelled")):
            stored = self.archive.load(config)  # finished before (on this server, before a restart, or another)
        fresh = TrainingJob(config, self)  # made before taking the lock: its estimate takes estimate's own lock
        if stored is not None:
            fresh.records, fresh.model, fresh.state = list(stored[0]), stored[1], "done"
        with self.lock:
            job = self._jobs.get(config)
            if job is None or job.state in ("failed", "cancelled"):  # may be tried again
                job = self._jobs[config] = fresh
                self.served += fresh.state == "done"
                self._evict_locked()
            self._jobs.move_to_end(config)
            if session is not None:
                self._watch_locked(job, session)
            self._submit_locked(job)
            return job

    def adopt(self, job: TrainingJob) -> None:
        """Serve a finished job made elsewhere (trained by a registry of its own) as if it had been trained here: a
        request for its settings gets it, and it is kept and evicted like this registry's own."""
        if not job.done:
            raise ValueError("only a finished job can be adopted: it would go on reporting to its own registry")
        with self.lock:
            job.registry, job.changed = self, threading.Condition(self.lock)
            self._jobs[job.config] = job
            self._jobs.move_to_end(job.config)
            self._evict_locked()

    def submit(self, job: TrainingJob) -> None:
        with self.lock:
            self._submit_locked(job)

    def watch(self, job: TrainingJob, session: str) -> None:
        with self.lock:
            self._watch_locked(job, session)

    def unwatch(self, job: TrainingJob, session: str) -> None:
        with self.lock:
            job.watchers.discard(session)
            if not job.watchers:
                job.unwatched_since = time.monotonic()

    def cancel_job(self, job: TrainingJob) -> None:
        with self.lock:
            self._cancel_locked(job)
            self._dispatch_locked()

    def cancel(self, session: str, configs) -> None:
        """This session no longer wants ``configs``: each job it alone watched stops (or leaves the queue)."""
        with self.lock:
            for config in configs:
                job = self._jobs.get(config)
                if job is None:
                    continue
                job.watchers.discard(session)
                if not job.watchers:
                    job.unwatched_since = time.monotonic()
                    if job.state not in ENDED:
                        self._cancel_locked(job)
            self._dispatch_locked()

    def tick(self) -> None:
        """Let the queue drop waiting jobs nobody watches any more, and start what fits (pages call it while they
        follow a job)."""
        with self.lock:
            self._dispatch_locked()

    def clear(self) -> None:
        """Forget every finished job (the tests start each page with none); jobs in progress stay."""
        with self.lock:
            for config in [c for c, j in self._jobs.items() if j.state in ENDED]:
                del self._jobs[config]

    # ---- changes reported by a job's training thread
    def training_here(self, job: TrainingJob) -> None:
        """The job holds the lease and trains on this server (told once, before its first record)."""
        with self.lock:
            self.trained += 1
        if os.environ.get("LAB_LOG_TRAININGS") == "1":
            sys.stderr.write(f"lab.server.jobs: trained here {job.config!r}\n")

    def report(self, job: TrainingJob, record) -> bool:
        """A new record; True while the job should go on (no stop asked, someone still watching)."""
        with self.lock:
            job.records.append(record)
            job.changed.notify_all()
            return not (job.stop_asked or job._abandoned_locked())

    def end(self, job: TrainingJob, final: str, error: str | None, model) -> None:
        with self.lock:
            job.state, job.error = final, error
            if model is not None:
                job.model = model  # a cancelled job keeps what it learned so far
            if job in self._running:
                self._running.remove(job)
            if final == "done" and job.started_at is not None:
                now = time.monotonic()
                self.last_pace = now, (now - job.started_at) / max(job.estimate, 1e-3)
            job.changed.notify_all()
            self._dispatch_locked()

    # ---- the helpers, each called with the lock held
    def _watch_locked(self, job: TrainingJob, session: str) -> None:
        job.watchers.add(session)
        job.unwatched_since = None

    def _submit_locked(self, job: TrainingJob) -> None:
        if job.state == "new":
            job.state = "queued"
            self._queue.append(job)
            job.changed.notify_all()
            self._dispatch_locked()

    def _cancel_locked(self, job: TrainingJob) -> None:
        job.stop_asked = True  # a running job stops after its epoch, at its next report
        if job.state in ("new", "queued"):
            job.state = "cancelled"
            if job in self._queue:
                self._queue.remove(job)
        job.changed.notify_all()

    def _dispatch_locked(self) -> None:
        """Drop waiting jobs nobody watches any more, then start waiting jobs, oldest first, while a core is free."""
        for job in [j for j in self._queue if j._abandoned_locked()]:
            self._cancel_locked(job)
        while self._queue and len(self._running) < self.slots:
            job = self._queue.pop(0)
            job.state, job.started_at = "training", time.monotonic()
            self._running.append(job)
            self.started += 1
            for listener in self.on_start:
                listener(job.config)
            job.thread = threading.Thread(target=job._run, name=f"train-{id(job):x}", daemon=True)
            job.thread.start()
            job.changed.notify_all()

    def _evict_locked(self) -> None:
        done = [c for c, j in self._jobs.items() if j.state in ENDED]
        for config in done[: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[config]


def _archive():
    from lab.server.archive import ARCHIVE  # the store opens when the server's registry is made, not before

    return ARCHIVE


REGISTRY = JobRegistry(archive=_archive())
if os.environ.get("LAB_LOG_TRAININGS") == "1":  # the class benchmark counts the trainings a server starts
    REGISTRY.on_start.append(lambda config: sys.stderr.write(f"lab.server.jobs: training started {config!r}\n"))
