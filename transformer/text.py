"""From a sentence to token vectors, for the step-by-step page: words become tokens, tokens get seeded vectors.

Not a trained tokenizer or embedding: each distinct word gets a fixed random vector (seeded by the word and the
seed), so the same word always gets the same vector and every number on the page can be reproduced.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import torch
from torch import Tensor

from ._checks import positive_int

TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]", re.UNICODE)  # words (any script) and single punctuation marks


@dataclass(frozen=True)
class Tokens:
    tokens: list[str]
    total: int  # how many tokens the sentence had before the cap

    @property
    def truncated(self) -> bool:
        return self.total > len(self.tokens)


def tokenize(sentence: str, max_tokens: int = 12, max_token_chars: int = 16) -> Tokens:
    """Words and punctuation marks, at most ``max_tokens`` of them; long words are shortened with '…'."""
    max_tokens = positive_int("max_tokens", max_tokens)
    found = TOKEN_PATTERN.findall(sentence or "")
    tokens = [t if len(t) <= max_token_chars else t[: max_token_chars - 1] + "…" for t in found[:max_tokens]]
    return Tokens(tokens, len(found))


def embed(tokens: list[str], d_model: int, seed: int = 0) -> Tensor:
    """(T, d_model): a unit-variance random vector per distinct word, the same for the same word and seed."""
    d_model = positive_int("d_model", d_model)
    rows = []
    for t in tokens:
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(t.lower().encode("utf-8")))
        rows.append(torch.randn(d_model, generator=g))
    return torch.stack(rows) if rows else torch.empty(0, d_model)


def projections(d_model: int, d_k: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Seeded W_Q, W_K, W_V, each (d_model, d_k), scaled so that q, k, v have about unit variance."""
    d_model, d_k = positive_int("d_model", d_model), positive_int("d_k", d_k)
    g = torch.Generator().manual_seed(seed + 7)
    return tuple(torch.randn(d_model, d_k, generator=g) / d_model**0.5 for _ in range(3))


def sinusoidal_positions(n_tokens: int, d_model: int) -> Tensor:
    """(T, d_model) the sinusoidal positional encodings of Vaswani et al. (2017): PE[t, 2i] = sin(t / 10000^(2i/d)),
    PE[t, 2i + 1] = cos(t / 10000^(2i/d)). Added to the token vectors, they make the same word at two positions
    two different vectors."""
    n_tokens, d_model = positive_int("n_tokens", n_tokens), positive_int("d_model", d_model)
    t = torch.arange(n_tokens, dtype=torch.float32)[:, None]  # (T, 1)
    i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (ceil(d / 2),)
    angle = t / 10000 ** (i / d_model)  # (T, ceil(d / 2))
    pe = torch.zeros(n_tokens, d_model)
    pe[:, 0::2] = angle.sin()
    pe[:, 1::2] = angle.cos()[:, : d_model // 2]
    return pe
