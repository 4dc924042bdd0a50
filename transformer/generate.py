"""A decoder that writes: one token at a time, sampled with temperature, top-k and top-p, with or without a KV cache.

Every step runs the model on what it has not read yet and draws the next token from the last position's
distribution. Without a cache that is the whole sequence again, every step (quadratic in the length); with one,
each layer keeps the keys and values of the tokens it has read, and a step runs only the new token through the
blocks, its query attending over the cached keys (linear). Both ways give the same numbers: the cached step is the
same arithmetic on fewer rows. Works with every ``decoder.Decoder`` of the package.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .decoder import Decoder, attend, check_ids, finish_block, split_heads


@dataclass(frozen=True)
class Step:
    token: int  # the token drawn
    probs: Tensor  # (vocab,): the distribution it was drawn from, after temperature, top-k and top-p
    attention: Tensor  # (layers, heads, keys): the attention of the position that predicted it, over every key
    cache_len: int  # keys and values each layer keeps after this step (0 without a cache)
    seconds: float  # wall-clock time of this step's forward pass (the sampling excluded)
    logits: Tensor  # (vocab,): the model's scores before temperature, top-k and top-p


@dataclass(frozen=True)
class Generation:
    tokens: list[int]  # every id, the prompt's first
    steps: list[Step]  # one per new token
    prompt_len: int


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """ValueError, in words a student can act on, for settings that cannot sample."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature >= 0:
        raise ValueError(f"temperature must be a number of 0 or more (0 always takes the likeliest token), got "
                         f"{temperature!r}.")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top-k must be a whole number of 1 or more (1 always takes the likeliest token), got "
                         f"{top_k!r}.")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1):
        raise ValueError(f"top-p must be more than 0 and at most 1 (1 keeps every token), got {top_p!r}.")


def distribution(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None) -> Tensor:
    """(vocab,) the probabilities the next token is drawn from: ``logits`` (vocab,) divided by the temperature
    (0: all on the likeliest token), then only the ``top_k`` likeliest kept, then only the smallest set of the
    likeliest whose probabilities reach ``top_p``, renormalised."""
    check_sampling(temperature, top_k, top_p)
    if temperature == 0:
        return F.one_hot(logits.argmax(), logits.shape[-1]).to(logits.dtype)
    probs = torch.softmax(logits / temperature, -1)
    if top_k is not None and top_k < probs.shape[-1]:
        probs = torch.where(probs >= probs.topk(top_k).values[-1], probs, 0.0)
    if top_p is not None and top_p < 1:
        ranked, order = (probs / probs.sum()).sort(descending=True)
        before = ranked.cumsum(-1) - ranked  # the mass of the likelier tokens
        keep = torch.zeros_like(probs, dtype=torch.bool)
        keep[order] = before < top_p  # a token stays while the set before it has not reached p
        probs = torch.where(keep, probs, 0.0)
    return probs / probs.sum()


@torch.no_grad()
def step(model: Decoder, idx: Tensor, start: int, cache: list[tuple[Tensor, Tensor]] | None
         ) -> tuple[Tensor, Tensor, list[tuple[Tensor, Tensor]]]:
    """Run ``idx`` (1, n), the tokens at positions ``start`` .. ``start + n - 1``, through the model, each layer's
    query attending over ``cache`` (that layer's keys and values of positions 0 .. start - 1) and these tokens.
    Returns (logits of the last position (vocab,), its attention (layers, heads, start + n), the cache grown by n)."""
    x = model.embed(idx, start)  # (1, n, E)
    grown, maps = [], []
    for layer, block in enumerate(model.blocks):
        q, k, v = split_heads(block, x)  # 3 x (1, H, n, d_head)
        if cache is not None:
            k, v = torch.cat([cache[layer][0], k], 2), torch.cat([cache[layer][1], v], 2)  # (1, H, start + n, d_head)
        grown.append((k, v))
        z, weights = attend(block, q, k, v, start)  # (1, H, n, d_head), (1, H, n, start + n)
        x = finish_block(block, x, z)  # (1, n, E)
        maps.append(weights[0, :, -1])  # (H, start + n): the last position's row
    return model.head(model.ln_f(x[0, -1])), torch.stack(maps), grown


def _checked(model: Decoder, prompt_ids: Tensor, max_new: int, temperature: float, top_k: int | None,
             top_p: float | None) -> None:
    check_sampling(temperature, top_k, top_p)
    if isinstance(max_new, bool) or not isinstance(max_new, int) or max_new < 0:
        raise ValueError(f"the number of new tokens must be a whole number of 0 or more, got {max_new!r}.")
    if prompt_ids.dim() != 2 or prompt_ids.shape[1] < 1:
        raise ValueError(f"the prompt must be one sequence of at least one token, shaped (1, T); got "
                         f"{tuple(prompt_ids.shape)}.")
    check_ids(prompt_ids, model.head.out_features, model.context)


def stream(model: Decoder, prompt_ids: Tensor, max_new: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, seed: int = 0, cache: bool = True) -> Iterator[Step]:
    """``generate``'s steps one at a time, each computed when it is asked for (a page can show a token as soon as
    it is drawn). The arguments are checked before the first step, when ``stream`` is called."""
    _checked(model, prompt_ids, max_new, temperature, top_k, top_p)
    if prompt_ids.shape[0] != 1:
        raise ValueError(f"the prompt must be one sequence, shaped (1, T); got {tuple(prompt_ids.shape)}.")
    return _steps(model, prompt_ids[0].tolist(), max_new, temperature, top_k, top_p, seed, cache)


def _steps(model: Decoder, tokens: list[int], max_new: int, temperature: float, top_k: int | None,
           top_p: float | None, seed: int, cache: bool) -> Iterator[Step]:
    model.eval()
    g = torch.Generator().manual_seed(seed)
    kept, made = None, 0
    finished = getattr(model, "finished", None)
    while made < max_new and len(tokens) <= model.context and not (finished and finished(tokens)):
        t0 = time.perf_counter()
        if cache:
            new = tokens[len(tokens) - 1:] if kept is not None else tokens  # the cache holds all but the last
            logits, attention, kept = step(model, torch.tensor([new]), len(tokens) - len(new), kept)
        else:
            logits, attention, _ = step(model, torch.tensor([tokens]), 0, None)
        seconds = time.perf_counter() - t0
        probs = distribution(logits, temperature, top_k, top_p)
        token = int(torch.multinomial(probs, 1, generator=g)) if temperature > 0 else int(probs.argmax())
        tokens = [*tokens, token]
        made += 1
        yield Step(token, probs, attention, len(tokens) - 1 if cache else 0, seconds, logits)


def generate(model: Decoder, prompt_ids: Tensor, max_new: int, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, seed: int = 0, cache: bool = True) -> Generation:
    """Up to ``max_new`` tokens after ``prompt_ids`` (1, T), each drawn from ``distribution`` with a generator of its
    own (seeded by ``seed``; the global RNG is untouched). Stops early when the model reads its whole context, or
    when the model says its text is finished (``model.finished(ids)``, where it has one: the language's sentence
    end). ``cache``: keep each layer's keys and values (one token through the blocks a step) or run the whole
    sequence again every step; the same tokens and probabilities either way."""
    steps = list(stream(model, prompt_ids, max_new, temperature, top_k, top_p, seed, cache))
    return Generation(prompt_ids[0].tolist() + [s.token for s in steps], steps, prompt_ids.shape[1])


@torch.no_grad()
def sample_many(model: Decoder, prompt_ids: Tensor, n: int, temperature: float = 1.0, seed: int = 0
                ) -> list[list[int]]:
    """``n`` texts after the same prompt (1, T), drawn at ``temperature`` all at once: each step runs the ``n``
    sequences as one batch (no cache: the batch is the saving here). Each text ends where ``generate``'s would (the
    context, or where the model says it is finished); the prompt is included. The draws come from a generator of
    its own, so a seed fixes them, but they are not the texts ``generate`` draws one by one with that seed."""
    _checked(model, prompt_ids, 0, temperature, None, None)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of texts must be a whole number of 1 or more, got {n!r}.")
    model.eval()
    g = torch.Generator().manual_seed(seed)
    idx = prompt_ids.expand(n, -1)  # (n, T)
    while idx.shape[1] <= model.context:
        logits = model(idx)[:, -1]  # (n, vocab)
        if temperature == 0:
            nxt = logits.argmax(-1, keepdim=True)  # (n, 1)
        else:
            nxt = torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=g)  # (n, 1)
        idx = torch.cat([idx, nxt], 1)  # (n, T + 1)
    finished = getattr(model, "finished", None)
    texts = []
    for row in idx.tolist():
        end = next((t for t in range(prompt_ids.shape[1], len(row) + 1) if finished and finished(row[:t])), len(row))
        texts.append(row[:end])
    return texts


def multiply_adds(model: Decoder, length: int, cache: bool) -> int:
    """Multiply-adds of one step that predicts the token after ``length`` tokens: per token read, each block's
    projections and MLP (12 d_model^2 with a 4x MLP) and its attention over the keys it may see (2 x keys x
    d_model), and the read-out at the last position (d_model x vocab). With a cache one token is read, over all
    ``length`` keys; without, all ``length`` tokens, the one at position i over i + 1 keys."""
    d, layers = model.tok_embed.embedding_dim, len(model.blocks)
    keys = length if cache else length * (length + 1) // 2  # summed over the tokens read
    read = 1 if cache else length
    return layers * (12 * d * d * read + 2 * keys * d) + d * model.head.out_features
