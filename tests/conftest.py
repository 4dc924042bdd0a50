import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # noqa


@pytest.fixture(autouse=True)
def _double_precision_free():
    """Every test starts from the same global RNG state and float32 default."""
    torch.manual_seed(0)
    yield
