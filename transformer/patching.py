"""Activation patching: which part of a decoder carries what makes it answer one way and not another.

Run the model on a *clean* prompt (it answers ``answer``) and on a *corrupted* twin (it leans to ``wrong``), then run
the corrupted prompt again with one activation taken from the clean run. How much of the clean answer comes back is
the normalised logit difference at the last position,

    (LD(patched) - LD(corrupted)) / (LD(clean) - LD(corrupted)),  LD = logit[answer] - logit[wrong],

each LD averaged over the batch of prompt pairs first (so a pair whose two prompts barely differ cannot blow the
ratio up): 0 is the corrupted run, 1 the clean run. ``head_patch`` patches one head's output (before the output
projection) at every position; ``residual_patch`` the residual stream entering a block (or the final norm) at one
position. Works with every ``decoder.Decoder`` of the package; the blocks are run here step by step, the same
arithmetic as the model's own forward (a test checks it).
"""
from __future__ import annotations

import torch
from torch import Tensor

from .decoder import Decoder, attend, check_ids, finish_block, split_heads


def _check(model: Decoder, clean: Tensor, corrupt: Tensor, answer: Tensor, wrong: Tensor) -> None:
    if clean.dim() != 2 or clean.shape != corrupt.shape:
        raise ValueError(f"clean and corrupted prompts must be pairs of the same length, (B, T) each; got "
                         f"{tuple(clean.shape)} and {tuple(corrupt.shape)}.")
    if answer.shape != (clean.shape[0],) or wrong.shape != answer.shape:
        raise ValueError(f"one answer and one wrong answer per pair: (B,) = ({clean.shape[0]},) each; got "
                         f"{tuple(answer.shape)} and {tuple(wrong.shape)}.")
    vocab = model.head.out_features
    check_ids(torch.cat([clean, corrupt]), vocab, model.context, "a prompt")
    check_ids(torch.cat([answer, wrong]), vocab, None, "an answer")
    if torch.equal(clean, corrupt):
        raise ValueError("the clean and corrupted prompts are the same: there is no difference for patching to "
                         "explain. Change a word of the corrupted one (for example 'it' to 'they').")


def _heads(block, x: Tensor) -> Tensor:
    """(N, H, T, d_head): each head's output in ``block`` for the residual ``x`` (N, T, E), before the projection."""
    return attend(block, *split_heads(block, x))[0]


def _last_logits(model: Decoder, x: Tensor) -> Tensor:
    return model.head(model.ln_f(x[:, -1]))  # (N, vocab)


@torch.no_grad()
def trace(model: Decoder, idx: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """(the residual entering each block and the final norm: layers + 1 of (N, T, E); each block's heads' outputs:
    layers of (N, H, T, d_head))."""
    x, resid, heads = model.embed(idx), [], []
    for block in model.blocks:
        resid.append(x)
        z = _heads(block, x)
        heads.append(z)
        x = finish_block(block, x, z)
    resid.append(x)
    return resid, heads


def _from(model: Decoder, x: Tensor, layer: int) -> Tensor:
    """Last-position logits (N, vocab) of running the residual ``x`` entering block ``layer`` through the rest."""
    for block in list(model.blocks)[layer:]:
        x = finish_block(block, x, _heads(block, x))
    return _last_logits(model, x)


def _score(logits: Tensor, answer: Tensor, wrong: Tensor, low: float, high: float) -> Tensor:
    """Normalised logit difference of ``logits`` (G, B, vocab): one value per group G."""
    diff = logits.gather(-1, answer.expand(logits.shape[0], -1)[..., None])[..., 0] - \
        logits.gather(-1, wrong.expand(logits.shape[0], -1)[..., None])[..., 0]  # (G, B)
    return (diff.mean(-1) - low) / (high - low)


def _ends(model: Decoder, clean: Tensor, corrupt: Tensor, answer: Tensor, wrong: Tensor):
    """The two runs' traces and their mean logit differences; ValueError when they do not differ."""
    _check(model, clean, corrupt, answer, wrong)
    model.eval()
    traced = {}
    for name, idx in (("clean", clean), ("corrupt", corrupt)):
        resid, heads = trace(model, idx)
        logits = _last_logits(model, resid[-1])  # (B, vocab)
        rows = torch.arange(len(idx))
        traced[name] = (resid, heads, float((logits[rows, answer] - logits[rows, wrong]).mean()))
    high, low = traced["clean"][2], traced["corrupt"][2]
    if abs(high - low) < 1e-6:
        raise ValueError("the model gives the clean and the corrupted prompts the same logit difference between the "
                         "answer and the wrong answer: there is nothing for patching to restore.")
    return traced["clean"], traced["corrupt"], low, high


@torch.no_grad()
def head_patch(model: Decoder, clean: Tensor, corrupt: Tensor, answer: Tensor, wrong: Tensor) -> Tensor:
    """(layers, heads): how much of the clean answer comes back when one head's output, at every position, is taken
    from the clean run into the corrupted one (0: none, 1: all). Every head of a layer in one batched forward of
    heads x B rows."""
    (_, clean_heads, _), (resid, heads, _), low, high = _ends(model, clean, corrupt, answer, wrong)
    B = clean.shape[0]
    out = []
    for layer, block in enumerate(model.blocks):
        H = block.attn.n_heads
        z = heads[layer].repeat(H, 1, 1, 1)  # (H*B, H, T, d_head): group h patches head h
        for h in range(H):
            z[h * B:(h + 1) * B, h] = clean_heads[layer][:, h]
        x = finish_block(block, resid[layer].repeat(H, 1, 1), z)  # (H*B, T, E)
        logits = _from(model, x, layer + 1).view(H, B, -1)  # (H, B, vocab)
        out.append(_score(logits, answer, wrong, low, high))
    return torch.stack(out)


@torch.no_grad()
def residual_patch(model: Decoder, clean: Tensor, corrupt: Tensor, answer: Tensor, wrong: Tensor) -> Tensor:
    """(layers + 1, T): how much of the clean answer comes back when the residual stream entering block l (row l;
    the last row: entering the final norm) at one position is taken from the clean run. Every position of a row in
    one batched forward of T x B rows."""
    (clean_resid, _, _), (resid, _, _), low, high = _ends(model, clean, corrupt, answer, wrong)
    B, T = clean.shape
    rows = []
    for layer in range(len(model.blocks) + 1):
        x = resid[layer].repeat(T, 1, 1)  # (T*B, T, E): group t patches position t
        for t in range(T):
            x[t * B:(t + 1) * B, t] = clean_resid[layer][:, t]
        rows.append(_score(_from(model, x, layer).view(T, B, -1), answer, wrong, low, high))
    return torch.stack(rows)
