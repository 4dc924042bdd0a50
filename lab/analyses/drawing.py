"""A digit a student draws on page 4's 8 x 8 canvas, made ready for the classifier the way the training digits were
made, and read in words. No streamlit here.

The training digits (UCI) were drawn on a 32 x 32 grid, size-normalised and centred, then each 4 x 4 block's ink
counted (0..16), which the app divides by 16. On the canvas every cell is already one such block, so the drawing
only needs centring: its ink's bounding box is moved, whole cells at a time, to the middle of the grid.
"""
from __future__ import annotations

import numpy as np

SIZE = 8
PENS = {"ink": 1.0, "half ink": 0.5, "eraser": 0.0}  # what a tap writes into a cell
MIN_CELLS = 3  # fewer inked cells than this is not yet a digit


def checked(cells) -> np.ndarray:
    """The canvas as an (8, 8) float array; ValueError, in words, for any other shape or a value outside [0, 1]."""
    array = np.asarray(cells, dtype=float)
    if array.shape != (SIZE, SIZE):
        raise ValueError(f"a drawing is {SIZE} x {SIZE} cells, got {list(array.shape)}.")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise ValueError("each cell of a drawing holds ink between 0 and 1.")
    return array


def inked(cells) -> int:
    return int((checked(cells) > 0).sum())


def centred(cells) -> np.ndarray:
    """The drawing with its ink's bounding box moved (by whole cells) to the middle of the grid."""
    array = checked(cells)
    rows, cols = np.nonzero(array)
    if not len(rows):
        return array
    dr = (SIZE - 1 - rows.max() - rows.min()) // 2  # shift that centres the box (rounded towards the top left)
    dc = (SIZE - 1 - cols.max() - cols.min()) // 2
    out = np.zeros_like(array)
    out[rows + dr, cols + dc] = array[rows, cols]
    return out


def tapped(cells, row: int, col: int, pen: str) -> list[list[float]]:
    """The canvas after a tap on (row, col) with ``pen``; the same canvas for a tap outside it."""
    array = checked(cells).copy()
    if 0 <= row < SIZE and 0 <= col < SIZE:
        array[row, col] = PENS[pen]
    return array.tolist()


def reading(probs, pred: int) -> str:
    """What the model reads the drawing as, and how sure it is, from its probabilities."""
    probs = np.asarray(probs, dtype=float)
    order = np.argsort(-probs)
    second = int(order[1])
    sure = ("sure" if probs[pred] >= 0.9 else "fairly sure" if probs[pred] >= 0.6 else "unsure")
    return (f"The model reads your drawing as **{pred}** ({probs[pred]:.1%}; {sure}). Its second guess is {second} "
            f"({probs[second]:.1%}).")
