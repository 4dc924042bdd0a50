"""One lock for the one global random generator that ``nn.Module`` initialisers draw from.

Every model the package builds is initialised inside ``seeded(seed)``: the global generator is set to the seed,
used, and put back, with this single lock held, so a digit classifier and a sequence model built at the same
moment on two threads (the app's queue trains them side by side) cannot draw from each other's stream.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

SEED_LOCK = threading.Lock()


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with the global generator at ``seed``, one block at a time across threads, then restore it."""
    with SEED_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
