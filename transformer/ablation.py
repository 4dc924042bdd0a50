"""Knock heads out and measure what breaks: the causal test that a head does a job, not only that it looks there.

A removed head's output is zeroed before the output projection (the other heads, the residual stream and the MLPs
are untouched), so whatever the model still gets right, it gets right without that head. Works on any model built
from the package's ``Block`` (the language model, page 6's sequence model, the digit classifier).
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch
from torch import nn

T = TypeVar("T")


@contextmanager
def heads_removed(model: nn.Module, heads: Iterable[tuple[int, int]]) -> Iterator[nn.Module]:
    """Within the block, ``model`` runs with every (layer, head) in ``heads`` removed; afterwards it is whole."""
    blocks = list(model.blocks)
    masks = [torch.ones(block.attn.n_heads) for block in blocks]
    for layer, head in heads:
        if not (0 <= layer < len(blocks) and 0 <= head < len(masks[layer])):
            raise ValueError(f"no head {head} in layer {layer}: the model has {len(blocks)} layers of "
                             f"{len(masks[0])} heads, counted from 0.")
        masks[layer][head] = 0.0
    try:
        for block, mask in zip(blocks, masks, strict=True):
            block.attn.head_mask = None if bool(mask.all()) else mask
        yield model
    finally:
        for block in blocks:
            block.attn.head_mask = None


def without_heads(model: nn.Module, heads: Iterable[tuple[int, int]], measure: Callable[[nn.Module], T]) -> T:
    """``measure`` of a copy of ``model`` with the heads removed: the one ablation function every page uses. A copy
    (about a millisecond for these models), because the model is shared: a server's other sessions may be running
    it at the same moment, and must see it whole."""
    clone = copy.deepcopy(model)
    with heads_removed(clone, heads):
        return measure(clone)

