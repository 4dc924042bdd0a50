"""The 8x8 handwritten digits, shipped with the repo (see README.md beside this file), as patch tokens.

A digit is an 8x8 image. Cut into non-overlapping p x p patches it becomes (8/p)^2 tokens of p*p pixels
each, like a Vision Transformer cuts a photo; the classifier adds a class token in front.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

DIGITS_FILE = Path(__file__).with_name("digits.csv.gz")
IMAGE_SIZE = 8
N_CLASSES = 10
# the sizes of ``digits_split()`` at its defaults, named once for the pages and the estimates (tests/unit/test_data.py
# checks them against the split itself)
DIGITS, TRAIN_IMAGES, VAL_IMAGES = 1797, 1438, 359


@lru_cache(maxsize=1)
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits: images (N, 8, 8) uint8 in 0..16 and labels (N,) int64 in 0..9."""
    with gzip.open(DIGITS_FILE, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)  # (N, 65)
    images = table[:, :-1].astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    images.setflags(write=False)
    labels = table[:, -1].copy()
    labels.setflags(write=False)
    return images, labels


@dataclass(frozen=True)
class DigitsSplit:
    x_train: Tensor  # (N_train, 8, 8) float32 in [0, 1]
    y_train: Tensor  # (N_train,) int64
    x_val: Tensor  # (N_val, 8, 8)
    y_val: Tensor  # (N_val,)
    train_index: np.ndarray  # rows of load_digits() in the training set
    val_index: np.ndarray  # rows of load_digits() in the validation set


@lru_cache(maxsize=4)
def digits_split(val_fraction: float = 0.2, seed: int = 0) -> DigitsSplit:
    """A fixed, seeded, stratified split: the same ``val_fraction`` of every class goes to validation."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}.")
    images, labels = load_digits()
    rng = np.random.default_rng(seed)
    val = []
    for c in range(N_CLASSES):
        rows = np.flatnonzero(labels == c)
        val.extend(rng.permutation(rows)[: round(len(rows) * val_fraction)])
    val_index = np.sort(np.asarray(val))
    train_index = np.setdiff1d(np.arange(len(labels)), val_index)
    x = torch.from_numpy(images.astype(np.float32) / 16.0)  # (N, 8, 8) in [0, 1]
    y = torch.from_numpy(labels.copy())
    return DigitsSplit(x[train_index], y[train_index], x[val_index], y[val_index], train_index, val_index)


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """(N, S, S) images -> (N, (S/p)^2, p*p) patch tokens, patches in reading order (left to right, top down)."""
    n, s, _ = images.shape
    if patch_size < 1 or s % patch_size:
        works = ", ".join(str(p) for p in range(1, s + 1) if s % p == 0)
        raise ValueError(f"patch_size must divide the image size {s}: choose one of {works}, got {patch_size}.")
    g = s // patch_size
    x = images.reshape(n, g, patch_size, g, patch_size)  # (N, rows, p, cols, p)
    x = x.permute(0, 1, 3, 2, 4)  # (N, rows, cols, p, p)
    return x.reshape(n, g * g, patch_size * patch_size)  # (N, n_patches, p*p)
