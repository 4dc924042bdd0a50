"""Streamlit helper for the pages that train: which request the page shows, and its progress while it trains.

A request is what one press of Train asks for (``classifier_runs.TrainingRequest``, ``sequence_runs.SeqRequest``,
``study.StudyRequest``, ``learned_heads.LanguageRequest``; see ``lab.server.requests``). ``shown``
keeps it for the session, brings it back on a reload (the link carries ``run=1``) and marks results that come from
earlier settings. ``watch`` trains it through the server's shared jobs (``jobs.REGISTRY``): progress bars in the
sidebar, always in view, and a light live chart; the finished snapshot and models are kept for the session.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import streamlit as st

from lab import charts, ui
from lab.analyses.takeaway import run_name
from lab.server import runtime
from lab.server.jobs import REGISTRY
from lab.server.requests import Progress, bound, follow, head_frame
from lab.ui.links import Link

REDRAW_SECONDS = 1.0  # the live chart is redrawn at most this often per session watching the run


def session_id() -> str:
    session = st.session_state.setdefault("session_id", uuid.uuid4().hex)
    runtime.seen(session)
    return session


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def over_bound(form_request) -> str | None:
    """Why this request may not start on this server (too long for a shared one), or None; and its estimate shown
    next to Train. Only what the request would add counts: trainings this server has finished, is running or has
    queued are shared, so a request for them is served or joined, never refused."""
    if form_request is None:
        return None
    b = bound(form_request, REGISTRY, runtime.shared(), runtime.max_train_seconds())
    if not b.new:
        st.caption("Already trained (or training) on this server: pressing Train shows it at once"
                   + (", nothing trains again." if b.total > 1 else "."))
    else:
        done = "" if b.new == b.total else f" ({b.total - b.new} of its {b.total} trainings are already done here)"
        st.caption(f"Estimated training time: about {b.seconds:.0f} s of this server's cores, if nobody else is "
                   f"training{done}.")
    return b.refusal


def fragment_run() -> bool:
    """True when this run reruns only a fragment (a control inside it changed), not the whole page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def shown(key: str, form_request, submitted: bool, link: Link, error: str | None = None):
    """The request this session shows (None before the first press of Train). ``form_request`` is what the form
    now asks for (None with ``error`` when its settings cannot train). A press of Train replaces this session's
    earlier request: whatever of it was still waiting or training for this session alone is cancelled."""
    session = session_id()
    if submitted and error:
        st.error(f"These settings cannot train: {error}", icon=":material/error:")
    refusal = over_bound(form_request)
    if submitted and refusal:
        st.error(refusal, icon=":material/timer_off:")
    elif submitted and form_request is not None:
        old = st.session_state.get(key)
        if old is not None and old != form_request:
            REGISTRY.cancel(session, [c for c in old.trainings() if c not in form_request.trainings()])
        st.session_state[key] = form_request
        if fragment_run():  # Train pressed in a form drawn as a fragment: the whole page now shows the request
            link.publish(run=True)
            st.rerun(scope="app")
    elif key not in st.session_state and link["run"] and form_request is not None:
        st.session_state[key] = form_request  # a reload, or a link to a run: show that run again
    request = st.session_state.get(key)
    link.publish(run=request is not None and request == form_request)
    if request is not None and request != form_request:
        what = request.differences(form_request) if form_request is not None else ["settings that cannot train"]
        st.warning("The results below come from earlier settings, not the ones shown above (" + "; ".join(what)
                   + "). Press **Train** to run the settings above.", icon=":material/history:")
    return request


def watch(key: str, request, live_chart: Callable[[Progress], dict], note: str = "",
          request_key: str | None = None) -> tuple[Progress, dict]:
    """Train ``request`` (or join the identical one already training) and show its progress until it ends.
    Returns the final snapshot and the trained models by configuration. ``live_chart`` gives the spec of the live
    chart for a snapshot; ``note`` is a caption under it. A Cancel button stops this session's part of the request
    and shows its last finished result again (``request_key``: where ``shown`` keeps the request)."""
    box = st.sidebar.container(border=True)  # in view wherever the page is scrolled
    box.markdown("**Training progress**")
    kept = st.session_state.get(key)

    def cancel():
        REGISTRY.cancel(session_id(), request.trainings())
        if request_key:
            # back to the last finished result (nothing is lost), or to none: None, not absent, so that the link's
            # run=1 does not start the cancelled request again
            st.session_state[request_key] = kept[0] if kept is not None else None

    bars: dict[str, tuple] = {}  # label -> (placeholder, text drawn): a bar is sent only when it changes

    def draw_bars(snap: Progress, waiting: bool = False) -> None:
        line = ""
        if waiting and snap.place:
            n, wait = snap.place
            shown_wait = wait if wait < 10 else 5 * round(wait / 5)  # coarse steps: fewer updates to send
            line = f" ({ordinal(n)} in line, about {shown_wait:.0f} s)" if wait >= 1 else " (starting…)"
        for bar in snap.bars:
            text = bar.text + (line if waiting and not bar.done else "")
            place, drawn = bars.get(bar.label, (None, None))
            if text != drawn:
                place = place or box.empty()
                place.progress(bar.done / bar.total, text=text)
                bars[bar.label] = (place, text)

    live_box, note_box = st.empty(), st.empty()
    if kept is not None and kept[0] == request:
        snap, models = kept[1], kept[2]  # this session already has the finished result
    else:
        session = session_id()
        cancel_box = box.empty()
        cancel_box.button("Cancel", on_click=cancel, key=f"cancel_{key}", icon=":material/cancel:",
                          help="Stop this training (for you; it goes on if others are watching it too).")
        drawn_at, drawn_rows = time.monotonic(), -1
        for snap in follow(request, REGISTRY, session, pace=0.5):
            draw_bars(snap, waiting=snap.queued)
            rows = len(snap.live_records)
            # the more sessions watch (or use the server), the less often each redraws: drawing, not training,
            # would otherwise fill the cores
            every = REDRAW_SECONDS * max(snap.watchers, runtime.active_sessions() / 3)
            if rows and rows != drawn_rows and time.monotonic() - drawn_at > every:
                ui.chart(live_chart(snap), into=live_box)
                if note and drawn_rows < 0:
                    note_box.caption(note)
                drawn_at, drawn_rows = time.monotonic(), rows
        cancel_box.empty()
        models = {c: job.model for c in request.trainings() if (job := REGISTRY.get(c)) is not None}
        if snap.error:
            st.error(f"Training stopped: {snap.error}. Press **Train** to start it again"
                     + (", or try a smaller learning rate or model." if "cancelled" not in snap.error else "."))
            st.stop()
        st.session_state[key] = (request, snap, models)
    draw_bars(snap)
    box.caption(f"done: {snap.trainings_done} of {snap.trainings} trainings finished")
    live_box.empty()
    note_box.empty()
    return snap, models


def attention_over_training(records: list, labels: list[str], what: str, name: str, cell: int = 18,
                            lens_names=None, lens_what: str = "") -> None:
    """Every layer and head at every record, scrubbed in the browser (a Vega-Lite slider: no rerun), with its
    exports. ``records`` carry ``attention`` (layers, heads, T, T) and ``step``. With ``lens_names`` (each token id's
    name), the records' logit lens is drawn under the grid, following the same slider, with its reading."""
    import numpy as np

    from lab.analyses import causes

    lens = None
    if lens_names is not None and records and records[-1].lens is not None:
        right = np.stack([r.lens.numpy() for r in records])  # (records, layers + 1, T)
        top = np.vectorize(lambda i: lens_names[int(i)])(np.stack([r.lens_top.numpy() for r in records]))
        lens = {"right": right, "top": top, "row_labels": causes.lens_rows(right.shape[1] - 1),
                "col_labels": labels[:right.shape[2]], "what": lens_what, "width": ui.room(330)}
    grid = ui.figure(charts.attention_over_training, np.stack([r.attention.numpy() for r in records]),
                     [r.step for r in records], labels, labels, cell=ui.cell(cell), max_width=ui.room(), what=what,
                     lens=lens)
    ui.chart(grid)
    ui.exports(grid, name)
    if lens is not None:
        st.markdown("**The logit lens, under the grid:** " + causes.lens_sentence(records[-1].lens, records[-1].step))
        st.caption("The lens reads the residual stream out through the model's own final norm and head, as if the "
                   "blocks after it were not there: the embedding alone, then after each block; its last row is the "
                   "model's output. A cell is the probability of the right next token; hover for the token that "
                   "read-out likes best. It follows the same slider as the grid.")


def head_shares(records: list, share_of: Callable, chance: float, what: str) -> None:
    """Under its heading, each head's measured share of attention on ``what`` at every record (``share_of(record)``:
    (layers, heads)), against the level attention spread evenly gives (``chance``)."""
    st.subheader("What each head does, in numbers")
    ui.chart(ui.figure(charts.head_share_chart, head_frame(records, share_of), chance=chance, what=what))


def train_page6(request, status, frame: Callable, records: str, what: str, metrics: dict | None = None):
    """Page 6's training of ``request`` (any task): the status line while it trains, ``watch`` with a live chart of
    the run in progress, then (snapshot, models, the finished runs' curves). ``frame(records, run name)`` gives a
    run's curves; ``records`` names the snapshot's field holding the requested model's records."""
    import pandas as pd

    config = request.config
    status.info("Training: the progress bars are in the sidebar, the curves appear below as they come.",
                icon=":material/hourglass_top:")
    snap, models = watch("seq_result", request, request_key="seq_request", live_chart=lambda s: ui.figure(
        charts.sequence_curves, frame(getattr(s, records) if s.live == config else s.other, run_name(s.live)),
        title=f"Training: held-out {what}", metrics=metrics))
    status.empty()
    runs = [frame(recs, run_name(c)) for c, recs in ((config, getattr(snap, records)), (request.other, snap.other))
            if recs]
    return snap, models, pd.concat(runs, ignore_index=True)
