"""Streamlit helper for page 3's "Which head makes it say meowed?": the student's sentence and its corrupted twin,
activation patching of every head and of the residual stream, and the reading built from the numbers
(``lab.analyses.causes``)."""
from __future__ import annotations

import streamlit as st

from lab import charts, ui
from lab.analyses import causes
from lab.server.requests import head_name


@st.cache_data(max_entries=8, show_spinner="Patching 200 held-out pairs…")
def _general(config_key: str, _model):
    return causes.held_out_heads(_model)


def _grid(values, rows, cols, title: str, row_title: str, col_title: str) -> dict:
    return ui.figure(charts.heatmap_spec, values, rows, cols, title=title, row_title=row_title, col_title=col_title,
                     value_title="restored", scheme="redblue", domain=(-1.0, 1.0), annotate=True, fmt=".2f",
                     cell=ui.cell(40), max_width=ui.room(360))


def section(model, record, words: list[str]) -> None:
    """Patching on ``words`` (a sentence the trained model reads) and its twin; a message when it has no twin."""
    st.subheader("Which head makes it say meowed?")
    try:
        pair = causes.pair_for(words)
    except ValueError as err:
        st.info(f"Activation patching: {err}", icon=":material/compare_arrows:")
        return
    heads, resid = causes.patched(model, pair)
    st.markdown(f"**The sentence** {ui.md_escape(' '.join(pair.clean))} → *{pair.answer}*  \n"
                f"**Its twin** {ui.md_escape(' '.join(pair.corrupt))} → *{pair.wrong}* ({pair.change})")
    layers, n_heads = heads.shape
    ui.chart(_grid(heads.numpy(), [f"layer {layer}" for layer in range(layers)],
                   [f"head {h}" for h in range(n_heads)], "one head's output taken from the sentence into its twin",
                   "layer", "head"))
    ui.chart(_grid(resid.numpy(), causes.residual_rows(layers), charts.token_labels(pair.clean),
                   "the residual stream at one position taken from the sentence", "", "position"))
    general, n = _general(repr(model.config), model)
    st.markdown(causes.reading(pair, heads, resid, record.shares, general, n))
    st.caption(f"Each cell: the twin run again with that one activation from the sentence's run, and how much of the "
               f"difference between '{pair.answer}' and '{pair.wrong}' (their logits at the last position) comes back: "
               "0 is the twin's own answer, 1 the sentence's; below 0 is further from it, above 1 past it. This is "
               f"activation patching, as researchers find circuits with it; {head_name(0, 0)} means the first head "
               "of the first layer.")
