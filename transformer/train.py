"""Coursework Q3.2: train the patch classifier on the digits, one record per finished epoch.

``train_classifier(config)`` is an iterator: a page can draw each epoch as it arrives, stop early, or keep
what it already has. The same config (seed included) gives identical records every time.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F

from ._checks import positive_int
from ._schedule import cosine_lr
from ._seed import seeded
from .data import TRAIN_IMAGES, VAL_IMAGES, digits_split, patchify
from .model import ModelConfig, PatchClassifier, SmallCNN

Classifier = PatchClassifier | SmallCNN  # what config.model builds: the transformer or the CNN baseline
SCHEDULES = ("constant", "cosine")
MODELS = ("transformer", "cnn")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. The defaults are the app's default setting."""

    epochs: int = 50
    seed: int = 0
    lr: float = 5e-3
    batch_size: int = 128
    schedule: str = "constant"  # "constant", or "cosine": decays to 0 over the run
    weight_decay: float = 0.0
    # the model's own settings: their defaults live in ModelConfig, once (nanoGPT's one-config rule)
    d_model: int = ModelConfig.d_model
    n_heads: int = ModelConfig.n_heads
    n_layers: int = ModelConfig.n_layers
    patch_size: int = ModelConfig.patch_size  # 4x4 patches: 4 patch tokens + 1 class token = 5 tokens
    mlp_ratio: int = ModelConfig.mlp_ratio
    train_fraction: float = 1.0  # use only this share of the training set (to show overfitting)
    fused: bool = ModelConfig.fused  # fused scaled_dot_product_attention; False runs the explicit einsum path
    model: str = "transformer"  # or "cnn": the SmallCNN baseline, same data, optimiser and schedule

    def __post_init__(self):
        positive_int("epochs", self.epochs)
        positive_int("batch_size", self.batch_size)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed!r}.")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr <= 1):
            raise ValueError(f"lr (learning rate) must be a number in (0, 1], got {self.lr!r}.")
        if not (isinstance(self.weight_decay, (int, float)) and 0 <= self.weight_decay <= 1):
            raise ValueError(f"weight_decay must be in [0, 1], got {self.weight_decay!r}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}.")
        if not (isinstance(self.train_fraction, (int, float)) and 0 < self.train_fraction <= 1):
            raise ValueError(f"train_fraction must be in (0, 1], got {self.train_fraction!r}.")
        if self.model not in MODELS:
            raise ValueError(f"model must be 'transformer' or 'cnn', got {self.model!r}.")
        self.model_config()  # raises ValueError for sizes that cannot work (heads, patches)

    def model_config(self) -> ModelConfig:
        return ModelConfig(patch_size=self.patch_size, d_model=self.d_model, n_heads=self.n_heads,
                           n_layers=self.n_layers, mlp_ratio=self.mlp_ratio, fused=self.fused)

    def replace(self, **changes) -> TrainConfig:
        return TrainConfig(**{**asdict(self), **changes})

    # ---- the training protocol (``protocol.Trainable``)
    @property
    def kind(self) -> str:
        return self.model  # the transformer and the CNN cost differently per multiply-add

    def build(self) -> Classifier:
        return build_model(self)

    def train(self, model: Classifier | None = None) -> Iterator[EpochRecord]:
        return train_classifier(self, model)

    def training_images(self) -> int:
        """The training images used: ``train_fraction`` of them, at least 10."""
        return max(10, round(TRAIN_IMAGES * self.train_fraction))

    def optimizer_steps(self) -> int:
        return self.epochs * math.ceil(self.training_images() / self.batch_size)

    def multiply_adds(self) -> float:
        """Multiply-adds of the whole training: forward and backward (about 3x the forward) over every training
        image of every epoch, and a forward over the validation images after each."""
        if self.model == "cnn":
            per_image = SmallCNN.multiply_adds()  # the two convolutions and the read-out
        else:
            t, d = (8 // self.patch_size) ** 2 + 1, self.d_model  # patch tokens and the class token
            blocks = self.n_layers * ((4 + 2 * self.mlp_ratio) * d * d + 2 * t * d)  # per token
            per_image = t * (blocks + d * self.patch_size**2)
        return float(self.epochs * (3 * self.training_images() + VAL_IMAGES) * per_image)

    def progress(self, record: EpochRecord) -> float:
        return record.epoch / max(1, self.epochs)


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based
    train_loss: float  # mean cross-entropy over the epoch's batches
    train_acc: float  # share of training images classified right during the epoch, 0..1
    val_loss: float  # cross-entropy on the validation set after the epoch
    val_acc: float  # 0..1
    lr: float  # learning rate used in this epoch's last step
    seconds: float  # wall-clock time since training started (not part of the deterministic result)
    cpu_seconds: float  # CPU time this training's thread has used: other work on the machine does not add to it

    def as_dict(self) -> dict:
        return dict(vars(self))  # flat fields: a shallow copy is the whole record


RECORD_FIELDS = tuple(f.name for f in fields(EpochRecord))


def lr_at(config: TrainConfig, step: int, total_steps: int) -> float:
    """Learning rate at optimiser step ``step`` (0-based) of ``total_steps``."""
    return config.lr if config.schedule == "constant" else cosine_lr(config.lr, step, total_steps)


def build_model(config: TrainConfig) -> Classifier:
    """The classifier with its seeded initial weights (safe to call from several threads at once)."""
    with seeded(config.seed):
        return SmallCNN() if config.model == "cnn" else PatchClassifier(config.model_config())


def training_data(config: TrainConfig):
    """(train inputs, train labels, val inputs, val labels) for the config: patch tokens for the transformer,
    whole 8x8 images for the CNN."""
    split = digits_split()
    x_train, y_train = split.x_train, split.y_train
    if config.train_fraction < 1:
        g = torch.Generator().manual_seed(config.seed)
        keep = torch.randperm(len(y_train), generator=g)[: config.training_images()]
        x_train, y_train = x_train[keep], y_train[keep]
    if config.model == "cnn":
        return x_train, y_train, split.x_val, split.y_val
    return patchify(x_train, config.patch_size), y_train, patchify(split.x_val, config.patch_size), split.y_val


@torch.no_grad()
def evaluate(model: Classifier, inputs: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy 0..1) of ``model`` on the given inputs (patch tokens, or images for the CNN)."""
    model.eval()
    logits = model(inputs)
    loss = F.cross_entropy(logits, labels).item()
    acc = (logits.argmax(-1) == labels).float().mean().item()
    return loss, acc


def train_classifier(config: TrainConfig = TrainConfig(), model: Classifier | None = None) -> Iterator[EpochRecord]:
    """Train and yield one EpochRecord after every epoch. Pass ``model`` to keep a handle on the weights."""
    model = build_model(config) if model is None else model
    x_train, y_train, x_val, y_val = training_data(config)
    # fused: one kernel updates every parameter, where torch's default loops over them in Python (about ten small
    # operations each): less time per training, the more so with two at once (benchmarks/RESULTS.md, "fused AdamW").
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    g = torch.Generator().manual_seed(config.seed)
    n = len(y_train)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    step, t0, c0 = 0, time.perf_counter(), time.thread_time()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=g)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, config.batch_size):
            idx = order[i : i + config.batch_size]
            lr = lr_at(config, step, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            logits = model(x_train[idx])  # (b, n_classes)
            loss = F.cross_entropy(logits, y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(-1) == y_train[idx]).sum().item()
            step += 1
        val_loss, val_acc = evaluate(model, x_val, y_val)
        yield EpochRecord(epoch, loss_sum / n, correct / n, val_loss, val_acc, lr, time.perf_counter() - t0,
                          time.thread_time() - c0)
