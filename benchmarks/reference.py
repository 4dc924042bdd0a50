"""Reference models the benchmark measures the package against, written here on purpose without the package.

- ``NaiveViT``: a plain ViT with batched heads written as matmuls, softmax(q k^T / sqrt(d)) v; 2x2 patches,
  d_model 64, 4 heads, 2 layers, MLP 4x (the issue's "naive reference").
- ``TorchViT``: the same architecture from ``torch.nn.TransformerEncoderLayer``.
Both train with AdamW, lr 3e-3, batch 64, on the same split as the app (``TorchViT`` with the package's fused
AdamW and settings, so that the comparison is of the models alone).
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from transformer.data import digits_split, patchify


class NaiveAttention(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        B, T, D = x.shape
        def split(t):
            return t.view(B, T, self.h, D // self.h).transpose(1, 2)  # (B, H, T, d)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D // self.h), dim=-1)  # (B, H, T, T)
        return self.o((a @ v).transpose(1, 2).reshape(B, T, D))


class NaiveBlock(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = NaiveAttention(d, h)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        x = x + self.attn(self.n1(x))
        return x + self.mlp(self.n2(x))


class _ViT(nn.Module):
    def __init__(self, blocks, d=64, patch=2, n_classes=10):
        super().__init__()
        n = (8 // patch) ** 2
        self.embed = nn.Linear(patch * patch, d)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
        self.blocks = blocks
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, n_classes)

    def forward(self, p):
        x = self.embed(p)
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], 1) + self.pos
        x = self.blocks(x)
        return self.head(self.norm(x[:, 0]))


def naive_vit(d=64, h=4, layers=2):
    """The issue's naive reference: 2x2 patches, d_model 64, 4 heads, 2 layers, MLP 4x."""
    return _ViT(nn.Sequential(*(NaiveBlock(d, h) for _ in range(layers))), d, patch=2)


def torch_layer_vit(d=32, h=4, layers=2, mlp=2, patch=4):
    """The package's default architecture, its blocks built from nn.TransformerEncoderLayer instead."""
    def layer():
        return nn.TransformerEncoderLayer(d, h, mlp * d, dropout=0.0, activation="gelu", batch_first=True,
                                          norm_first=True)

    return _ViT(nn.Sequential(*(layer() for _ in range(layers))), d, patch=patch)


def train_reference(model: nn.Module, epochs=50, batch=64, lr=3e-3, patch=2, seed=0,
                    fused: bool = False) -> tuple[float, float]:
    """(seconds, final validation accuracy) of a plain training loop. ``fused``: AdamW's one-kernel update, as the
    package uses (torch's default loops over the parameters in Python)."""
    split = digits_split()
    xt, yt, xv, yv = patchify(split.x_train, patch), split.y_train, patchify(split.x_val, patch), split.y_val
    opt = torch.optim.AdamW(model.parameters(), lr=lr, fused=fused)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(yt), generator=g).split(batch):
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = (model(xv).argmax(-1) == yv).float().mean().item()
    return seconds, acc


# ------------------------------------------------------------------ the sequence tasks: a plain GPT
class NaiveCausalBlock(nn.Module):
    """Pre-norm block, attention written out: scores, a -inf mask above the diagonal, softmax, weighted sum."""

    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        B, T, D = x.shape
        y = self.ln1(x)

        def split(t):
            return t.view(B, T, self.h, D // self.h).transpose(1, 2)  # (B, H, T, d)

        q, k, v = split(self.q(y)), split(self.k(y)), split(self.v(y))
        scores = q @ k.transpose(-2, -1) / math.sqrt(D // self.h)  # (B, H, T, T)
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        z = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)  # (B, T, D)
        x = x + self.o(z)
        return x + self.mlp(self.ln2(x))


class NaiveGPT(nn.Module):
    """A plain 2-layer GPT, d_model 64, 4 heads, learned positions: the reference for the sequence tasks."""

    def __init__(self, length, d=64, h=4, layers=2, vocab=11):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(2 * length, d)
        self.blocks = nn.Sequential(*(NaiveCausalBlock(d, h) for _ in range(layers)))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        return self.head(self.ln(self.blocks(x)))


def naive_time_to(task: str, length: int = 6, target: float = 0.99, eval_every: int = 10, batch: int = 64,
                  lr: float = 1e-3, max_steps: int = 3000, seed: int = 0) -> tuple[float, int]:
    """(seconds, steps) until greedy generation gets ``target`` of the package's held-out prompts right: Adam at a
    constant rate, exact-match measured by generating every answer token by token, every ``eval_every`` steps."""
    from transformer.sequence import SEP, SeqConfig, _codes, full_sequences, held_out, training_batch

    torch.manual_seed(seed)
    config = SeqConfig(task=task, length=length, batch_size=batch, seed=seed)
    model, evaluation = NaiveGPT(length), held_out(config)
    answers = full_sequences(task, evaluation)[:, length + 1:]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    g, exclude = torch.Generator().manual_seed(seed), _codes(evaluation)
    t0 = time.perf_counter()
    for step in range(1, max_steps + 1):
        model.train()
        seq = full_sequences(task, training_batch(config, g, exclude))
        logits = model(seq[:, :-1])[:, length:]
        loss = F.cross_entropy(logits.reshape(-1, 11), seq[:, length + 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % eval_every == 0:
            model.eval()
            with torch.no_grad():
                out = torch.cat([evaluation, torch.full((len(evaluation), 1), SEP)], dim=1)
                for _ in range(length):
                    out = torch.cat([out, model(out)[:, -1].argmax(-1, keepdim=True)], dim=1)
            if (out[:, length + 1:] == answers).all(-1).float().mean().item() >= target:
                return time.perf_counter() - t0, step
    return float("inf"), max_steps


class PlainCNN(nn.Module):
    """The plain CNN of the issue's table: two 3x3 convolutions (8 and 16 channels), a 2x2 max-pool, flatten,
    linear (3.8k parameters). The package's baseline must be at least as accurate at every share of the data."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                                 nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 16, 10))

    def forward(self, images):
        return self.net(images.unsqueeze(1))
