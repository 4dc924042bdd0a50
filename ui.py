"""Small Streamlit helpers shared by the pages (the package stays free of streamlit)."""
from __future__ import annotations

import inspect

import streamlit as st


def show_code(*objects, caption: str = "The package code this page ran, exactly as it is in the repository:") -> None:
    """A "Show the code" expander with the source of each function or class."""
    with st.expander("Show the code"):
        st.caption(caption)
        for obj in objects:
            st.code(inspect.getsource(obj), language="python")


def shape_text(shape) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def set_torch_threads() -> None:
    """One torch thread per computation (LAB_TORCH_THREADS to change it): this app's matrices are small, a second
    thread gains little, and with several sessions at once OpenMP threads spinning for a busy core cost far more.
    Training jobs run side by side instead, one per core (jobs.py)."""
    import os

    import torch

    wanted = int(os.environ.get("LAB_TORCH_THREADS", 1))
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def chart(c, *, stretch: bool = False) -> None:
    """Draw an Altair chart. The chart builders are validated against the Vega-Lite schema in the unit tests,
    so here the spec is handed over without re-validating it (that check costs ~15 ms a chart on every rerun)."""
    st.vega_lite_chart(c.to_dict(validate=False), width="stretch" if stretch else "content")


_MD_SPECIAL = "\\`*_{}[]()<>#+-.!|~$:"


def md_escape(text: str) -> str:
    """User text made inert for st.markdown: every markdown (and HTML) character backslash-escaped."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))
