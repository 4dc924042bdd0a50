"""What one layer costs as the input grows, measured by the clock: a self-attention layer against a convolution of
the same width, over sequences of n tokens. The page's table says attention grows as n² and a convolution as n;
``slope`` fits the exponent on a log-log scale from the timings."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from .model import SelfAttention

SIZES = (64, 128, 256, 512, 1024, 2048, 4096)  # tokens; 4096² attention scores of 4 heads are 256 MB at most


@dataclass(frozen=True)
class LayerTimes:
    sizes: tuple[int, ...]
    attention: tuple[float, ...]  # seconds per forward pass, fastest of the repeats
    convolution: tuple[float, ...]
    d_model: int
    kernel: int


def _fastest(layer: nn.Module, x: torch.Tensor, budget: float) -> float:
    """The fastest of a few forward passes, each repeated until it takes about ``budget`` seconds."""
    with torch.no_grad():
        t0 = time.perf_counter()
        layer(x)  # warm-up, and a first guess at the cost
        once = max(time.perf_counter() - t0, 1e-6)
        reps = max(1, min(200, int(budget / once)))
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(reps):
                layer(x)
            best = min(best, (time.perf_counter() - t0) / reps)
    return best


def layer_times(sizes=SIZES, d_model: int = 64, n_heads: int = 4, kernel: int = 3, budget: float = 0.01,
                seed: int = 0) -> LayerTimes:
    """Forward-pass seconds of one self-attention layer (fused attention, as the package trains) and one 1-D
    convolution with ``kernel`` taps, both ``d_model`` wide, on one sequence of each length in ``sizes``."""
    g = torch.Generator().manual_seed(seed)
    attention, conv = SelfAttention(d_model, n_heads), nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2)
    att_t, conv_t = [], []
    for n in sizes:
        x = torch.randn(1, n, d_model, generator=g)  # (B, T, E)
        att_t.append(_fastest(attention, x, budget))
        conv_t.append(_fastest(conv, x.transpose(1, 2).contiguous(), budget))  # (B, E, T): channels first
    return LayerTimes(tuple(sizes), tuple(att_t), tuple(conv_t), d_model, kernel)


def slope(sizes, seconds, smallest: int = 0) -> float:
    """The least-squares slope of log(seconds) against log(size), over the sizes ≥ ``smallest``: time grows about as
    size**slope."""
    pairs = [(math.log(n), math.log(t)) for n, t in zip(sizes, seconds, strict=True) if n >= smallest]
    if len(pairs) < 2:
        raise ValueError("a slope needs at least two sizes.")
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    return sum((x - mx) * (y - my) for x, y in pairs) / sum((x - mx) ** 2 for x, _ in pairs)
