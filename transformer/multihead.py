"""Coursework Q3.1: multi-head attention written with einsum, with the coursework's variable names.

Index letters in the einsum strings, exactly as they appear below: B batch, S query token, T key token,
E embedding feature (d_model of them), C head (n_heads of them), H projected feature: one of d_model in qis, kis
and vis, and one of d_head = d_model / n_heads within a head in the ``*_mh`` tensors.

Sizes have one name each here: batch, n_tokens, d_model, n_heads, d_head.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ._checks import divisors, positive_int, rank
from .attention import causal_mask


@dataclass(frozen=True)
class MultiHeadSteps:
    qis: Tensor  # (B, T, E): every token's query, all heads side by side
    kis: Tensor  # (B, T, E)
    vis: Tensor  # (B, T, E)
    qis_mh: Tensor  # (B, T, n_heads, d_head): the same numbers, split into heads
    kis_mh: Tensor  # (B, T, n_heads, d_head)
    vis_mh: Tensor  # (B, T, n_heads, d_head)
    scoremat_mh: Tensor  # (B, n_heads, T_query, T_key): raw dot products, one matrix per head
    attmat_mh: Tensor  # (B, n_heads, T_query, T_key): softmax(scores / sqrt(d_head)) over keys
    zis_mh: Tensor  # (B, T, n_heads, d_head): each head's weighted sum of values
    zis: Tensor  # (B, T, E): heads concatenated again


def head_counts(d_model: int, limit: int | None = None) -> list[int]:
    """The head counts that split ``d_model`` evenly (every head gets a whole number of features)."""
    return divisors(positive_int("d_model", d_model), limit)


def check_heads(d_model: int, n_heads: int) -> int:
    """d_head = d_model // n_heads, or ValueError naming the head counts that would work."""
    d_model = positive_int("embedding size", d_model)
    n_heads = positive_int("n_heads", n_heads)
    if d_model % n_heads:
        works = ", ".join(str(h) for h in head_counts(d_model, limit=64))
        raise ValueError(
            f"{n_heads} heads cannot split an embedding of size {d_model}: {d_model} / {n_heads} = "
            f"{d_model / n_heads:.2f} is not a whole number of features per head. "
            f"Head counts that work for {d_model}: {works}."
        )
    return d_model // n_heads


def seeded_weights(d_model: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Seeded W_Q, W_K, W_V and the output projection W_O, each (d_model, d_model), scaled by 1/sqrt(d_model) so the
    projections keep about unit variance."""
    d_model = positive_int("d_model", d_model)
    g = torch.Generator().manual_seed(seed + 1)
    return tuple(torch.randn(d_model, d_model, generator=g) / math.sqrt(d_model) for _ in range(4))  # (E, E) each


def multi_head_attention(
    tokens: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, n_heads: int, causal: bool = False
) -> MultiHeadSteps:
    """Multi-head self-attention of ``tokens`` [B, T, E] with projections ``w_*`` [E, E] applied as tokens @ w."""
    rank("tokens", tokens, 3, "[batch, n_tokens, d_model]")
    batch, n_tokens, d_model = tokens.shape
    for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)):
        rank(name, w, 2, "[d_model, d_model]")
        if tuple(w.shape) != (d_model, d_model):
            raise ValueError(
                f"{name} must be [{d_model}, {d_model}] to match the tokens' embedding size, got {list(w.shape)}."
            )
    d_head = check_heads(d_model, n_heads)

    qis = torch.einsum("BSE,EH->BSH", tokens, w_q)  # (B, T, E)
    kis = torch.einsum("BTE,EH->BTH", tokens, w_k)  # (B, T, E)
    vis = torch.einsum("BTE,EH->BTH", tokens, w_v)  # (B, T, E)
    qis_mh = qis.view(batch, n_tokens, n_heads, d_head)  # (B, T, n_heads, d_head)
    kis_mh = kis.view(batch, n_tokens, n_heads, d_head)  # (B, T, n_heads, d_head)
    vis_mh = vis.view(batch, n_tokens, n_heads, d_head)  # (B, T, n_heads, d_head)

    scoremat_mh = torch.einsum("BSCH,BTCH->BCST", qis_mh, kis_mh)  # (B, n_heads, T_query, T_key)
    logits = scoremat_mh / math.sqrt(d_head)
    if causal:
        logits = logits.masked_fill(causal_mask(n_tokens, tokens.device), float("-inf"))
    attmat_mh = logits.softmax(dim=-1)  # (B, n_heads, T_query, T_key); each row sums to 1
    zis_mh = torch.einsum("BCST,BTCH->BSCH", attmat_mh, vis_mh)  # (B, T, n_heads, d_head)
    zis = zis_mh.reshape(batch, n_tokens, n_heads * d_head)  # (B, T, E)
    return MultiHeadSteps(qis, kis, vis, qis_mh, kis_mh, vis_mh, scoremat_mh, attmat_mh, zis_mh, zis)


@dataclass(frozen=True)
class TorchCheck:
    """This module's multi-head attention against ``torch.nn.MultiheadAttention`` given the same weights."""

    weights_diff: float  # largest |difference| between the attention weights, every head
    output_diff: float  # largest |difference| between the outputs, after the output projection
    output: Tensor  # (B, T, E): PyTorch's output
    steps: MultiHeadSteps  # ours, every intermediate (tokens -> qis ... zis)
    out: Tensor  # (B, T, E): ours after the output projection, zis @ W_O


@torch.no_grad()
def check_against_torch(
    tokens: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, w_o: Tensor, n_heads: int, causal: bool = False
) -> TorchCheck:
    """Give ``nn.MultiheadAttention`` (no biases) the same W_Q, W_K, W_V and output projection ``w_o`` [E, E]
    and compare: PyTorch applies x @ in_proj_weight.T, so in_proj_weight = cat([W_Q, W_K, W_V], 1).T, and its
    out_proj computes z @ out_proj.weight.T, so out_proj.weight = w_o.T."""
    ours = multi_head_attention(tokens, w_q, w_k, w_v, n_heads, causal=causal)
    n_tokens, d_model = tokens.shape[1], tokens.shape[2]
    # skip_init: no random initialisation, the weights are replaced next, by transposed views (F.linear takes them
    # as they are, so no (3E, E) transposed copy is made)
    # batch_first=False, given the tokens as a contiguous (T, B, E) copy: with batch_first=True the module transposes
    # them itself, and its input projection on that transposed view multiplies by the weight copied once per token
    # (a batched product, 2x the time of one matrix product at B = 8, T = 64, E = 1,024); same module, same numbers
    mha = torch.nn.utils.skip_init(torch.nn.MultiheadAttention, d_model, n_heads, bias=False)
    mha.in_proj_weight = torch.nn.Parameter(torch.cat([w_q, w_k, w_v], dim=1).T, requires_grad=False)  # (3E, E)
    mha.out_proj.weight = torch.nn.Parameter(w_o.T, requires_grad=False)  # (E, E)
    mask = causal_mask(n_tokens, tokens.device) if causal else None
    seq_first = tokens.transpose(0, 1).contiguous()  # (T, B, E)
    out, att = mha(seq_first, seq_first, seq_first, attn_mask=mask, need_weights=True, average_attn_weights=False)
    out = out.transpose(0, 1)  # (B, T, E); att is (B, n_heads, T, T) either way
    mine = ours.zis @ w_o  # (B, T, E): the same output projection on our concatenated heads
    return TorchCheck(float((ours.attmat_mh - att).abs().max()), float((mine - out).abs().max()), out, ours, mine)
