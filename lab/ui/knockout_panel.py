"""Streamlit helper for page 6's knock-outs: remove heads from the trained sequence model and measure what is left
of the task (``lab.analyses.sequence_runs.knockouts`` measures, ``transformer.ablation`` removes)."""
from __future__ import annotations

import streamlit as st

from lab import charts, ui
from lab.analyses import sequence_runs
from lab.server.requests import head_name


def head_picker(label: str, layers: int, heads: int, default, key: str) -> tuple[tuple[int, int], ...]:
    """A multiselect of heads by name ("layer 1, head 0"); returns the chosen (layer, head) pairs."""
    names = [head_name(layer, h) for layer in range(layers) for h in range(heads)]
    chosen = st.multiselect(label, names, default=[head_name(*h) for h in default], key=key)
    return tuple(divmod(names.index(n), heads) for n in chosen)


@st.cache_data(max_entries=16, show_spinner="Knocking each head out in turn…")
def _measured(config_key: str, _model, _config) -> dict:
    return sequence_runs.knockouts(_model, _config)


@st.cache_data(max_entries=64, show_spinner=False)
def _chosen(config_key: str, heads: tuple[tuple[int, int], ...], _model, _config) -> tuple[float, float]:
    return sequence_runs.score_without(_model, _config, heads)


@st.fragment
def section(model, config, chosen_first: list[tuple[int, int]] | None = None) -> None:
    """Which heads the task needs: one bar per head removed, the verdict, and any set of heads to knock out (at
    first ``chosen_first``, or the set that breaks the task). A
    fragment: choosing heads reruns only this section, not the rest of the page."""
    st.subheader("Knock heads out: which heads does the answer need?")
    if model is None:
        st.info("The trained model is not in this session (the run had ended before you opened the page). Press "
                "**Train** to knock its heads out.")
        return
    result = _measured(repr(config), model, config)
    ui.chart(ui.figure(charts.knockout_chart, sequence_runs.knockout_frame(result), intact=result["intact"][0],
                       labels=result["labels"]))
    st.markdown(sequence_runs.knockout_verdict(result))
    heads = head_picker("knock out these heads together (their outputs set to zero)", config.n_layers,
                        config.n_heads, chosen_first or result["breaking"], "seq_knockout")
    chosen = [head_name(*h) for h in heads]
    main, second = _chosen(repr(config), heads, model, config) if heads else result["intact"]
    (intact_main, intact_second), (label, other) = result["intact"], result["labels"]
    st.markdown(f"{label.capitalize()} **{main:.1%}** (intact {intact_main:.1%}), {other} **{second:.1%}** (intact "
                f"{intact_second:.1%}), on every held-out example" + (f", without {', '.join(chosen)}." if chosen
                                                                       else ": nothing removed."))
