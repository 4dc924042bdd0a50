"""The learning-rate schedule both trainings use: an optional linear warm-up, then cosine decay to 0."""
from __future__ import annotations

import math


def cosine_lr(lr: float, step: int, total: int, warmup: int = 0) -> float:
    """The rate at optimiser step ``step`` of ``total``: rising linearly over the first ``warmup`` steps, then
    following half a cosine from ``lr`` down to 0 at ``total``."""
    ramp = min(1.0, step / warmup) if warmup else 1.0
    return lr * ramp * 0.5 * (1 + math.cos(math.pi * step / total))
