"""What every training in the package is, so that the app trains, queues, estimates and keeps any of them the same
way, without asking which class a configuration is.

A training is a frozen (hashable) config dataclass: the classifier's ``train.TrainConfig``, page 6's
``sequence.SeqConfig``, ``induction.InductionConfig`` and ``language.LanguageConfig`` each satisfy ``Trainable``.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from torch import nn


class Trainable(Protocol):
    @property
    def kind(self) -> str:
        """The kind of training ("transformer", "cnn", "sequence", "induction", "language"): what shares one cost
        per step and per multiply-add on a machine."""

    def build(self) -> nn.Module:
        """A fresh model with its seeded initial weights."""

    def train(self, model: nn.Module) -> Iterator:
        """Train ``model`` (from ``build``), yielding records as it goes; each has ``cpu_seconds``."""

    def optimizer_steps(self) -> int:
        """Optimiser steps of the whole training."""

    def multiply_adds(self) -> float:
        """Multiply-adds of the whole training (forward and backward, about 3x the forward), evaluations included."""

    def progress(self, record) -> float:
        """The share of the training done when ``record`` was made, 0..1."""
