"""Page 4's "draw a digit": an 8 x 8 canvas tapped cell by cell (a finger on a phone works), read by the trained
classifier: its prediction, its ten probabilities and where its class token looks in the drawing. A fragment, so a
tap reruns only this section. The drawing and the numbers come from ``lab.analyses.drawing`` and
``transformer.analysis.read_image``."""
from __future__ import annotations

import numpy as np
import streamlit as st

from lab import charts, ui
from lab.analyses import drawing

CELLS, VERSION, SAMPLE = "drawing_cells", "drawing_version", "drawing_sample"


def _canvas() -> list[list[float]]:
    return st.session_state.setdefault(CELLS, np.zeros((drawing.SIZE, drawing.SIZE)).tolist())


def _replace(cells) -> None:
    st.session_state[CELLS] = drawing.checked(cells).tolist()
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1  # a fresh canvas: no cell left selected


def _test_image() -> None:
    from transformer.data import digits_split

    images = digits_split().x_val
    st.session_state[SAMPLE] = (st.session_state.get(SAMPLE, -1) + 37) % len(images)  # a different digit each time
    _replace(images[st.session_state[SAMPLE]].numpy())


@st.fragment
def section(model, config) -> None:
    """The canvas and the trained model's reading of it (``model`` trained with ``config``, a transformer)."""
    st.subheader("Draw a digit for your model")
    version = st.session_state.get(VERSION, 0)
    tap = (st.session_state.get(f"canvas_{version}") or {}).get("selection", {}).get("cell") or []
    pen = st.segmented_control("pen", list(drawing.PENS), default="ink", key="drawing_pen") or "ink"
    if tap:  # the tap that ended the last run: ink (or erase) that cell, then offer a fresh canvas
        _replace(drawing.tapped(_canvas(), int(tap[0]["row"]), int(tap[0]["col"]), pen))
        version = st.session_state[VERSION]
    left, right = st.columns([1, 1])
    with left:
        st.altair_chart(charts.drawing_canvas(_canvas()), on_select="rerun", selection_mode="cell",
                        key=f"canvas_{version}", width="content")
        a, b = st.columns(2)
        a.button("Clear", on_click=_replace, args=(np.zeros((drawing.SIZE, drawing.SIZE)),), key="drawing_clear",
                 icon=":material/ink_eraser:", width="stretch")
        b.button("Start from a test image", on_click=_test_image, key="drawing_sample_button",
                 icon=":material/image:", width="stretch")
    st.caption("Tap cells to ink them (the pen above: full ink, half ink or the eraser). Before the model reads it, "
               "the drawing is centred the way the training digits were: its ink's bounding box is moved, whole cells "
               "at a time, to the middle of the grid. (The UCI digits were drawn on 32 × 32, size-normalised, centred "
               "and counted into 8 × 8 blocks of 0-16 ink, which the app divides by 16: each cell here is one block.)")
    if drawing.inked(_canvas()) < drawing.MIN_CELLS:
        right.info(f"Ink at least {drawing.MIN_CELLS} cells and the model will say what it reads: a 1 is a short "
                   "vertical stroke, a 7 a bar and a slant.", icon=":material/draw:")
        return
    _read(model, config, drawing.centred(_canvas()), right)


def _read(model, config, image, right) -> None:
    import torch

    from transformer.analysis import read_image

    got = read_image(model, config, torch.tensor(image, dtype=torch.float32))
    with right:
        ui.chart(charts.probability_bars(got.probs.numpy(), label=None, pred=got.pred))
        st.markdown(drawing.reading(got.probs.tolist(), got.pred))
    top = max(float(got.rollout.max()), float(got.raw.max())) or 1.0
    ui.chart(charts.digit_overlays(image, {"what the model reads (centred)": np.zeros_like(got.raw.numpy()),
                                           "rollout through all layers": got.rollout.numpy(),
                                           "last layer, heads averaged": got.raw.numpy()},
                                   cell=ui.cell(22), columns=3, domain=round(top, 2)))
    st.caption("Each panel is your centred drawing in grey, each patch tinted by the class token's attention to it: "
               "the rollout follows what reaches the class token from each patch through every layer.")
