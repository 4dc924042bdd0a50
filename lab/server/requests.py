"""What the three training pages share: a request's settings compared, its progress (bars, the training in
progress, the place in line), following it through the server's jobs, its estimate and the shared-server bound.

A request is what one press of Train asks for: ``classifier_runs.TrainingRequest`` (page 4),
``sequence_runs.SeqRequest`` (page 6), ``study.StudyRequest`` (page 5) or ``learned_heads.LanguageRequest`` (pages 2,
3 and 6), all in ``lab.analyses``. Each has ``trainings()`` (the configurations it needs), ``snapshot(jobs)`` (its
``Progress``), ``settings()``, ``differences(other)`` and ``shrink`` (what a student can make smaller on its page).

``follow(request, registry, session, pace)`` yields a snapshot after every change until the request is finished;
the page draws each one. ``pace`` is the least time between two snapshots (0 in the tests). No streamlit here.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

import pandas as pd

from lab.server.estimate import estimate_seconds
from lab.server.jobs import SLOTS, JobRegistry

QUEUED_PACE = 5.0  # seconds between two updates of a request that is still waiting for a core


def changes(mine: dict, theirs: dict) -> list[str]:
    """The settings in which ``theirs`` differs from ``mine``, as "name: ours → theirs" (every request type's
    ``differences`` uses it to say what the shown results came from)."""
    return [f"{k}: {mine.get(k, '—')} → {theirs.get(k, '—')}" for k in dict.fromkeys([*mine, *theirs])
            if mine.get(k) != theirs.get(k)]


class ComparedRequest:
    """What page 6's requests share (each a frozen dataclass with ``config`` and ``compare``): the model itself
    and, when compared, the same model with positional embeddings flipped."""

    @property
    def other(self):
        return replace(self.config, positions=not self.config.positions) if self.compare else None

    def trainings(self) -> list:
        return [c for c in (self.config, self.other) if c is not None]

    def settings(self) -> dict:
        return {**asdict(self.config), "compare positions on/off": self.compare}

    def differences(self, other) -> list[str]:
        return changes(self.settings(), other.settings())


@dataclass(frozen=True)
class Bar:
    label: str
    done: int
    total: int
    unit: str = "epoch"

    @property
    def text(self) -> str:
        return f"{self.label}: {self.unit} {self.done} of {self.total}"


@dataclass
class Progress:
    """Where a set of trainings stands: one bar per run asked for, and the training in progress (for the live
    chart). The training page's ``Snapshot`` and the sequence page's snapshot add their records."""

    bars: list[Bar]
    live: object | None = None  # the training in progress (its configuration) (None when all are finished)
    live_records: list[dict] = field(default_factory=list)
    queued: bool = False  # the training in progress is still waiting for a free core
    place: tuple[int, float] | None = None  # (place in line, estimated seconds until it starts) while queued
    watchers: int = 1
    error: str | None = None
    trainings: int = 0  # distinct trainings behind the request (one may serve several runs)
    trainings_done: int = 0  # of which finished

    @property
    def finished(self) -> bool:
        return self.live is None or self.error is not None


def progress_of(jobs: dict, bars: list[Bar]) -> dict:
    """The ``Progress`` fields for ``jobs`` (configuration -> TrainingJob), apart from the bars given."""
    active = next((j for j in jobs.values() if not j.done), None)
    error = next((j.error or "the training was cancelled" for j in jobs.values()
                  if j.state in ("failed", "cancelled")), None)
    counts = dict(trainings=len(jobs), trainings_done=sum(j.state == "done" for j in jobs.values()))
    if active is None:
        return dict(bars=bars, error=error, **counts)
    queued = active.state in ("new", "queued")
    place = active.registry.place(active) if queued and active.registry is not None else None
    return dict(bars=bars, live=active.config, live_records=[r.as_dict() for r in active.records],
                queued=queued, place=place, watchers=max(1, len(active.watchers)), error=error, **counts)


def follow(request, registry: JobRegistry, session: str, pace: float = 0.5) -> Iterator[Progress]:
    """Start (or join) the request's trainings and yield its ``snapshot(jobs)`` after each new record, at most one per
    ``pace``
    seconds (longer the more sessions watch: each snapshot is an update sent to a browser), until all have ended.
    The jobs go on if the caller stops early (a widget change reruns the page); they only lose this viewer."""
    jobs = {c: registry.start(c, session) for c in request.trainings()}  # each watched by this session
    try:
        while True:
            started = time.monotonic()
            snap = request.snapshot(jobs)
            yield snap
            if snap.finished:
                return
            registry.tick()  # the queue drops waiting jobs that nobody watches any more
            active = jobs[snap.live]
            # between two snapshots, wake at once only for the end of the training (so every viewer gets the
            # result without delay); epochs that finish meanwhile are shown together in the next snapshot
            # a waiting job needs no news more than every few seconds: with a class in the queue, updates (not the
            # training) would otherwise fill the cores
            every = max(pace * max(1.0, snap.watchers / 2), QUEUED_PACE if snap.queued else 0.0)
            if not active.wait_until_done(max(0.0, started + every - time.monotonic())):
                active.wait(len(snap.live_records), timeout=0.5)
    finally:
        for job in jobs.values():
            job.unwatch(session)


def request_estimate(request, configs: list | None = None) -> float:
    """Seconds until the request is trained on an idle server: its trainings (or just ``configs``, the ones still
    to train) side by side, one per core; 0 when nothing is left to train."""
    times = [estimate_seconds(c) for c in (request.trainings() if configs is None else configs)]
    return max(max(times), sum(times) / min(len(times), SLOTS)) if times else 0.0


@dataclass(frozen=True)
class Bound:
    """What a press of Train would add to a server, and whether a shared server refuses it."""

    seconds: float  # estimated training time of the new work (0 when everything is trained or training)
    new: int  # trainings it would start
    total: int  # trainings it needs, shared ones included
    refusal: str | None  # why a shared server refuses it, naming only controls the page has; None: it may start


def bound(request, registry: JobRegistry, shared: bool, limit: float) -> Bound:
    """The bound on a shared server applies to new work only: trainings this server has finished, is running or
    has queued are shared, so a request for them is served or joined, never refused. A request may declare itself
    unbounded (``bounded = False``: page 5's study at its defaults, the page's main evidence)."""
    todo = registry.new_work(request.trainings())
    seconds = request_estimate(request, todo)
    refusal = None
    if shared and seconds > limit and getattr(request, "bounded", True):
        refusal = (f"This request would train for about {seconds:.0f} s. On a shared server each request may take at "
                   f"most {limit:.0f} s, so that nobody holds the class up: {request.shrink} will fit. On your own "
                   "laptop (`streamlit run app.py`, used alone) there is no bound.")
    return Bound(seconds, len(todo), len(request.trainings()), refusal)


# ------------------------------------------------------------------ reading a run's records, per head
def head_name(layer: int, head: int) -> str:
    """'layer 1, head 0': layers and heads counted from 0, as in the coursework's code."""
    return f"layer {layer}, head {head}"


def head_frame(records: list, values) -> pd.DataFrame:
    """Columns step, head, share: ``values(record)`` (a (layers, heads) tensor) at every record (the head charts)."""
    rows = []
    for r in records:
        table = values(r)
        rows += [{"step": r.step, "head": head_name(layer, h), "share": float(table[layer, h])}
                 for layer in range(table.shape[0]) for h in range(table.shape[1])]
    return pd.DataFrame(rows)


def steepest_rise(records: list, key: str, at_least: float = 0.2) -> tuple[int, float, float] | None:
    """Where ``key`` rose most between two records, if by ``at_least`` or more: (step, before, after). Every page that
    marks or names a jump asks this one question, with the same bar."""
    rises = [(getattr(b, key) - getattr(a, key), b.step, getattr(a, key), getattr(b, key))
             for a, b in zip(records, records[1:], strict=False)]
    rise = max(rises, default=None)
    return (rise[1], rise[2], rise[3]) if rise and rise[0] >= at_least else None

