"""Trained digit classifiers under perturbations they never saw, with no retraining: noise, an occluding square, a
faint second digit, shifts, and a larger canvas. Page 5 tests the claims "transformers ignore irrelevant or noisy
details" and "transformers handle variable-sized inputs, CNNs need a fixed size" with these numbers.

Images are (N, S, S) floats in [0, 1] (ink = 1). Every perturbation takes a ``strength`` whose 0 is the identity and
returns images still in [0, 1], plus the (N, S, S) mask of the pixels it changed (for the attention share).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .analysis import attention_rollout
from .data import patchify
from .model import PatchClassifier, SmallCNN

# strengths page 5 sweeps: 5 each, the first the identity
STRENGTHS = {
    "noise": (0.0, 0.1, 0.2, 0.3, 0.4),  # standard deviation of Gaussian pixel noise (ink is 1)
    "occlusion": (0, 2, 3, 4, 5),  # side of an opaque square, pixels, at a random place
    "distractor": (0.0, 0.2, 0.4, 0.6, 0.8),  # ink of a second digit laid over the first
}
UNITS = {"noise": "σ", "occlusion": "side, px", "distractor": "ink"}  # what each strength measures


def _check(strength: float, low: float, high: float, name: str) -> None:
    if not low <= strength <= high:
        raise ValueError(f"{name} strength must be between {low} and {high}, got {strength}.")


def noise(images: Tensor, sigma: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Gaussian pixel noise of standard deviation ``sigma``, clipped to [0, 1]; every pixel is changed."""
    _check(sigma, 0.0, 1.0, "noise")
    if sigma == 0:
        return images.clone(), torch.zeros_like(images, dtype=torch.bool)
    noisy = (images + sigma * torch.randn(images.shape, generator=generator)).clamp(0.0, 1.0)
    return noisy, torch.ones_like(images, dtype=torch.bool)


def occlude(images: Tensor, side: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """An opaque square of ``side`` pixels (full ink, like a thumb over the digit) at a random place in each image."""
    n, s, _ = images.shape
    _check(side, 0, s, "occlusion")
    side = int(side)
    mask = torch.zeros_like(images, dtype=torch.bool)
    if side:
        tops = torch.randint(0, s - side + 1, (n,), generator=generator)
        lefts = torch.randint(0, s - side + 1, (n,), generator=generator)
        rows = torch.arange(s).view(1, s, 1)  # (1, S, 1)
        cols = torch.arange(s).view(1, 1, s)  # (1, 1, S)
        t, left = tops.view(n, 1, 1), lefts.view(n, 1, 1)
        mask = (rows >= t) & (rows < t + side) & (cols >= left) & (cols < left + side)  # (N, S, S)
    return torch.where(mask, torch.ones_like(images), images), mask


def distract(images: Tensor, ink: float, others: Tensor) -> tuple[Tensor, Tensor]:
    """A second digit (``others``, one per image) laid over each image at ``ink`` of its strength, clipped to
    [0, 1]; the mask marks the pixels where the second digit adds ink."""
    _check(ink, 0.0, 1.0, "distractor")
    if others.shape != images.shape:
        raise ValueError(f"others must have the images' shape {list(images.shape)}, got {list(others.shape)}.")
    mixed = (images + ink * others).clamp(0.0, 1.0)
    return mixed, (mixed - images).abs() > 1e-6


def distractors(labels: Tensor, images: Tensor, generator: torch.Generator) -> Tensor:
    """For each image, another image of a different digit, drawn at random."""
    n = len(labels)
    picks = torch.randint(0, n, (n,), generator=generator)
    for _ in range(20):  # redraw the few that drew their own digit
        same = labels[picks] == labels
        if not same.any():
            break
        picks[same] = torch.randint(0, n, (int(same.sum()),), generator=generator)
    return images[picks]


def perturb(kind: str, images: Tensor, labels: Tensor, strength: float, seed: int) -> tuple[Tensor, Tensor]:
    """(perturbed images, changed-pixel mask) for one kind of perturbation, seeded so both models see the same."""
    g = torch.Generator().manual_seed(seed)
    if kind == "noise":
        return noise(images, float(strength), g)
    if kind == "occlusion":
        return occlude(images, int(strength), g)
    if kind == "distractor":
        return distract(images, float(strength), distractors(labels, images, g))
    raise ValueError(f"kind must be one of {sorted(STRENGTHS)}, got {kind!r}.")


def shift(images: Tensor, dx: int, dy: int) -> Tensor:
    """The images moved ``dx`` pixels right and ``dy`` down (negative: left, up); what moves out is lost and the
    uncovered border is blank."""
    n, s, _ = images.shape
    if max(abs(dx), abs(dy)) >= s:
        raise ValueError(f"a shift must be smaller than the image side {s}, got ({dx}, {dy}).")
    out = torch.zeros_like(images)
    out[:, max(dy, 0): s + min(dy, 0), max(dx, 0): s + min(dx, 0)] = \
        images[:, max(-dy, 0): s - max(dy, 0), max(-dx, 0): s - max(dx, 0)]
    return out


def canvas(images: Tensor, size: int, top: int, left: int) -> Tensor:
    """The (N, S, S) images placed on a blank (N, size, size) canvas with their top-left corner at (top, left)."""
    n, s, _ = images.shape
    if not (0 <= top <= size - s and 0 <= left <= size - s):
        raise ValueError(f"an {s}x{s} image at ({top}, {left}) does not fit a {size}x{size} canvas.")
    out = torch.zeros(n, size, size, dtype=images.dtype)
    out[:, top: top + s, left: left + s] = images
    return out


# ------------------------------------------------------------------ running the trained models at any size
@torch.no_grad()
def cnn_logits(model: SmallCNN, images: Tensor) -> Tensor:
    """The trained CNN on images of any size ≥ 8, with no retraining: its dense read-out (which sees a 4x4 grid of
    pooled features) is used as a 4x4 convolution slid over the larger grid, and each class keeps its best
    position (a fully convolutional read-out). At 8x8 this is exactly the model's own output."""
    model.eval()
    features = model.features[:-1](images.unsqueeze(1))  # (B, 2w, S/2, S/2): everything before the flatten
    channels = features.shape[1]
    kernel = model.head.weight.view(-1, channels, 4, 4)  # (n_classes, 2w, 4, 4): the read-out, position by position
    logits = F.conv2d(features, kernel, model.head.bias)  # (B, n_classes, S/2 - 3, S/2 - 3)
    return logits.flatten(2).amax(-1)  # (B, n_classes): the best position per class


def interpolated_positions(model: PatchClassifier, grid: int) -> Tensor:
    """The model's position table for a ``grid`` x ``grid`` patch grid: the class token's row kept, the patch rows
    (learned on the training grid) interpolated bilinearly, as ViTs do at a new resolution."""
    table = model.pos_embed  # (1, 1 + g*g, E)
    g = int(round((table.shape[1] - 1) ** 0.5))
    if grid == g:
        return table
    patches = table[:, 1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)  # (1, E, g, g)
    resized = F.interpolate(patches, size=(grid, grid), mode="bilinear", align_corners=True)  # (1, E, grid, grid)
    return torch.cat([table[:, :1], resized.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)], dim=1)


@torch.no_grad()
def vit_logits(model: PatchClassifier, images: Tensor, return_maps: bool = False):
    """The trained transformer on images of any side that its patch size divides, with no retraining: more patch
    tokens, and the position table interpolated to the new grid. ``return_maps`` adds every layer's attention."""
    model.eval()
    p = model.config.patch_size
    patches = patchify(images, p)  # (B, P', p*p)
    grid = images.shape[-1] // p
    x = model.patch_embed(patches)  # (B, P', E)
    cls = model.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, E)
    x = torch.cat([cls, x], dim=1) + interpolated_positions(model, grid)  # (B, 1 + P', E)
    maps = []
    for block in model.blocks:
        if return_maps:
            x, w = block(x, return_weights=True)
            maps.append(w)  # (B, n_heads, 1 + P', 1 + P')
        else:
            x = block(x)
    logits = model.head(model.ln_f(x[:, 0]))  # (B, n_classes)
    return (logits, maps) if return_maps else logits


def logits(model, images: Tensor) -> Tensor:
    return cnn_logits(model, images) if isinstance(model, SmallCNN) else vit_logits(model, images)


def accuracy(model, images: Tensor, labels: Tensor) -> float:
    return float((logits(model, images).argmax(-1) == labels).float().mean())


# ------------------------------------------------------------------ where the class token looks
def patch_share(mask: Tensor, patch_size: int) -> Tensor:
    """(N, S, S) pixel mask -> (N, P): the fraction of each patch's pixels the perturbation changed."""
    return patchify(mask.float(), patch_size).mean(-1)


def attention_share(attention: Tensor, changed: Tensor) -> tuple[Tensor, Tensor]:
    """(share of attention on the changed area, share of the area changed), each (N,), for attention (N, P) over
    the patches and ``changed`` (N, P), the fraction of each patch that was perturbed. Attention spread evenly over
    the patches gives the two the same value; below the area share means attention moved away."""
    weights = attention / attention.sum(-1, keepdim=True).clamp_min(1e-12)
    return (weights * changed).sum(-1), changed.mean(-1)


@torch.no_grad()
def rollout_over_patches(model: PatchClassifier, images: Tensor) -> Tensor:
    """(N, P): how much of each input patch reaches the class token through the whole network (attention rollout),
    renormalised over the patches."""
    _, maps = vit_logits(model, images, return_maps=True)
    stacked = torch.stack(maps, dim=1)  # (N, layers, n_heads, T, T)
    rolled = torch.stack([attention_rollout(m)[0, 1:] for m in stacked])  # (N, P): the class token's row
    return rolled / rolled.sum(-1, keepdim=True)


@dataclass(frozen=True)
class Curve:
    """Accuracy of one model under one perturbation at each strength."""

    kind: str
    strengths: tuple[float, ...]
    accuracy: tuple[float, ...]


def curves(model, images: Tensor, labels: Tensor, seed: int) -> list[Curve]:
    """Accuracy at every strength of every perturbation; the perturbations are drawn from ``seed``, so two models
    given the same seed see the same perturbed digits."""
    return [Curve(kind, strengths, tuple(accuracy(model, perturb(kind, images, labels, s, seed + i)[0], labels)
                                         for s in strengths))
            for i, (kind, strengths) in enumerate(STRENGTHS.items())]
