"""Coursework Q2.1: single-head self-attention in five steps, keeping every intermediate.

Rows layout (PyTorch's): x is [T, d_model], one row per token. The five steps:

1. project each token to a query, a key and a value:   q = x W_Q,  k = x W_K,  v = x W_V
2. score every query against every key:                scores = q k^T            (T_query, T_key)
3. divide by sqrt(d_k) and softmax over the keys:      weights = softmax(scores / sqrt(d_k))
4. weight each value vector by its softmax weight
5. sum the weighted values:                            output = weights v         (T_query, d_v)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ._checks import positive_int, rank


@dataclass(frozen=True)
class AttentionSteps:
    q: Tensor  # (T, d_k)
    k: Tensor  # (T, d_k)
    v: Tensor  # (T, d_v)
    scores: Tensor  # (T_query, T_key): q k^T
    scaled: Tensor  # (T_query, T_key): scores / sqrt(d_k), or scores when scaling is off
    weights: Tensor  # (T_query, T_key): softmax over keys; each row sums to 1
    output: Tensor  # (T_query, d_v): weights v
    mask: Tensor | None  # (T_query, T_key) bool, True where a query may not look (causal), else None

    def weighted_values(self, query: int) -> Tensor:
        """Step 4 for one query token: each value vector times its weight, (T_key, d_v). Summing gives output[query]."""
        return self.weights[query, :, None] * self.v


def causal_mask(n_tokens: int, device=None) -> Tensor:
    """(T, T) bool, True above the diagonal: the keys a query may not attend to (later tokens)."""
    return torch.ones(n_tokens, n_tokens, dtype=torch.bool, device=device).triu(diagonal=1)


def self_attention_steps(x: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, causal: bool = False,
                         scale: bool = True) -> AttentionSteps:
    """Self-attention of the tokens in ``x`` [T, d_model] with projections ``w_*`` [d_model, d_k]."""
    rank("x", x, 2, "[n_tokens, d_model]")
    for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)):
        rank(name, w, 2, "[d_model, d_k]")
        if w.shape[0] != x.shape[1]:
            raise ValueError(
                f"{name} has {w.shape[0]} rows but x has d_model = {x.shape[1]} columns; "
                f"{name} must be [{x.shape[1]}, d_k] so that x @ {name} is defined."
            )
    if w_q.shape != w_k.shape:
        raise ValueError(
            f"w_q {list(w_q.shape)} and w_k {list(w_k.shape)} must have the same shape: "
            "queries and keys are compared by a dot product, so they need the same d_k."
        )

    q = x @ w_q  # (T, d_k)
    k = x @ w_k  # (T, d_k)
    v = x @ w_v  # (T, d_v)
    scores = q @ k.T  # (T_query, T_key)
    scaled = scores / math.sqrt(q.shape[-1]) if scale else scores
    mask = causal_mask(x.shape[0], x.device) if causal else None
    logits = scaled.masked_fill(mask, float("-inf")) if causal else scaled
    weights = logits.softmax(dim=-1)  # (T_query, T_key); masked entries are exactly 0
    output = weights @ v  # (T_query, d_v)
    return AttentionSteps(q=q, k=k, v=v, scores=scores, scaled=scaled, weights=weights, output=output, mask=mask)


def softmax_peak(d_k: int, n_tokens: int = 16, trials: int = 256, scale: bool = True, seed: int = 0) -> float:
    """Mean largest softmax weight for random unit-variance queries and keys of size ``d_k``.

    Without the 1/sqrt(d_k) factor a dot product of two random d_k-vectors has variance d_k, so the
    softmax saturates (one weight near 1, the rest near 0) as d_k grows; with it the variance stays 1.
    """
    d_k, n_tokens, trials = positive_int("d_k", d_k), positive_int("n_tokens", n_tokens), positive_int("trials", trials)
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(trials, 1, d_k, generator=g)  # (trials, 1, d_k)
    k = torch.randn(trials, n_tokens, d_k, generator=g)  # (trials, T, d_k)
    scores = (q @ k.transpose(1, 2)).squeeze(1)  # (trials, T)
    if scale:
        scores = scores / math.sqrt(d_k)
    return scores.softmax(dim=-1).amax(dim=-1).mean().item()


# ------------------------------------------------------------------ one weight, explained
@dataclass(frozen=True)
class WeightDerivation:
    """Every number behind one attention weight a[i, j], from the vectors on the page."""

    query: int
    key: int
    q: Tensor  # (d_k,): q_i
    k: Tensor  # (d_k,): k_j
    products: Tensor  # (d_k,): q_i * k_j, feature by feature
    score: float  # their sum, q_i . k_j
    scaled: float  # score / sqrt(d_k), or the score when scaling is off
    row_logits: Tensor  # (T,): the query's scaled scores, -inf where masked
    row_exps: Tensor  # (T,): exp of each, shifted by the row's largest for stability (exactly 0 where masked)
    exp_sum: float
    weight: float  # row_exps[key] / exp_sum
    masked: bool  # the causal mask hides this key from this query


def explain_weight(steps: AttentionSteps, query: int, key: int) -> WeightDerivation:
    """Derive ``steps.weights[query, key]`` from q_i and k_j: products, sum, the scaled score (``steps.scaled``:
    / sqrt(d_k) when the steps were scaled), softmax over the row."""
    n = steps.weights.shape[0]
    if not (0 <= query < n and 0 <= key < n):
        raise ValueError(f"query and key must be token positions 0..{n - 1}, got {query} and {key}.")
    q, k = steps.q[query], steps.k[key]  # (d_k,) each
    products = q * k  # (d_k,)
    logits = steps.scaled[query].clone()  # (T,)
    masked_row = steps.mask[query] if steps.mask is not None else torch.zeros(n, dtype=torch.bool)
    logits = logits.masked_fill(masked_row, float("-inf"))
    exps = (logits - logits.max()).exp()  # (T,): the same softmax, written out
    return WeightDerivation(query, key, q, k, products, float(products.sum()), float(steps.scaled[query, key]),
                            logits, exps, float(exps.sum()), float(exps[key] / exps.sum()), bool(masked_row[key]))


# ------------------------------------------------------------------ claims, tested
def permutation_gap(x: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, perm: Tensor,
                    positions: Tensor | None = None) -> float:
    """Self-attention is permutation-equivariant: permute the tokens and the weight matrix's rows and columns are
    permuted the same way. Returns the largest |A(x[perm])[a, b] - A(x)[perm[a], perm[b]]|. ``positions`` (T, d)
    is added after the shuffle (position t stays position t), which breaks the symmetry."""
    pe = positions if positions is not None else torch.zeros_like(x)
    before = self_attention_steps(x + pe, w_q, w_k, w_v).weights  # (T, T)
    after = self_attention_steps(x[perm] + pe, w_q, w_k, w_v).weights  # (T, T)
    return float((after - before[perm][:, perm]).abs().max())


def self_peak_share(x_for_seed, d_model: int, d_k: int, seeds: int = 200) -> tuple[float, float, int]:
    """(share, share with W_K = W_Q, rows): over ``seeds`` random draws of the embeddings and projections
    (``x_for_seed(seed)`` gives the (T, d_model) tokens), the share of query rows whose largest weight falls on the
    token itself, with independent W_Q and W_K and with W_K tied to W_Q. Each draw serves both."""
    from .text import projections

    hits = tied_hits = rows = 0
    for seed in range(seeds):
        x = x_for_seed(seed)  # (T, d_model)
        w_q, w_k, w_v = projections(d_model, d_k, seed)
        itself = torch.arange(len(x))
        weights = self_attention_steps(x, w_q, w_k, w_v).weights  # (T, T)
        tied = self_attention_steps(x, w_q, w_q, w_v).weights  # (T, T)
        hits += int((weights.argmax(-1) == itself).sum())
        tied_hits += int((tied.argmax(-1) == itself).sum())
        rows += len(x)
    return hits / rows, tied_hits / rows, rows
