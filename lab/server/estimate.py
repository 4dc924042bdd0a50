"""How long a training will take on one core, estimated from its settings before it starts; how long one that is
running still needs; how long a place in the queue will wait. No streamlit here.

Seconds = (per optimiser step) x steps + (per multiply-add) x the run's multiply-adds, with both rates measured on
this 2-core machine at several sizes of each kind of model (``STEP`` and ``RATES``): small models are all
per-step overhead, large ones all arithmetic. Finished trainings then scale the estimate to the machine the app
runs on (``learn``), so estimates follow the server they run on.
"""
from __future__ import annotations

import math
import threading

from transformer.data import TRAIN_IMAGES, VAL_IMAGES
from transformer.language import HELD_OUT as LANGUAGE_HELD_OUT
from transformer.language import MAX_WORDS, VOCAB, LanguageConfig
from transformer.model import SmallCNN
from transformer.sequence import SeqConfig
from transformer.train import TrainConfig

# Measured here on one torch thread: a step of a tiny transformer costs about 2.75 ms (10 epochs of d_model 8 took
# 0.33 s); beyond that about 1e-10 s per multiply-add for the transformer (batch 16: 2.9 s for 900 steps), 3e-11
# for the CNN's convolutions and 4.5e-11 for the sequence model (its CPU time, evaluations included: 7.0 s at the
# defaults, 0.59 s at length 3 / d_model 16 / 1 layer / 100 steps, 34 s at length 10 / d_model 128 / 500 steps and
# 148 s at the largest setting; estimated 6.4, 0.55, 49 and 201 s). `python -m benchmarks estimates` checks them.
STEP = {"transformer": 2.75e-3, "cnn": 2.75e-3, "sequence": 5e-3, "language": 5e-3}
RATES = {"transformer": 9.9e-11, "cnn": 3.0e-11, "sequence": 4.5e-11, "language": 4.5e-11}
PACE_FROM = 0.2  # a running job's own pace counts fully from this share of its training on
PACE_MEMORY = 120.0  # seconds: how long the pace of the last finished job still informs the waits
_factors: dict[str, list[float]] = {}  # measured / estimated, for runs long enough to tell
_lock = threading.Lock()


def kind(config: TrainConfig | SeqConfig | LanguageConfig) -> str:
    if isinstance(config, LanguageConfig):
        return "language"
    return "sequence" if isinstance(config, SeqConfig) else config.model


def work(config: TrainConfig | SeqConfig) -> float:
    """Multiply-adds of the whole training (forward and backward, about 3x the forward), evaluations included."""
    if isinstance(config, (SeqConfig, LanguageConfig)):  # a decoder: blocks with a 4x MLP, and the read-out
        seq = isinstance(config, SeqConfig)
        t, d, vocab = (config.context, config.d_model, 11) if seq else (MAX_WORDS - 1, config.d_model, len(VOCAB))
        per_token = config.n_layers * (12 * d * d + 2 * t * d) + d * vocab
        train = 3 * config.steps * config.batch_size * t * per_token
        held = 1000 if seq else 2 * LANGUAGE_HELD_OUT + 400  # evaluation sentences per record (and the probes)
        evaluate = (config.steps // max(1, config.steps // 30) + 1) * held * t * per_token
        return float(train + evaluate)
    if config.model == "cnn":
        per_image = SmallCNN.multiply_adds()  # the two convolutions and the read-out
    else:
        t, d = (8 // config.patch_size) ** 2 + 1, config.d_model
        blocks = config.n_layers * ((4 + 2 * config.mlp_ratio) * d * d + 2 * t * d)  # per token
        per_image = t * (blocks + d * config.patch_size**2)
    images = round(TRAIN_IMAGES * config.train_fraction)
    return float(config.epochs * (3 * images + VAL_IMAGES) * per_image)


def steps(config: TrainConfig | SeqConfig | LanguageConfig) -> int:
    if isinstance(config, (SeqConfig, LanguageConfig)):
        return config.steps
    return config.epochs * math.ceil(round(TRAIN_IMAGES * config.train_fraction) / config.batch_size)


def _raw(config: TrainConfig | SeqConfig) -> float:
    k = kind(config)
    return STEP[k] * steps(config) + RATES[k] * work(config)


def estimate_seconds(config: TrainConfig | SeqConfig) -> float:
    """Seconds of one core the training will take, scaled by how this machine has done so far."""
    with _lock:
        seen = sorted(_factors.get(kind(config), []))
    return _raw(config) * (seen[len(seen) // 2] if seen else 1.0)


def learn(config: TrainConfig | SeqConfig, seconds: float) -> None:
    """Scale later estimates with a finished training's time (runs under a second say little)."""
    raw = _raw(config)
    if raw > 1.0:
        with _lock:
            found = _factors.setdefault(kind(config), [])
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
