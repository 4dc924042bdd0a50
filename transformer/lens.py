"""The logit lens: what a decoder would say if it stopped early.

The residual stream after the embedding and after each block is read out through the model's own final norm and
head, as if the blocks after it were not there (nostalgebraist, 2020). Row 0 is what the embedding alone predicts,
the last row the model's own output; the layer where the right next token becomes likely is where the answer
appears. Works with every ``decoder.Decoder`` of the package.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .decoder import Decoder, check_ids
from .patching import trace


@torch.no_grad()
def logit_lens(model: Decoder, ids: Tensor) -> Tensor:
    """(layers + 1, T, vocab) probabilities at every position of ``ids`` (1, T): row 0 read from the embedding, row
    l from the residual after block l - 1. The last row is the model's own output (softmax of its logits)."""
    if ids.dim() != 2 or ids.shape[0] != 1 or ids.shape[1] < 1:
        raise ValueError(f"the lens reads one sequence, shaped (1, T); got {tuple(ids.shape)}.")
    check_ids(ids, model.head.out_features, model.context, "the sequence")
    model.eval()
    resid, _ = trace(model, ids)  # layers + 1 of (1, T, E)
    stacked = torch.cat(resid)  # (layers + 1, T, E)
    return torch.softmax(model.head(model.ln_f(stacked)), -1)  # (layers + 1, T, vocab)


@torch.no_grad()
def next_token_lens(model: Decoder, ids: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """The lens on ``ids`` (1, T) against the tokens that follow (``targets`` (1, T)): ((layers + 1, T) the
    probability each layer's read-out gives the right next token, (layers + 1, T) its likeliest token)."""
    probs = logit_lens(model, ids)  # (layers + 1, T, vocab)
    right = probs.gather(-1, targets[0].expand(probs.shape[0], -1)[..., None])[..., 0]  # (layers + 1, T)
    return right, probs.argmax(-1)
