"""Input checks shared by the package: each raises ValueError with a message a student can act on."""
from __future__ import annotations

import numbers


def positive_int(name: str, value) -> int:
    """``value`` as an int, or ValueError if it is not a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}.")
    return int(value)


def training_settings(config, sizes: tuple[str, ...] = ("d_model", "n_heads", "n_layers", "steps", "batch_size")
                      ) -> None:
    """ValueError unless a decoder training's sizes are whole numbers >= 1, its seed a whole number >= 0, its
    learning rate in (0, 1] and its positions flag a bool."""
    for name in sizes:
        positive_int(name, getattr(config, name))
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {config.seed!r}.")
    if not (isinstance(config.lr, (int, float)) and 0 < config.lr <= 1):
        raise ValueError(f"lr (learning rate) must be a number in (0, 1], got {config.lr!r}.")
    if not isinstance(config.positions, bool):
        raise ValueError(f"positions must be True or False, got {config.positions!r}.")


def rank(name: str, tensor, expected: int, layout: str) -> None:
    """ValueError unless ``tensor`` has ``expected`` dimensions (``layout`` names them, e.g. "[B, T, E]")."""
    if tensor.dim() != expected:
        raise ValueError(
            f"{name} must have {expected} dimensions {layout}, got {tensor.dim()} with shape {list(tensor.shape)}."
        )
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty (shape {list(tensor.shape)}); every size must be at least 1.")
    if not tensor.is_floating_point():
        raise ValueError(f"{name} must hold floating-point numbers, got {tensor.dtype}.")


def divisors(n: int, limit: int | None = None) -> list[int]:
    """The whole numbers that divide ``n`` (up to ``limit``), smallest first."""
    top = n if limit is None else min(n, limit)
    return [h for h in range(1, top + 1) if n % h == 0]
