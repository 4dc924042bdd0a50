import numpy as np
import pytest
import torch

from transformer.data import DIGITS, TRAIN_IMAGES, VAL_IMAGES, digits_split, load_digits, patchify


def test_the_shipped_digits():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.min() == 0 and images.max() == 16
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_split_is_fixed_stratified_and_disjoint():
    s = digits_split()
    assert len(s.y_train) + len(s.y_val) == 1797
    assert len(s.y_val) == VAL_IMAGES and len(s.y_train) == TRAIN_IMAGES and len(load_digits()[1]) == DIGITS
    assert not set(s.train_index) & set(s.val_index)
    counts = torch.bincount(s.y_val, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37  # 20 % of every class
    again = digits_split.__wrapped__()  # recomputed, not the cached object
    assert np.array_equal(again.val_index, s.val_index)
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0


def test_patchify_reading_order():
    img = torch.arange(64.0).reshape(1, 8, 8)
    p = patchify(img, 4)
    assert p.shape == (1, 4, 16)
    assert p[0, 0].tolist() == [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]  # top-left patch
    assert p[0, 1, 0] == 4 and p[0, 2, 0] == 32  # top-right, then bottom-left
    assert patchify(img, 2).shape == (1, 16, 4)
    assert patchify(img, 8).shape == (1, 1, 64)
    with pytest.raises(ValueError, match="patch_size must divide"):
        patchify(img, 3)
