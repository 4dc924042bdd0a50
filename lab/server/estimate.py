"""How long a training will take on one core, estimated from its settings before it starts; how long one that is
running still needs; how long a place in the queue will wait. No streamlit here.

Seconds = (per optimiser step) x steps + (per multiply-add) x the run's multiply-adds, with both rates measured on
this 2-core machine at several sizes of each kind of model (``STEP`` and ``RATES``): small models are all
per-step overhead, large ones all arithmetic. Finished trainings then scale the estimate to the machine the app
runs on (``learn``), so estimates follow the server they run on.
"""
from __future__ import annotations

import threading

from transformer.protocol import Trainable

# Seconds of one core per optimiser step (the fixed overhead that dominates small models) and per multiply-add, by
# kind of training, measured on this 2-core machine on one torch thread over several sizes of each kind; `python -m
# benchmarks estimates` checks every kind against the time its training then takes (RESULTS.md).
STEP = {"transformer": 2.75e-3, "cnn": 2.75e-3, "sequence": 5e-3, "induction": 5e-3, "language": 5e-3}
RATES = {"transformer": 9.9e-11, "cnn": 3.0e-11, "sequence": 4.5e-11, "induction": 4.5e-11, "language": 4.5e-11}
PACE_FROM = 0.2  # a running job's own pace counts fully from this share of its training on
PACE_MEMORY = 120.0  # seconds: how long the pace of the last finished job still informs the waits
_factors: dict[str, list[float]] = {}  # measured / estimated, by kind, for runs long enough to tell
_lock = threading.Lock()


def _raw(config: Trainable) -> float:
    return STEP[config.kind] * config.optimizer_steps() + RATES[config.kind] * config.multiply_adds()


def estimate_seconds(config: Trainable) -> float:
    """Seconds of one core the training will take, scaled by how this machine has done so far."""
    with _lock:
        seen = sorted(_factors.get(config.kind, []))
    return _raw(config) * (seen[len(seen) // 2] if seen else 1.0)


def learn(config: Trainable, seconds: float) -> None:
    """Scale later estimates with a finished training's time (runs under a second say little)."""
    raw = _raw(config)
    if raw > 1.0:
        with _lock:
            found = _factors.setdefault(config.kind, [])
            found.append(seconds / raw)
            del found[:-20]


# ------------------------------------------------------------------ a running job, and the queue
def pace(elapsed: float | None, fraction: float, estimate: float) -> float | None:
    """How many times its estimate a running job is taking (1.0: as estimated; more when the cores are shared),
    once it is far enough along to tell (the first epochs carry the start-up); else None."""
    if elapsed is None or fraction < PACE_FROM:
        return None
    return elapsed / fraction / max(estimate, 1e-3)


def remaining(estimate: float, elapsed: float | None, fraction: float) -> float:
    """Seconds a job still needs: before it starts (``elapsed`` None), its estimate; while it trains, more and more
    its own pace so far carried to the end, so a run slowed by a busy server says so."""
    if elapsed is None:
        return estimate
    planned = max(0.5, estimate - elapsed)
    if fraction <= 0:
        return planned
    measured = max(0.5, elapsed * (1 - fraction) / fraction)
    trust = min(1.0, fraction / PACE_FROM)  # the first epochs carry the start-up: trust them gradually
    return trust * measured + (1 - trust) * planned


def queue_wait(ahead: list[float], running: list[tuple[float | None, float, float]], slots: int,
               last_pace: float | None = None) -> float:
    """Seconds until a waiting job starts: the running jobs' remaining time, then the estimates of the jobs ahead
    (``ahead``) scaled by the pace the server is going at now (the running jobs', and the last finished one's),
    shared by ``slots`` cores. ``running`` holds each running job's (elapsed, fraction done, estimate)."""
    paces = [p for e, f, est in running if (p := pace(e, f, est)) is not None]
    paces += [last_pace] if last_pace is not None else []
    scale = min(4.0, max(0.5, sum(paces) / len(paces))) if paces else 1.0
    work = sum(remaining(est, e, f) for e, f, est in running) + scale * sum(ahead)
    free = max(0, slots - len(running))
    return 0.0 if len(ahead) < free else work / slots
