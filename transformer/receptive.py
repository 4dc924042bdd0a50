"""Transformers vs CNNs, measured: which input tokens can change one output token, layer by layer.

The receptive field is found with gradients, not a formula: stack the layers, take the output at the middle
position, back-propagate, and count the input positions whose gradient is not zero.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import positive_int
from .multihead import multi_head_attention


def receptive_fields(kind: str, n_tokens: int, n_layers: int, kernel: int = 3, seed: int = 0) -> list[int]:
    """For depth 1 .. ``n_layers``: how many of ``n_tokens`` input positions reach the middle output.

    ``kind`` is "attention" (single-head self-attention layers with a residual) or "conv" (1-D convolutions,
    odd ``kernel``, zero padding so the length stays the same). One forward pass through the whole stack, then
    one backward pass from the middle token of each layer's output.
    """
    n, layers = positive_int("n_tokens", n_tokens), positive_int("n_layers", n_layers)
    kernel = positive_int("kernel", kernel)
    if kind not in ("attention", "conv"):
        raise ValueError(f"kind must be 'attention' or 'conv', got {kind!r}.")
    if kind == "conv" and kernel % 2 == 0:
        raise ValueError(f"kernel must be odd so the convolution is centred, got {kernel}.")
    g = torch.Generator().manual_seed(seed)
    d = 4
    x = torch.randn(1, n, d, generator=g, dtype=torch.float64, requires_grad=True)  # (1, T, d)
    h, outputs = x, []
    for _ in range(layers):
        if kind == "attention":
            w = [torch.randn(d, d, generator=g, dtype=torch.float64) for _ in range(3)]
            h = h + multi_head_attention(h, *w, n_heads=1).zis  # (1, T, d)
        else:
            weight = torch.randn(d, d, kernel, generator=g, dtype=torch.float64)  # (out, in, kernel)
            h = F.conv1d(h.transpose(1, 2), weight, padding=kernel // 2).transpose(1, 2)  # (1, T, d)
        outputs.append(h)
    reached = []
    for h in outputs:
        (grad,) = torch.autograd.grad(h[0, n // 2].sum(), x, retain_graph=True)  # (1, T, d)
        reached.append(int((grad[0].abs().sum(-1) > 0).sum()))
    return reached

