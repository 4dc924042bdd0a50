"""A transformer block and a small patch classifier (a Vision Transformer for 8x8 digits).

The attention inside is this package's own ``multi_head_attention`` (the explicit einsum path, which
also hands back the attention maps). ``fused=True`` switches the same weights to PyTorch's fused
``F.scaled_dot_product_attention`` for speed; the tests check that both paths give the same numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import positive_int
from .multihead import check_heads, multi_head_attention


@dataclass(frozen=True)
class ModelConfig:
    image_size: int = 8
    patch_size: int = 4  # 4x4 patches -> 4 patch tokens + 1 class token
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    mlp_ratio: int = 2  # hidden width of each MLP = mlp_ratio * d_model
    n_classes: int = 10
    fused: bool = True  # F.scaled_dot_product_attention instead of the explicit einsum path

    def __post_init__(self):
        for name in ("image_size", "patch_size", "d_model", "n_heads", "n_layers", "mlp_ratio", "n_classes"):
            positive_int(name, getattr(self, name))
        if self.image_size % self.patch_size:
            raise ValueError(
                f"patch_size {self.patch_size} does not divide the {self.image_size}x{self.image_size} image; "
                f"choose one of {[p for p in range(1, self.image_size + 1) if self.image_size % p == 0]}."
            )
        check_heads(self.d_model, self.n_heads)

    @property
    def n_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class SelfAttention(nn.Module):
    """Multi-head self-attention with W_Q, W_K, W_V [E, E] (applied as x @ W) and an output projection."""

    def __init__(self, d_model: int, n_heads: int, fused: bool = True):
        super().__init__()
        self.n_heads, self.fused = n_heads, fused
        self.w_qkv = nn.Parameter(torch.empty(d_model, 3 * d_model))  # [W_Q | W_K | W_V], each (E, E)
        nn.init.normal_(self.w_qkv, std=1 / math.sqrt(d_model))
        self.proj = nn.Linear(d_model, d_model)
        self.head_mask: Tensor | None = None  # (n_heads,): 1 keeps a head's output, 0 removes it (ablation.py)

    def forward(self, x: Tensor, return_weights: bool = False, causal: bool = False):
        """``causal``: each token attends only to itself and earlier tokens (a decoder, as in a GPT)."""
        B, T, E = x.shape
        if self.fused and not return_weights:
            qkv = x @ self.w_qkv  # (B, T, 3E): one matmul for all three projections
            qkv = qkv.view(B, T, 3, self.n_heads, E // self.n_heads)  # (B, T, 3, n_heads, d_head)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, n_heads, T, d_head)
            z = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, n_heads, T, d_head)
            if self.head_mask is not None:
                z = z * self.head_mask.view(1, -1, 1, 1)  # removed heads write zeros
            z = z.transpose(1, 2).reshape(B, T, E)  # (B, T, E)
            weights = None
        else:
            w_q, w_k, w_v = self.w_qkv.chunk(3, dim=1)  # each (E, E)
            steps = multi_head_attention(x, w_q, w_k, w_v, self.n_heads, causal=causal)
            z, weights = steps.zis, steps.attmat_mh  # (B, T, E), (B, n_heads, T, T)
            if self.head_mask is not None:
                z = (steps.zis_mh * self.head_mask.view(1, 1, -1, 1)).reshape(B, T, E)  # (B, T, n_heads, d_head)
        out = self.proj(z)
        return (out, weights) if return_weights else out


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + MLP(norm(x)). The digit classifier runs it with
    every token seeing every other; the sequence model (sequence.py) runs the same block with ``causal=True``."""

    def __init__(self, d_model: int, n_heads: int, mlp_ratio: int = 2, fused: bool = True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, fused)
        self.ln_2 = nn.LayerNorm(d_model)
        hidden = mlp_ratio * d_model
        self.mlp = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, d_model))

    def forward(self, x: Tensor, return_weights: bool = False, causal: bool = False):
        a, weights = self.attn(self.ln_1(x), return_weights=True, causal=causal) if return_weights else (
            self.attn(self.ln_1(x), causal=causal), None)
        x = x + a  # (B, T, E)
        x = x + self.mlp(self.ln_2(x))  # (B, T, E)
        return (x, weights) if return_weights else x


class PatchClassifier(nn.Module):
    """Image -> patch tokens -> class token + positions -> blocks -> class token's vector -> 10 logits."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        self.patch_embed = nn.Linear(c.patch_size**2, c.d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.pos_embed = nn.Parameter(torch.randn(1, c.n_patches + 1, c.d_model) * 0.02)
        self.blocks = nn.ModuleList(Block(c.d_model, c.n_heads, c.mlp_ratio, c.fused) for _ in range(c.n_layers))
        self.ln_f = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.n_classes)

    def set_fused(self, fused: bool) -> None:
        for block in self.blocks:
            block.attn.fused = fused

    def tokens(self, patches: Tensor) -> Tensor:
        """(B, n_patches, p*p) -> (B, 1 + n_patches, d_model): class token first, positions added."""
        x = self.patch_embed(patches)  # (B, P, E)
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, E)
        return torch.cat([cls, x], dim=1) + self.pos_embed  # (B, 1 + P, E)

    def forward(self, patches: Tensor) -> Tensor:
        x = self.tokens(patches)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x[:, 0]))  # (B, n_classes), read from the class token

    @torch.no_grad()
    def attention_maps(self, patches: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Logits and every layer's attention weights [(B, n_heads, T, T), ...], through the explicit path."""
        x = self.tokens(patches)
        maps = []
        for block in self.blocks:
            x, w = block(x, return_weights=True)
            maps.append(w)
        return self.head(self.ln_f(x[:, 0])), maps


class SmallCNN(nn.Module):
    """The CNN baseline for the transformer-vs-CNN comparison: two 3x3 convolutions (with batch normalisation)
    keep the 8x8 layout, a 2x2 max-pool halves it, and a linear read-out sees every position. No global average
    pooling: that would throw away where a stroke is, the very thing a CNN is good at. About half the default
    transformer's parameters; chosen by measurement to beat a plain CNN (convolutions, then global average pooling)
    at every share of the data."""

    def __init__(self, n_classes: int = 10, width: int = 16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),  # (B, w, 8, 8)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),  # (B, 2w, 8, 8)
            nn.MaxPool2d(2), nn.Flatten(),  # (B, 2w * 4 * 4): the layout kept, position by position
        )
        self.head = nn.Linear(2 * width * 16, n_classes)

    @staticmethod
    def multiply_adds(n_classes: int = 10, width: int = 16, image: int = 8) -> int:
        """Multiply-adds of one forward pass on one image, for the layers ``__init__`` builds with these arguments:
        each 3x3 convolution at every pixel of the kept layout, then the read-out."""
        convs = 9 * (1 * width + width * 2 * width) * image * image
        return convs + 2 * width * (image // 2) ** 2 * n_classes

    def forward(self, images: Tensor) -> Tensor:
        """(B, 8, 8) images -> (B, n_classes) logits."""
        return self.head(self.features(images.unsqueeze(1)))  # (B, 1, 8, 8) in


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
