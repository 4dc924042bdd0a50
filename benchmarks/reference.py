"""Reference models the benchmark measures the package against, written here on purpose without the package.

- ``NaiveViT``: a plain ViT with batched heads written as matmuls, softmax(q k^T / sqrt(d)) v; 2x2 patches,
  d_model 64, 4 heads, 2 layers, MLP 4x (the issue's "naive reference").
- ``TorchViT``: the same architecture from ``torch.nn.TransformerEncoderLayer``.
Both train with AdamW, lr 3e-3, batch 64, on the same split as the app.
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


def train_reference(model: nn.Module, epochs=50, batch=64, lr=3e-3, patch=2, seed=0) -> tuple[float, float]:
    """(seconds, final validation accuracy) of a plain training loop."""
    split = digits_split()
    xt, yt, xv, yv = patchify(split.x_train, patch), split.y_train, patchify(split.x_val, patch), split.y_val
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
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
