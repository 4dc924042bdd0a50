"""A GPT-style decoder trained on small sequence tasks, so attention can be watched while it learns.

The tasks are over the digits 0-9 and a separator token. The prompt is the digits followed by the separator; the
model writes the answer one token at a time, each token seeing only the tokens before it (the causal mask):

- ``reverse``: the digits backwards      3 1 4 1 5 | -> 5 1 4 1 3
- ``sort``:    the digits in ascending order  3 1 4 1 5 | -> 1 1 3 4 5
- ``copy``:    the digits again          3 1 4 1 5 | -> 3 1 4 1 5

The loss counts only the answer positions. The decoder is built from this package's own ``Block`` (the one the
digit classifier uses), run with ``causal=True``; ``to_torch_layer`` hands a block's weights to
``nn.TransformerEncoderLayer``, the reference it is checked against.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._seed import seeded
from .decoder import Decoder, DecoderConfig, SeqRecord, train_steps
from .lens import next_token_lens

TASKS = ("reverse", "sort", "copy")  # page 6's fourth task, induction, has a module and a config of its own
SEP = 10  # the separator token; 0-9 are the digits
VOCAB = 11
MAX_LENGTH = 12
HELD_OUT = 1000  # sequences kept out of training and used for exact-match (fewer when the task has fewer)
PROBES = 100  # of them, the prompts whose attention measures what each head does (pattern_share)


@dataclass(frozen=True)
class SeqConfig(DecoderConfig):
    """Everything that decides a sequence-model training run. The defaults were chosen by measurement (see the
    benchmark): both reverse and sort reach 99% exact-match on the held-out sequences within a few seconds."""

    task: str = "reverse"
    length: int = 6  # digits in the prompt (3-12); the answer has as many

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}.")
        if isinstance(self.length, bool) or not isinstance(self.length, int) or not 3 <= self.length <= MAX_LENGTH:
            raise ValueError(f"length must be a whole number from 3 to {MAX_LENGTH}, got {self.length!r}.")
        super().__post_init__()

    kind = "sequence"

    @property
    def context(self) -> int:
        """Tokens the model reads at most: the prompt, the separator, and all but the last answer token."""
        return 2 * self.length

    @property
    def vocab(self) -> int:
        return VOCAB

    @property
    def evaluated(self) -> int:
        return n_held_out(self.length)

    def build(self) -> SequenceModel:
        return build_sequence_model(self)

    def train(self, model: SequenceModel | None = None) -> Iterator[SeqRecord]:
        return train_sequence_model(self, model)


# ------------------------------------------------------------------ the tasks
def answer_for(task: str, digits: Tensor) -> Tensor:
    """(N, L) digits -> (N, L) the answer the task asks for."""
    if task == "reverse":
        return digits.flip(-1)
    if task == "sort":
        return digits.sort(-1).values
    if task == "copy":
        return digits.clone()
    raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}.")


def full_sequences(task: str, digits: Tensor) -> Tensor:
    """(N, L) digits -> (N, 2L + 1): prompt, separator, answer."""
    sep = torch.full((digits.shape[0], 1), SEP, dtype=torch.long)
    return torch.cat([digits, sep, answer_for(task, digits)], dim=1)


def _codes(digits: Tensor) -> Tensor:
    """Each row of digits as one whole number (base 10), to tell sequences apart quickly."""
    powers = 10 ** torch.arange(digits.shape[1], dtype=torch.long)
    return (digits * powers).sum(-1)


def n_held_out(length: int) -> int:
    """How many evaluation prompts a prompt length gets: ``HELD_OUT``, or half of all there are if fewer."""
    return min(HELD_OUT, 10**length // 2)


def held_out(config: SeqConfig) -> Tensor:
    """(N, L) the evaluation prompts: ``HELD_OUT`` distinct random digit strings (half of all there are when the
    length is short), fixed by the seed and never used for training."""
    n = n_held_out(config.length)
    g = torch.Generator().manual_seed(10_000 + config.seed)
    kept, codes = torch.empty(0, config.length, dtype=torch.long), torch.empty(0, dtype=torch.long)
    while len(kept) < n:  # a whole draw at a time (more than one only when short prompts repeat a lot)
        draw = torch.randint(0, 10, (n, config.length), generator=g)  # (n, L)
        drawn = _codes(draw)
        first = torch.from_numpy(np.sort(np.unique(drawn.numpy(), return_index=True)[1]))  # each code's first row
        new = first[~torch.isin(drawn[first], codes)][: n - len(kept)]  # in draw order, unseen, up to n
        kept, codes = torch.cat([kept, draw[new]]), torch.cat([codes, drawn[new]])
    return kept


def training_batch(config: SeqConfig, generator: torch.Generator, exclude: Tensor) -> Tensor:
    """(batch, L) random prompts, none of them among the held-out ones (``exclude``: their codes)."""
    digits = torch.randint(0, 10, (config.batch_size, config.length), generator=generator)
    clash = torch.isin(_codes(digits), exclude)
    while clash.any():
        digits[clash] = torch.randint(0, 10, (int(clash.sum()), config.length), generator=generator)
        clash = torch.isin(_codes(digits), exclude)
    return digits


# ------------------------------------------------------------------ the model
class SequenceModel(Decoder):
    """The package's causal decoder over the 11 tokens (digits and the separator), sized by a ``SeqConfig``."""

    def __init__(self, config: SeqConfig):
        super().__init__(config, vocab=config.vocab, context=config.context)


def build_sequence_model(config: SeqConfig) -> SequenceModel:
    """The decoder with its seeded initial weights (safe to call from several threads at once)."""
    with seeded(config.seed):
        return SequenceModel(config)


def to_torch_layer(block: nn.Module) -> nn.TransformerEncoderLayer:
    """The same weights in ``nn.TransformerEncoderLayer(norm_first=True, batch_first=True, activation="gelu",
    dropout=0.0)``. With a causal mask its outputs equal the block's (run with ``causal=True``)."""
    d_model = block.ln_1.normalized_shape[0]
    hidden = block.mlp[0].out_features
    layer = nn.TransformerEncoderLayer(d_model, block.attn.n_heads, dim_feedforward=hidden, dropout=0.0,
                                       activation="gelu", batch_first=True, norm_first=True)
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(block.attn.w_qkv.T)  # (3E, E): PyTorch computes x @ W.T
        layer.self_attn.in_proj_bias.zero_()  # the block's projections have no bias
        layer.self_attn.out_proj.weight.copy_(block.attn.proj.weight)
        layer.self_attn.out_proj.bias.copy_(block.attn.proj.bias)
        for mine, theirs in ((block.ln_1, layer.norm1), (block.ln_2, layer.norm2), (block.mlp[0], layer.linear1),
                             (block.mlp[2], layer.linear2)):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
    return layer.eval()


@torch.no_grad()
def check_against_torch_layers(model: SequenceModel, seed: int = 0) -> list[float]:
    """For every block of ``model``: the largest |difference| between the block (``causal=True``) and
    ``to_torch_layer(block)`` with a causal mask, on the same random input of the model's full context."""
    g = torch.Generator().manual_seed(seed)
    t, d_model = model.config.context, model.config.d_model
    mask = nn.Transformer.generate_square_subsequent_mask(t)
    diffs = []
    for block in model.blocks:
        x = torch.randn(4, t, d_model, generator=g)  # (B, T, E)
        theirs = to_torch_layer(block)(x, src_mask=mask, is_causal=True)
        diffs.append(float((block(x, causal=True) - theirs).abs().max()))
    return diffs


# ------------------------------------------------------------------ generation
@torch.no_grad()
def _generate(model: SequenceModel, digits: Tensor) -> Tensor:
    """(N, L) prompts -> (N, L) greedy answers, one token at a time."""
    model.eval()
    seq = torch.cat([digits, torch.full((digits.shape[0], 1), SEP, dtype=torch.long)], dim=1)  # (N, L + 1)
    for _ in range(digits.shape[1]):
        nxt = model(seq)[:, -1].argmax(-1, keepdim=True)  # (N, 1)
        seq = torch.cat([seq, nxt], dim=1)
    return seq[:, digits.shape[1] + 1:]


def _check_digits(model: SequenceModel, digits: list[int]) -> Tensor:
    if not digits:
        raise ValueError("Type at least one digit.")
    if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 9 for d in digits):
        raise ValueError(f"Only the digits 0-9 can be used, got {digits!r}.")
    if len(digits) != model.config.length:
        raise ValueError(f"This model was trained on {model.config.length} digits; got {len(digits)}.")
    return torch.tensor([digits], dtype=torch.long)


def generate_answer(model: SequenceModel, digits: list[int]) -> list[int]:
    """Greedy decoding of ``len(digits)`` answer tokens after the prompt ``digits`` and the separator."""
    return _generate(model, _check_digits(model, digits))[0].tolist()


@dataclass(frozen=True)
class GenerationSteps:
    prompt: list[int]  # the digits, then SEP
    answer: list[int]  # the generated tokens
    attention: Tensor  # (L, layers, heads, T): for each generated token, its query row over the tokens before it


@torch.no_grad()
def generate_steps(model: SequenceModel, digits: list[int]) -> GenerationSteps:
    """Like ``generate_answer``, and for every generated token the attention row of the position that wrote it,
    in every layer and head (keys: the prompt, the separator and the answer so far; zero-padded on the right)."""
    prompt = _check_digits(model, digits)
    answer = _generate(model, prompt)  # (1, L)
    seq = torch.cat([prompt, torch.full((1, 1), SEP, dtype=torch.long), answer[:, :-1]], dim=1)  # (1, 2L)
    _, maps = model.attention_maps(seq)  # (1, layers, heads, 2L, 2L)
    n = prompt.shape[1]
    rows = maps[0, :, :, n:, :].permute(2, 0, 1, 3)  # (L, layers, heads, 2L): the rows that wrote each token
    return GenerationSteps(digits + [SEP], answer[0].tolist(), rows)


# ------------------------------------------------------------------ what each head does, in numbers
def target_positions(task: str, digits: Tensor) -> Tensor:
    """(N, L, L) bool: for answer token i, the prompt positions that hold the digit being written (the mirrored
    position for reverse, the same position for copy, every position holding that digit for sort)."""
    n, length = digits.shape
    idx = torch.arange(length)
    if task == "reverse":
        return (idx[None, :] == (length - 1 - idx)[:, None]).expand(n, length, length)
    if task == "copy":
        return (idx[None, :] == idx[:, None]).expand(n, length, length)
    return answer_for(task, digits)[:, :, None] == digits[:, None, :]  # (N, answer i, prompt j)


@torch.no_grad()
def pattern_share(model: SequenceModel, digits: Tensor) -> Tensor:
    """(layers, heads): the share of attention that the positions writing the answer put on the prompt position(s)
    holding the digit being written, averaged over answer tokens and prompts (teacher-forced)."""
    task, n = model.config.task, digits.shape[1]
    seq = full_sequences(task, digits)[:, :-1]  # (N, 2L)
    _, maps = model.attention_maps(seq)  # (N, layers, heads, 2L, 2L)
    rows = maps[:, :, :, n:, :n]  # (N, layers, heads, L answer queries, L prompt keys)
    hit = target_positions(task, digits)[:, None, None].float()  # (N, 1, 1, L, L)
    return (rows * hit).sum(-1).mean(dim=(0, 3))  # (layers, heads)


# ------------------------------------------------------------------ training
def example_prompt(config: SeqConfig) -> Tensor:
    """(1, L) the one held-out example whose attention is kept at every record."""
    return held_out(config)[:1]


@torch.no_grad()
def evaluate_sequences(model: SequenceModel, digits: Tensor) -> tuple[float, float, float]:
    """(loss, token accuracy, exact-match of greedy generation) on the prompts ``digits``."""
    model.eval()
    task, n = model.config.task, digits.shape[1]
    seq = full_sequences(task, digits)
    logits = model(seq[:, :-1])[:, n:]  # (N, L, VOCAB): the predictions of the answer tokens
    target = seq[:, n + 1:]  # (N, L)
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), target.reshape(-1)).item()
    right = logits.argmax(-1) == target  # (N, L)
    # Greedy generation writes the whole answer right exactly when every answer token is the argmax given the right
    # tokens before it (by induction over the answer), so one forward pass gives the exact-match of generation;
    # a test checks it against generate_answer.
    return loss, right.float().mean().item(), right.all(-1).float().mean().item()



def train_sequence_model(config: SeqConfig = SeqConfig(), model: SequenceModel | None = None) -> Iterator[SeqRecord]:
    """Train with AdamW (a short warm-up, then cosine decay) and yield a record about 30 times, step 0 included
    (``decoder.train_steps``). Deterministic for a fixed seed (``seconds`` aside)."""
    model = build_sequence_model(config) if model is None else model
    evaluation = held_out(config)
    exclude = _codes(evaluation)
    example, probe, n = evaluation[:1], evaluation[:PROBES], config.length

    def batch_loss(g: torch.Generator) -> Tensor:
        seq = full_sequences(config.task, training_batch(config, g, exclude))  # (B, 2L + 1)
        logits = model(seq[:, :-1])[:, n:]  # (B, L, VOCAB): only the answer positions count
        return F.cross_entropy(logits.reshape(-1, VOCAB), seq[:, n + 1:].reshape(-1))

    def record(step: int, loss: float | None, t0: float, c0: float) -> SeqRecord:
        held_loss, token_acc, exact = evaluate_sequences(model, evaluation)
        full = full_sequences(config.task, example)
        _, maps = model.attention_maps(full[:, :-1])
        return SeqRecord(step, held_loss if loss is None else loss, token_acc, exact, time.perf_counter() - t0,
                         time.thread_time() - c0, maps[0], pattern_share(model, probe),
                         *next_token_lens(model, full[:, :-1], full[:, 1:]))

    yield from train_steps(config, model, batch_loss, record, betas=(0.9, 0.98))
