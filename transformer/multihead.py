"""Coursework Q3.1: multi-head attention written with einsum, with the coursework's variable names.

Index letters in the einsum strings: B batch, S query token, T key token, E embedding (d_model),
H output feature of a projection, C head, D feature within a head (d_head = E / n_heads).
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

    @property
    def n_heads(self) -> int:
        return self.qis_mh.shape[2]


def head_counts(embed_dim: int, limit: int | None = None) -> list[int]:
    """The head counts that split ``embed_dim`` evenly (every head gets a whole number of features)."""
    return divisors(positive_int("embed_dim", embed_dim), limit)


def check_heads(embed_dim: int, n_heads: int) -> int:
    """d_head = embed_dim // n_heads, or ValueError naming the head counts that would work."""
    embed_dim = positive_int("embedding size", embed_dim)
    n_heads = positive_int("n_heads", n_heads)
    if embed_dim % n_heads:
        works = ", ".join(str(h) for h in head_counts(embed_dim, limit=64))
        raise ValueError(
            f"{n_heads} heads cannot split an embedding of size {embed_dim}: {embed_dim} / {n_heads} = "
            f"{embed_dim / n_heads:.2f} is not a whole number of features per head. "
            f"Head counts that work for {embed_dim}: {works}."
        )
    return embed_dim // n_heads


def multi_head_attention(tokens: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, n_heads: int, causal: bool = False) -> MultiHeadSteps:
    """Multi-head self-attention of ``tokens`` [B, T, E] with projections ``w_*`` [E, E] applied as tokens @ w."""
    rank("tokens", tokens, 3, "[batch, n_tokens, embed_dim]")
    batch, token_num, embdim = tokens.shape
    for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)):
        rank(name, w, 2, "[embed_dim, embed_dim]")
        if tuple(w.shape) != (embdim, embdim):
            raise ValueError(f"{name} must be [{embdim}, {embdim}] to match the tokens' embedding size, got {list(w.shape)}.")
    headdim = check_heads(embdim, n_heads)

    qis = torch.einsum("BSE,EH->BSH", tokens, w_q)  # (B, T, E)
    kis = torch.einsum("BTE,EH->BTH", tokens, w_k)  # (B, T, E)
    vis = torch.einsum("BTE,EH->BTH", tokens, w_v)  # (B, T, E)
    qis_mh = qis.view(batch, token_num, n_heads, headdim)  # (B, T, n_heads, d_head)
    kis_mh = kis.view(batch, token_num, n_heads, headdim)  # (B, T, n_heads, d_head)
    vis_mh = vis.view(batch, token_num, n_heads, headdim)  # (B, T, n_heads, d_head)

    scoremat_mh = torch.einsum("BSCH,BTCH->BCST", qis_mh, kis_mh)  # (B, n_heads, T_query, T_key)
    logits = scoremat_mh / math.sqrt(headdim)
    if causal:
        logits = logits.masked_fill(causal_mask(token_num, tokens.device), float("-inf"))
    attmat_mh = logits.softmax(dim=-1)  # (B, n_heads, T_query, T_key); each row sums to 1
    zis_mh = torch.einsum("BCST,BTCH->BSCH", attmat_mh, vis_mh)  # (B, T, n_heads, d_head)
    zis = zis_mh.reshape(batch, token_num, n_heads * headdim)  # (B, T, E)
    return MultiHeadSteps(qis, kis, vis, qis_mh, kis_mh, vis_mh, scoremat_mh, attmat_mh, zis_mh, zis)
