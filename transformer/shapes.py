"""Coursework Q1: the shape of every tensor in self-attention, found by running the operations.

The operations run on PyTorch's ``meta`` device: real tensors with a shape and a dtype but no storage,
so PyTorch's own shape rules (and its errors) decide every result, and d_model 4096 with 512 tokens is
as instant as d_model 4. Nothing here is a lookup table.

Two layouts:

- ``"columns"`` (the coursework's): X is [d_model, n_tokens], one column per token.
  Q = W^Q X, K = W^K X, V = W^V X; scores = K^T Q is [n_tokens, n_tokens] with keys on the rows and
  queries on the columns; softmax runs over the keys (down each column); output = V A.
- ``"rows"`` (PyTorch's): X is [n_tokens, d_model], one row per token.
  Q = X W_Q; scores = Q K^T with queries on the rows; softmax over the keys (along each row); output = A V.

The value size d_v is taken equal to d_k, as in the original paper.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._checks import positive_int

LAYOUTS = ("columns", "rows")


class Shape(tuple):
    """A shape tuple (compares equal to a plain tuple) that also carries how it was made."""

    formula: str
    meaning: str

    def __new__(cls, dims, formula: str, meaning: str):
        obj = super().__new__(cls, (int(d) for d in dims))
        obj.formula = formula
        obj.meaning = meaning
        return obj

    def __str__(self) -> str:
        return "[" + ", ".join(str(d) for d in self) + "]"


def self_attention_shapes(d_model: int, n_tokens: int, d_k: int | None = None,
                          layout: str = "columns") -> dict[str, Shape]:
    """Name -> Shape of X, the weights, Q, K, V, the scores, the softmax weights and the output, in order."""
    d_model = positive_int("d_model", d_model)
    n_tokens = positive_int("n_tokens", n_tokens)
    d_k = d_model if d_k is None else positive_int("d_k", d_k)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be 'columns' or 'rows', got {layout!r}.")

    meta = dict(device="meta")
    if layout == "columns":
        x = torch.empty(d_model, n_tokens, **meta)  # (d_model, T): one column per token
        w_q = torch.empty(d_k, d_model, **meta)  # (d_k, d_model)
        w_k = torch.empty(d_k, d_model, **meta)
        w_v = torch.empty(d_k, d_model, **meta)
        q, k, v = w_q @ x, w_k @ x, w_v @ x  # (d_k, T) each
        scores = k.T @ q  # (T_key, T_query)
        scaled = scores / math.sqrt(d_k)
        weights = scaled.softmax(dim=0)  # each column (one query) sums to 1 over the keys
        output = v @ weights  # (d_k, T_query)
        rows = [
            ("X", x, "input", "d_model x tokens: one column per token"),
            ("W_Q", w_q, "parameter", "d_k x d_model: projects a token to its query"),
            ("W_K", w_k, "parameter", "d_k x d_model: projects a token to its key"),
            ("W_V", w_v, "parameter", "d_v x d_model: projects a token to its value"),
            ("Q", q, "W^Q X", "d_k x tokens: one query per token"),
            ("K", k, "W^K X", "d_k x tokens: one key per token"),
            ("V", v, "W^V X", "d_v x tokens: one value per token"),
            ("scores", scores, "K^T Q", "keys x queries: one dot product per (key, query) pair"),
            ("scaled", scaled, "K^T Q / sqrt(d_k)", "keys x queries, divided by sqrt(d_k)"),
            ("weights", weights, "softmax over keys (dim 0)", "keys x queries: each column sums to 1"),
            ("output", output, "V A", "d_v x tokens: one new vector per token"),
        ]
    else:
        x = torch.empty(n_tokens, d_model, **meta)  # (T, d_model): one row per token
        w_q = torch.empty(d_model, d_k, **meta)  # (d_model, d_k)
        w_k = torch.empty(d_model, d_k, **meta)
        w_v = torch.empty(d_model, d_k, **meta)
        q, k, v = x @ w_q, x @ w_k, x @ w_v  # (T, d_k) each
        scores = q @ k.T  # (T_query, T_key)
        scaled = scores / math.sqrt(d_k)
        weights = scaled.softmax(dim=-1)  # each row (one query) sums to 1 over the keys
        output = weights @ v  # (T_query, d_k)
        rows = [
            ("X", x, "input", "tokens x d_model: one row per token"),
            ("W_Q", w_q, "parameter", "d_model x d_k: projects a token to its query"),
            ("W_K", w_k, "parameter", "d_model x d_k: projects a token to its key"),
            ("W_V", w_v, "parameter", "d_model x d_v: projects a token to its value"),
            ("Q", q, "X W_Q", "tokens x d_k: one query per token"),
            ("K", k, "X W_K", "tokens x d_k: one key per token"),
            ("V", v, "X W_V", "tokens x d_v: one value per token"),
            ("scores", scores, "Q K^T", "queries x keys: one dot product per (query, key) pair"),
            ("scaled", scaled, "Q K^T / sqrt(d_k)", "queries x keys, divided by sqrt(d_k)"),
            ("weights", weights, "softmax over keys (dim -1)", "queries x keys: each row sums to 1"),
            ("output", output, "A V", "tokens x d_v: one new vector per token"),
        ]
    return {name: Shape(t.shape, formula, meaning) for name, t, formula, meaning in rows}


@dataclass(frozen=True)
class AttentionCost:
    """What one self-attention layer costs, in the figures a teacher quotes."""

    projection_params: int  # parameters in W_Q, W_K and W_V together
    score_elements: int  # entries in the tokens x tokens score matrix
    macs: dict[str, int]  # multiply-adds of each matrix product, by name

    @property
    def linear_macs(self) -> int:
        """Multiply-adds that grow linearly with the number of tokens (the three projections)."""
        return self.macs["Q"] + self.macs["K"] + self.macs["V"]

    @property
    def quadratic_macs(self) -> int:
        """Multiply-adds that grow with tokens squared (scores and the weighted sum of values)."""
        return self.macs["scores"] + self.macs["output"]

    @property
    def total_macs(self) -> int:
        return self.linear_macs + self.quadratic_macs


def attention_cost(d_model: int, n_tokens: int, d_k: int | None = None) -> AttentionCost:
    """Parameters, score-matrix size and multiply-adds of one head of self-attention (the same in both layouts)."""
    d_model = positive_int("d_model", d_model)
    n = positive_int("n_tokens", n_tokens)
    d_k = d_model if d_k is None else positive_int("d_k", d_k)
    projection = d_model * d_k * n  # each of Q, K, V: a (d_k x d_model) by (d_model x n) product
    return AttentionCost(
        projection_params=3 * d_model * d_k,
        score_elements=n * n,
        macs={"Q": projection, "K": projection, "V": projection, "scores": n * n * d_k, "output": n * n * d_k},
    )


def common_slip_shape(d_model: int, n_tokens: int, d_k: int | None = None) -> Shape:
    """The shape a student gets by writing Q K^T in the columns layout: d_k x d_k, features against features."""
    d_model = positive_int("d_model", d_model)
    n_tokens = positive_int("n_tokens", n_tokens)
    d_k = d_model if d_k is None else positive_int("d_k", d_k)
    q = torch.empty(d_k, n_tokens, device="meta")  # (d_k, T), as W^Q X gives it
    k = torch.empty(d_k, n_tokens, device="meta")
    slip = q @ k.T  # (d_k, d_k): sums over tokens, compares feature with feature
    return Shape(slip.shape, "Q K^T (columns layout)", "d_k x d_k: feature against feature, not token against token")
