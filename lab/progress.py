"""Streamlit helper for the pages that train: which request the page shows, and its progress while it trains.

A request is what one press of Train asks for (``runs.TrainingRequest``, ``seqruns.SeqRequest``). ``shown``
keeps it for the session, brings it back on a reload (the link carries ``run=1``) and marks results that come from
earlier settings. ``watch`` trains it through the server's shared jobs (``jobs.REGISTRY``): progress bars in the
sidebar, always in view, and a light live chart; the finished snapshot and models are kept for the session.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import streamlit as st

from lab import ui
from lab.jobs import REGISTRY
from lab.links import Link
from lab.runs import Progress, follow

REDRAW_SECONDS = 1.0  # the live chart is redrawn at most this often per session watching the run


def shown(key: str, form_request, submitted: bool, link: Link, error: str | None = None):
    """The request this session shows (None before the first press of Train). ``form_request`` is what the form
    now asks for (None with ``error`` when its settings cannot train)."""
    if submitted and error:
        st.error(f"These settings cannot train: {error}", icon=":material/error:")
    if submitted and form_request is not None:
        st.session_state[key] = form_request
    elif key not in st.session_state and link["run"] and form_request is not None:
        st.session_state[key] = form_request  # a reload, or a link to a run: show that run again
    request = st.session_state.get(key)
    link.publish(run=request is not None and request == form_request)
    if request is not None and request != form_request:
        what = request.differences(form_request) if form_request is not None else ["settings that cannot train"]
        st.warning("The results below come from earlier settings, not the ones shown above (" + "; ".join(what)
                   + "). Press **Train** to run the settings above.", icon=":material/history:")
    return request


def watch(key: str, request, live_chart: Callable[[Progress], dict], note: str = "") -> tuple[Progress, dict]:
    """Train ``request`` (or join the identical one already training) and show its progress until it ends.
    Returns the final snapshot and the trained models by configuration. ``live_chart`` gives the spec of the live
    chart for a snapshot; ``note`` is a caption under it."""
    box = st.sidebar.container(border=True)  # in view wherever the page is scrolled
    box.markdown("**Training progress**")
    bars: dict[str, tuple] = {}  # label -> (placeholder, text drawn): a bar is sent only when it changes

    def draw_bars(snap: Progress, waiting: bool = False) -> None:
        for bar in snap.bars:
            text = bar.text + (" (waiting for a free core…)" if waiting and not bar.done else "")
            place, drawn = bars.get(bar.label, (None, None))
            if text != drawn:
                place = place or box.empty()
                place.progress(bar.done / bar.total, text=text)
                bars[bar.label] = (place, text)

    live_box, note_box = st.empty(), st.empty()
    kept = st.session_state.get(key)
    if kept is not None and kept[0] == request:
        snap, models = kept[1], kept[2]  # this session already has the finished result
    else:
        session = st.session_state.setdefault("session_id", uuid.uuid4().hex)
        drawn_at, drawn_rows = time.monotonic(), -1
        for snap in follow(request, REGISTRY, session, pace=0.5):
            draw_bars(snap, waiting=snap.queued)
            rows = len(snap.live_records)
            # the more sessions watch, the less often each redraws: drawing, not training, would fill the cores
            if rows and rows != drawn_rows and time.monotonic() - drawn_at > REDRAW_SECONDS * snap.watchers:
                ui.chart(live_chart(snap), into=live_box)
                if note and drawn_rows < 0:
                    note_box.caption(note)
                drawn_at, drawn_rows = time.monotonic(), rows
        models = {c: job.model for c in request.trainings() if (job := REGISTRY.get(c)) is not None}
        st.session_state[key] = (request, snap, models)
    draw_bars(snap)
    box.caption(f"done: {len(snap.bars)} runs finished")
    live_box.empty()
    note_box.empty()
    if snap.error:
        st.error(f"Training stopped with an error: {snap.error}. Try a smaller learning rate or model, or press "
                 "Train again.")
        st.stop()
    return snap, models
