"""The causal decoder every GPT-style model of the package is: page 6's sequence model and the animal language's
model (``language.py``) are this one class, built from the digit classifier's own ``Block`` run with
``causal=True``.

Token embedding (+ learned positions) -> causal blocks -> final LayerNorm -> next-token logits.

What every decoder task shares lives here once: ``DecoderConfig`` (sizes, optimiser, seed; the protocol members
that follow from them, ``protocol.Trainable``), ``train_steps`` (the loop) and ``SeqRecord`` (a task's record).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TypeVar

import torch
from torch import Tensor, nn

from ._checks import training_settings
from ._schedule import cosine_lr
from .model import Block
from .multihead import check_heads

R = TypeVar("R")  # a training's record


@dataclass(frozen=True)
class DecoderConfig:
    """What every decoder training has: the model's sizes, the optimiser's steps, batch and rate, the seed, and
    whether positions are learned. ``sequence.SeqConfig``, ``induction.InductionConfig`` and
    ``language.LanguageConfig`` add to it, each with its ``kind``, ``build`` and ``train`` and three properties its
    cost follows from: ``context`` (tokens the model reads at most), ``vocab`` (tokens it knows) and ``evaluated``
    (sequences run through the model at each record: held-out ones and probes)."""

    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    steps: int = 300
    batch_size: int = 64
    lr: float = 5e-3
    seed: int = 0
    positions: bool = True  # learned positional embeddings; off, the model sees a bag of tokens plus the mask

    def __post_init__(self):
        training_settings(self)  # ValueError in words a student can act on
        check_heads(self.d_model, self.n_heads)  # ValueError naming the head counts that work

    def optimizer_steps(self) -> int:
        return self.steps

    def records(self) -> int:
        """Records a training yields: step 0, then every ``steps // 30`` steps (``train_steps``)."""
        return self.steps // max(1, self.steps // 30) + 1

    def multiply_adds(self) -> float:
        """Multiply-adds of the whole training: forward and backward (about 3x the forward) over every batch, and a
        forward over ``evaluated`` sequences at every record. Per token, each block's projections and MLP
        (12 d^2, with a 4x MLP) and its attention over the context (2 t d), and the read-out (d x vocab)."""
        t, d = self.context, self.d_model
        per_token = self.n_layers * (12 * d * d + 2 * t * d) + d * self.vocab
        return float((3 * self.steps * self.batch_size + self.records() * self.evaluated) * t * per_token)

    def progress(self, record) -> float:
        return record.step / max(1, self.steps)


def train_steps(config: DecoderConfig, model: nn.Module, batch_loss: Callable[[torch.Generator], Tensor],
                record: Callable[[int, float | None, float, float], R], betas: tuple[float, float] = (0.9, 0.999)
                ) -> Iterator[R]:
    """The loop every decoder training runs: AdamW (fused: one kernel for every parameter) with a warm-up over the
    first 5% of the steps, then cosine decay; ``batch_loss(generator)`` draws a batch and returns its loss;
    ``record(step, loss or None at step 0, seconds, cpu_seconds)`` makes a record, yielded at step 0 and then about
    30 times (every ``steps // 30`` steps, and at the last). The clocks count from the start, evaluations included.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0, betas=betas, fused=True)
    g = torch.Generator().manual_seed(config.seed)
    warmup, every = max(1, config.steps // 20), max(1, config.steps // 30)
    t0, c0 = time.perf_counter(), time.thread_time()

    def clocked(step: int, loss: float | None) -> R:
        made = record(step, loss, t0, c0)
        model.train()
        return made

    yield clocked(0, None)
    model.train()
    for step in range(1, config.steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(config.lr, step, config.steps, warmup)
        loss = batch_loss(g)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % every == 0 or step == config.steps:
            yield clocked(step, loss.item())


TENSORS = ("attention", "share", "shares", "lens", "lens_top")  # a record's fields that are not plain numbers


@dataclass(frozen=True)
class SeqRecord:
    """A decoder task's record (page 6's digit tasks and induction)."""

    step: int  # optimiser steps done (0: before training)
    loss: float  # cross-entropy on the counted tokens of the last training batch (held-out at step 0)
    token_acc: float  # share of held-out counted tokens predicted right, each given the right tokens before it
    exact_match: float  # share of held-out sequences whose every counted token is right
    seconds: float  # wall-clock time since training started, evaluations included
    cpu_seconds: float  # CPU time this training's thread has used: other work on the machine does not add to it
    attention: Tensor  # (layers, heads, T, T): the fixed example's attention maps at this step
    share: Tensor  # (layers, heads): the task's per-head score on its probes at this step
    lens: Tensor | None = None  # (layers + 1, T): the logit lens on the example: each read-out's p(right next token)
    lens_top: Tensor | None = None  # (layers + 1, T): each read-out's likeliest next token

    def as_dict(self) -> dict:
        """The numbers, without the tensors (for tables and charts)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in TENSORS}


class Decoder(nn.Module):
    """``config`` gives d_model, n_heads, n_layers and positions (learned positional embeddings or none);
    ``vocab`` tokens, at most ``context`` of them at once."""

    def __init__(self, config, vocab: int, context: int):
        super().__init__()
        self.config = c = config
        self.context = context  # tokens it reads at most (its positions' table, where it has one)
        self.tok_embed = nn.Embedding(vocab, c.d_model)
        self.pos_embed = nn.Embedding(context, c.d_model) if c.positions else None
        self.blocks = nn.ModuleList(Block(c.d_model, c.n_heads, mlp_ratio=4) for _ in range(c.n_layers))
        self.ln_f = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, vocab)

    def embed(self, idx: Tensor, start: int = 0) -> Tensor:
        """(B, T) tokens at positions ``start`` .. ``start + T - 1`` -> (B, T, E) vectors entering the first block."""
        x = self.tok_embed(idx)  # (B, T, E)
        if self.pos_embed is not None:
            x = x + self.pos_embed(torch.arange(start, start + idx.shape[1], device=idx.device))  # (T, E) broadcast
        return x

    def forward(self, idx: Tensor) -> Tensor:
        """(B, T) tokens -> (B, T, vocab) logits for the next token at every position."""
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x, causal=True)
        return self.head(self.ln_f(x))

    @torch.no_grad()
    def attention_maps(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """Logits and every layer's attention weights, (B, layers, heads, T, T), through the explicit path."""
        x, maps = self.embed(idx), []
        for block in self.blocks:
            x, w = block(x, return_weights=True, causal=True)
            maps.append(w)
        return self.head(self.ln_f(x)), torch.stack(maps, dim=1)

    @torch.no_grad()
    def layer_inputs(self, idx: Tensor) -> list[Tensor]:
        """Each layer's attention input: the token vectors entering block ``l`` after its first LayerNorm,
        [(B, T, E), ...] (what W_Q, W_K and W_V multiply)."""
        x, inputs = self.embed(idx), []
        for block in self.blocks:
            inputs.append(block.ln_1(x))
            x = block(x, causal=True)
        return inputs


# ------------------------------------------------------------------ a block, step by step
# The arithmetic of ``Block(x, causal=True)`` taken apart, so that generation can keep keys and values between steps
# (generate.py) and activation patching can replace one head's output (patching.py); tests check both against the
# model's own forward.
def split_heads(block, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """q, k, v of ``block`` for the residual ``x`` (N, T, E), each (N, heads, T, d_head)."""
    N, T, E = x.shape
    H = block.attn.n_heads
    qkv = block.ln_1(x) @ block.attn.w_qkv  # (N, T, 3E)
    q, k, v = qkv.view(N, T, 3, H, E // H).permute(2, 0, 3, 1, 4)  # 3 x (N, H, T, d_head)
    return q, k, v


def attend(block, q: Tensor, k: Tensor, v: Tensor, start: int = 0) -> tuple[Tensor, Tensor]:
    """Each head's output (N, H, n, d_head) and weights (N, H, n, keys) for queries at positions ``start`` ..
    ``start + n - 1`` over keys from position 0, each query seeing only keys at or before its own position; the
    heads ``block`` has removed (``attn.head_mask``) write zeros."""
    n = q.shape[2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (N, H, n, keys)
    later = torch.arange(k.shape[2])[None, :] > torch.arange(start, start + n)[:, None]  # (n, keys)
    weights = scores.masked_fill(later, float("-inf")).softmax(-1)  # (N, H, n, keys)
    z = weights @ v  # (N, H, n, d_head)
    if block.attn.head_mask is not None:
        z = z * block.attn.head_mask.view(1, -1, 1, 1)
    return z, weights


def finish_block(block, x: Tensor, z: Tensor) -> Tensor:
    """The residual after ``block``: ``x`` (N, T, E) plus the projection of the heads' outputs ``z`` (N, H, T,
    d_head), then the MLP."""
    N, T, E = x.shape
    x = x + block.attn.proj(z.transpose(1, 2).reshape(N, T, E))  # (N, T, E)
    return x + block.mlp(block.ln_2(x))


def check_ids(ids: Tensor, vocab: int, context: int | None, what: str = "the prompt") -> None:
    """ValueError, in words a student can act on, for token ids a model of ``vocab`` tokens reading ``context`` at
    once cannot take (``what`` names them in the message)."""
    if int(ids.min()) < 0 or int(ids.max()) >= vocab:
        raise ValueError(f"{what} has token ids outside this model's {vocab} tokens (0 to {vocab - 1}).")
    if context is not None and ids.shape[-1] > context:
        raise ValueError(f"{what} has {ids.shape[-1]} tokens, more than the {context} this model reads at once: "
                         f"shorten it to {context} or fewer.")
