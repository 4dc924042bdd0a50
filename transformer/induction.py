"""The induction task: copy what came after this token last time, the circuit the field knows best.

A sequence is ``LENGTH`` random tokens from ``SYMBOLS`` symbols in which a run of 5 to 14 tokens, at a random place,
is repeated once, later, at a random distance, so no fixed positional offset solves it. From the second token of
the repeat on, each next token can be predicted by finding the current token's earlier occurrence and copying the
token after it: a previous-token head in layer 0 and an induction head in layer 1 do that together (Olsson et al.,
2022). The loss and the accuracy count exactly those tokens.

Sequences are generated a batch at a time as tensors (no Python loop per row). ``InductionConfig`` is the
training (the decoder's sizes, with its own steps and rate: the circuit forms later than page 6's digit tasks, and
faster at a higher rate); ``train`` yields ``decoder.SeqRecord``s whose ``token_acc`` is the accuracy on the
repeated tokens, ``exact_match`` the share of sequences whose every repeated token is right, and ``share`` each
head's prefix-matching score.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor

from ._seed import seeded
from .decoder import Decoder, DecoderConfig, SeqRecord, train_steps
from .lens import next_token_lens

SYMBOLS = 24  # the vocabulary: tokens 0..23
LENGTH = 32  # tokens per sequence; the model reads all but the last
RUNS = (5, 14)  # the repeated run's length, inclusive
HELD_OUT = 500  # evaluation sequences, never trained on
PROBES = 100  # of them, the ones the per-head scores are measured on


@dataclass(frozen=True)
class InductionConfig(DecoderConfig):
    """Everything that decides an induction training run (the defaults reach 90% on the repeated tokens within
    page 6's default budget; see the benchmark's *induction* rows)."""

    steps: int = 600
    lr: float = 1e-2

    kind = "induction"
    task = "induction"  # page 6 offers it beside the digit tasks, by this name

    @property
    def context(self) -> int:
        return LENGTH - 1  # the model reads all but the last token

    @property
    def vocab(self) -> int:
        return SYMBOLS

    @property
    def evaluated(self) -> int:
        return HELD_OUT + PROBES + 1  # the held-out sequences, the probes' attention, the example's

    def build(self) -> Decoder:
        with seeded(self.seed):
            return Decoder(self, vocab=self.vocab, context=self.context)

    def train(self, model: Decoder | None = None) -> Iterator[SeqRecord]:
        return train(self, self.build() if model is None else model)


@dataclass(frozen=True)
class Batch:
    tokens: Tensor  # (N, LENGTH)
    counted: Tensor  # (N, LENGTH - 1) bool: positions whose next token the repeat makes predictable
    first: Tensor  # (N,) where the run starts
    second: Tensor  # (N,) where its repeat starts
    run: Tensor  # (N,) the run's length

    def __getitem__(self, rows) -> Batch:
        """The sequences ``rows`` picks (``batch[:100]``), every field alike."""
        return Batch(*(getattr(self, f.name)[rows] for f in fields(self)))


def generate(n: int, generator: torch.Generator) -> Batch:
    """``n`` sequences, each with one run repeated at a random offset."""
    tokens = torch.randint(0, SYMBOLS, (n, LENGTH), generator=generator)
    run = torch.randint(RUNS[0], RUNS[1] + 1, (n,), generator=generator)
    first = (torch.rand(n, generator=generator) * (LENGTH - 2 * run + 1)).long()  # room for both copies
    second = first + run + (torch.rand(n, generator=generator) * (LENGTH - first - 2 * run + 1)).long()
    idx = torch.arange(LENGTH)[None, :]  # (1, LENGTH)
    in_repeat = (idx >= second[:, None]) & (idx < (second + run)[:, None])
    source = torch.where(in_repeat, idx - second[:, None] + first[:, None], idx)  # the repeat copies the run
    tokens = tokens.gather(1, source)
    # position p predicts token p + 1: counted from the repeat's first token to its second-to-last
    counted = (idx[:, :-1] >= second[:, None]) & (idx[:, :-1] <= (second + run - 2)[:, None])
    return Batch(tokens, counted, first, second, run)


def held_out(seed: int = 0) -> Batch:
    return generate(HELD_OUT, torch.Generator().manual_seed(20_000 + seed))


def earlier_occurrence(tokens: Tensor) -> Tensor:
    """(N, T): for each position, the most recent earlier position holding the same token, or -1."""
    same = tokens[:, :, None] == tokens[:, None, :]  # (N, T query, T key)
    earlier = torch.tril(torch.ones(tokens.shape[1], tokens.shape[1], dtype=torch.bool), -1)
    key = torch.arange(tokens.shape[1])
    return torch.where(same & earlier, key, -1).amax(-1)


def prefix_matching(maps: Tensor, tokens: Tensor) -> Tensor:
    """(layers, heads): the attention each head puts, from a token inside a repeat, on the position right after that
    token's earlier occurrence. A token is inside a repeat when it and the token before it both occurred before,
    one after the other (so a lone coincidence of one token does not count). ``maps`` is (N, layers, heads, T, T)
    over ``tokens`` (N, T)."""
    before = earlier_occurrence(tokens)  # (N, T)
    target = before + 1
    previous = torch.cat([torch.full_like(tokens[:, :1], -1), tokens[:, :-1]], 1)  # (N, T): the token before
    prev_of_earlier = tokens.gather(1, (before - 1).clamp(min=0))
    repeat = (before >= 1) & (previous == prev_of_earlier)
    valid = repeat & (target <= torch.arange(tokens.shape[1]))  # the target must be visible (causal)
    rows = maps.gather(-1, target.clamp(min=0)[:, None, None, :, None].expand(*maps.shape[:4], 1))[..., 0]
    weights = valid[:, None, None, :].float()  # (N, 1, 1, T)
    return (rows * weights).sum((0, 3)) / weights.sum((0, 3)).clamp(min=1)


def previous_token(maps: Tensor) -> Tensor:
    """(layers, heads): the attention every position (but the first) puts on the position just before it."""
    return maps.diagonal(offset=-1, dim1=-2, dim2=-1).mean((0, 3))


@torch.no_grad()
def prefix_matching_score(model, tokens: Tensor) -> Tensor:
    """(layers, heads) prefix-matching score of ``model`` on ``tokens`` (N, T)."""
    _, maps = model.attention_maps(tokens)
    return prefix_matching(maps, tokens)


@torch.no_grad()
def evaluate(model, batch: Batch) -> tuple[float, float, float]:
    """(loss, accuracy on the repeated tokens, share of sequences with every repeated token right)."""
    model.eval()
    logits = model(batch.tokens[:, :-1])  # (N, T - 1, SYMBOLS)
    target = batch.tokens[:, 1:]
    loss = F.cross_entropy(logits[batch.counted], target[batch.counted]).item()
    right = (logits.argmax(-1) == target) | ~batch.counted
    return loss, (logits.argmax(-1) == target)[batch.counted].float().mean().item(), right.all(-1).float().mean().item()


def train(config: InductionConfig, model: Decoder) -> Iterator[SeqRecord]:
    """Train ``model`` on fresh sequences (AdamW, warm-up then cosine decay) and yield a ``SeqRecord`` about 30
    times, step 0 included."""
    evaluation = held_out(config.seed)
    example, probe = evaluation.tokens[:1, :-1], evaluation.tokens[:PROBES, :-1]

    def batch_loss(g: torch.Generator) -> Tensor:
        batch = generate(config.batch_size, g)
        logits = model(batch.tokens[:, :-1])  # (B, T - 1, SYMBOLS)
        return F.cross_entropy(logits[batch.counted], batch.tokens[:, 1:][batch.counted])

    def record(step: int, loss: float | None, t0: float, c0: float) -> SeqRecord:
        held_loss, token_acc, exact = evaluate(model, evaluation)
        _, maps = model.attention_maps(example)
        return SeqRecord(step, held_loss if loss is None else loss, token_acc, exact, time.perf_counter() - t0,
                         time.thread_time() - c0, maps[0], prefix_matching_score(model, probe),
                         *next_token_lens(model, example, evaluation.tokens[:1, 1:]))

    yield from train_steps(config, model, batch_loss, record)
