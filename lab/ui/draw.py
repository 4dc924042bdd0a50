"""Small Streamlit helpers shared by the pages (the package stays free of streamlit)."""
from __future__ import annotations

import hashlib
import inspect
import json
import pickle
import sys
import threading
from collections import OrderedDict

import streamlit as st

from lab.ui.links import parse_flag

PROJECTOR_CSS = """<style>
  [data-testid="stMainBlockContainer"] { padding-top: 2.2rem; padding-bottom: 2rem; }
  [data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 0.45rem; }
  [data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li { font-size: 1.12rem; color: #111; }
  [data-testid="stCaptionContainer"] p { color: #333; }
  [data-testid="stMainBlockContainer"] h1 { font-size: 2.1rem; padding-top: 0; }
  [data-testid="stMainBlockContainer"] input, [data-testid="stMainBlockContainer"] textarea,
  [data-testid="stMainBlockContainer"] [data-baseweb="select"] div,
  [data-testid="stMainBlockContainer"] [data-testid="stWidgetLabel"] p,
  [data-testid="stSliderThumbValue"], [data-testid="stSliderTickBarMin"], [data-testid="stSliderTickBarMax"],
  [data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1.12rem !important; color: #111; }
</style>"""


# Every chart fits its column, down to a phone's 358 px: a chart wider than the column is scaled down as a whole
# (an SVG scales cleanly and keeps its hover and click targets). Vega writes a canvas's size into its inline style,
# so its height is freed with !important: without it a canvas chart shrank in width only, squashing its labels.
FIT_CSS = """<style>
  [data-testid="stVegaLiteChart"] { max-width: 100%; }
  [data-testid="stVegaLiteChart"] svg, [data-testid="stVegaLiteChart"] canvas { max-width: 100%; height: auto; }
  [data-testid="stVegaLiteChart"] canvas { height: auto !important; }
</style>"""


def app_frame() -> bool:
    """What every page has, drawn by app.py: the stylesheet that fits charts to the screen, and the sidebar's
    projector switch. Returns whether projector mode is on."""
    st.html(FIT_CSS)
    return projector_toggle()


def projector_toggle() -> bool:
    """The sidebar's "projector mode" switch (kept in every page's URL as projector=1): bigger chart text and
    cells, darker axis text, a more compact page."""
    if "projector" not in st.session_state:
        st.session_state["projector"] = parse_flag(st.query_params.get("projector"))
    on = st.sidebar.toggle("Projector mode", key="projector", help="For a lecture hall: larger chart text and "
                           "cells, darker axis text, a compact layout. Kept in the link (projector=1).")
    if on != parse_flag(st.query_params.get("projector")):  # the flag rides in every page's link
        if on:
            st.query_params["projector"] = "1"
        else:
            del st.query_params["projector"]
    if on:
        st.html(PROJECTOR_CSS)
    return on


def projector() -> bool:
    return bool(st.session_state.get("projector", False))


def settings_box(request_key: str):
    """Where a training page draws its settings: a bordered box; in projector mode, once the page shows a result, a
    collapsed expander, so that the first screen a lecture hall sees is the result, not the form."""
    if projector() and st.session_state.get(request_key) is not None:
        return st.expander("Settings: open to change them and train again", icon=":material/tune:")
    return st.container(border=True)


def room(normal: int = 780) -> int:
    """Pixels a wide chart may take: ``normal``, or about a 1280 px projector's main column in projector mode (where
    cells grow, so they keep room for the larger tick labels)."""
    return 1150 if projector() else normal


def cell(size: int | None, default: int = 40) -> int | None:
    """A heatmap cell size, larger in projector mode (``None``: the chart's own choice, or ``default`` enlarged)."""
    return round((size or default) * 1.3) if projector() else size


def lazy(label: str, key: str, draw, **kwargs) -> None:
    """An expander that calls ``draw()`` inside it only while it is open (``.open``): a control's rerun does not pay
    for a section nobody is reading. The open state is kept per session under ``key``."""
    box = st.expander(label, on_change="rerun", key=key, **kwargs)
    if box.open:
        with box:
            draw()


def show_code(*objects, caption: str = "The package code this page ran, exactly as it is in the repository:") -> None:
    """A "Show the code" expander with the source of each function or class, read only while it is open."""
    def draw():
        st.caption(caption)
        for obj in objects:
            st.code(inspect.getsource(obj), language="python")

    lazy("Show the code", "show_code_" + "_".join(getattr(o, "__name__", "") for o in objects), draw)


def chart(c, *, stretch: bool = False, into=None, on_select: str | None = None, key: str | None = None):
    """Draw an Altair chart (or its spec dict) in the page, or ``into`` a placeholder.

    The chart builders are validated against the Vega-Lite schema in the unit tests, so here the spec is handed
    over without re-validating it (that check would cost every chart on every rerun). Sizes mean the plot's own
    size: "pad" (or "fit-x" across the page when ``stretch``), so a title or legend never squeezes the plot.
    """
    spec = dict(c) if isinstance(c, dict) else c.to_dict(validate=False)
    if projector():
        from lab.charts import projector_style  # here, not at the top: the landing page loads no chart library

        spec = projector_style(spec)
    single = not any(k in spec for k in ("facet", "hconcat", "vconcat", "concat", "repeat"))
    spec["autosize"] = {"type": "fit-x", "contains": "padding"} if stretch and single else {"type": "pad"}
    width = "stretch" if stretch else "content"
    if on_select:  # a chart that reports clicks: returns the selection state
        return (into or st).vega_lite_chart(spec, width=width, on_select="rerun", selection_mode=on_select, key=key)
    (into or st).vega_lite_chart(spec, width=width)


_FIGURES: OrderedDict[bytes, dict] = OrderedDict()  # cached specs, newest last; shared by every session
_FIGURES_LOCK = threading.Lock()
MAX_FIGURES = 256


def _fingerprint(obj, h) -> None:
    """Feed ``obj`` (a chart builder's argument) into the hash ``h``: arrays by dtype, shape and bytes, containers
    item by item, scalars by type and value; anything else by its pickle."""
    np = sys.modules.get("numpy")  # not imported here: the landing page loads no array library
    if np is not None and isinstance(obj, np.ndarray):
        h.update(f"nd{obj.dtype.str}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, (list, tuple)):
        h.update(b"(" if isinstance(obj, tuple) else b"[")
        for item in obj:
            _fingerprint(item, h)
        h.update(b")")
    elif isinstance(obj, dict):
        h.update(b"{")
        for k, v in obj.items():
            _fingerprint(k, h)
            _fingerprint(v, h)
        h.update(b"}")
    elif obj is None or isinstance(obj, (str, int, float, bool) + ((np.generic,) if np is not None else ())):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    else:
        h.update(pickle.dumps(obj))


def figure(build, *args, **kwargs) -> dict:
    """The Vega-Lite spec ``build(*args, **kwargs)`` makes (``build``: a chart function of ``lab.charts``, returning
    a spec or an Altair chart), built once per distinct input and shared by every session: a rerun with the same
    settings (a class on the same defaults) costs a hash of the inputs, not a build. Draw it with ``chart``; export it
    with ``exports``. (A dictionary of our own rather than ``st.cache_data``, whose hashing of the arrays and copying
    of the spec cost about a millisecond a chart on every rerun.)"""
    h = hashlib.blake2b(f"{build.__module__}.{build.__qualname__}".encode(), digest_size=16)
    _fingerprint(args, h)
    _fingerprint(kwargs, h)
    key = h.digest()
    with _FIGURES_LOCK:
        spec = _FIGURES.get(key)
        if spec is not None:
            _FIGURES.move_to_end(key)
            return dict(spec)  # the caller may set top-level keys (its size); the rows are shared, never changed
    made = build(*args, **kwargs)
    spec = _arrow_datasets(made if isinstance(made, dict) else made.to_dict(validate=False))
    with _FIGURES_LOCK:
        _FIGURES[key] = spec
        while len(_FIGURES) > MAX_FIGURES:
            _FIGURES.popitem(last=False)
    return dict(spec)


figure.clear = _FIGURES.clear  # with st.cache_data.clear(): the app tests start with nothing cached


# Streamlit swaps new data into a chart whose spec is unchanged; Vega then removes every old mark and adds every new
# one, which for thousands of cells costs more than building the view afresh (benchmarks/RESULTS.md, controls). Above
# this many rows a chart's spec carries its data's fingerprint, so new data means a new view.
FRESH_ROWS = 1000


def _arrow_datasets(spec: dict) -> dict:
    """The spec with its named datasets already in the Arrow form Streamlit sends them in (which it takes as they
    are): converted once, with the cached spec, instead of on every draw."""
    if not spec.get("datasets"):
        return spec
    rows = sum(len(r) for r in spec["datasets"].values() if isinstance(r, list))
    # a chart with parameters keeps its view: a new one would reset what the student picked in it (Q, K or V)
    stateful = '"params"' in json.dumps({k: v for k, v in spec.items() if k != "datasets"})
    spec["datasets"] = {name: r if isinstance(r, bytes) else _arrow_bytes(r) for name, r in spec["datasets"].items()}
    if rows > FRESH_ROWS and not stateful:  # a large chart whose data changed is drawn afresh (its spec changes)
        import zlib

        fingerprint = zlib.crc32(b"".join(spec["datasets"].values()))
        spec["usermeta"] = {**spec.get("usermeta", {}), "data": fingerprint}
    return spec


def _arrow_bytes(rows) -> bytes:
    """Rows (dicts) as Arrow IPC bytes, column by column straight into Arrow (a tenth of the time the conversion
    through pandas takes for a chart's few dozen rows); through pandas when a column mixes types."""
    import pyarrow as pa
    from streamlit import dataframe_util

    if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
        columns = list(dict.fromkeys(k for r in rows for k in r))
        try:
            table = pa.table({c: [r.get(c) for r in rows] for c in columns})
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        else:
            return dataframe_util.convert_arrow_table_to_arrow_bytes(table)
    return dataframe_util.convert_anything_to_arrow_bytes(rows)


def _json_datasets(spec: dict) -> dict:
    """``_arrow_datasets`` undone: plain rows again, for the server-side PNG and SVG renderer."""
    import pyarrow as pa

    if not any(isinstance(rows, bytes) for rows in spec.get("datasets", {}).values()):
        return spec
    return {**spec, "datasets": {name: pa.ipc.open_stream(rows).read_all().to_pylist() if isinstance(rows, bytes)
                                 else rows for name, rows in spec["datasets"].items()}}


def table(df, **kwargs) -> None:
    """A data table as wide as the page and tall enough to show every row without scrolling (``df`` may be a pandas
    Styler, for shaded cells)."""
    rows = len(getattr(df, "data", df))
    st.dataframe(df, hide_index=True, width="stretch", height=35 * (rows + 1) + 3, **kwargs)


_MD_SPECIAL = "\\`*_{}[]()<>#+-.!|~$:"


def md_escape(text: str) -> str:
    """User text made inert for st.markdown: every markdown (and HTML) character backslash-escaped."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))


# ------------------------------------------------------------------ test yourself
def self_check(name: str, make_question) -> None:
    """A "Test yourself" box: a seeded random question, typed answers marked one by one, a running score (each
    question counts once: checking it again replaces its earlier marking)."""
    from lab.analyses import quiz

    seed_key, score_key = f"{name}_quiz_seed", f"{name}_quiz_score"
    st.session_state.setdefault(seed_key, 0)
    score = st.session_state.setdefault(score_key, quiz.Scoreboard())

    def new_question():
        st.session_state[seed_key] += 1

    seed = st.session_state[seed_key]
    question = make_question(seed)
    with st.container(border=True):
        head, button = st.columns([4, 1])
        head.markdown(f"**Question {seed + 1}.** {question.setting}")
        button.button("New question", on_click=new_question, key=f"{name}_new", icon=":material/refresh:")
        with st.form(f"{name}_quiz_form"):
            cols = st.columns(len(question.items))
            answers = [c.text_input(f"shape of {item.name}", key=f"{name}_q{seed}_{i}",
                                    placeholder=quiz.placeholder(len(item.shape)))
                       for i, (c, item) in enumerate(zip(cols, question.items, strict=True))]
            checked = st.form_submit_button("Check my answers")
        if checked:
            right = 0
            for item, answer in zip(question.items, answers, strict=True):
                why = quiz.explain(item, quiz.parse_shape(answer), question.sizes)
                if why is None:
                    right += 1
                    st.success(f"{item.name}: {quiz.fmt(item.shape)} is right.", icon=":material/check:")
                else:
                    st.error(f"{item.name}: {why}", icon=":material/close:")
            score.record(seed, right, len(question.items))
        got, asked = score.totals()
        if asked:
            st.caption(f"Your score this session: {got} of {asked} shapes right "
                       f"({score.questions} question{'s' if score.questions != 1 else ''}; checking a question again "
                       "replaces its earlier marking).")


def exports(chart, name: str, *, csv: bytes | None = None, svg: bool = True) -> None:
    """Download buttons for a chart (an Altair chart, its spec, or a function that builds either): PNG (and SVG),
    made only when pressed; CSV of its data if given."""
    from lab import charts

    def made():
        c = chart() if callable(chart) else chart
        return _json_datasets(c) if isinstance(c, dict) else c

    row = st.container(horizontal=True)  # the buttons side by side, at the left (one block, not four columns)
    row.download_button("PNG", lambda: charts.to_png(made()), file_name=f"{name}.png", mime="image/png",
                        icon=":material/image:", key=f"{name}_png", on_click="ignore")
    if svg:
        row.download_button("SVG", lambda: charts.to_svg(made()), file_name=f"{name}.svg", mime="image/svg+xml",
                            icon=":material/draw:", key=f"{name}_svg", on_click="ignore")
    if csv is not None:
        row.download_button("CSV", csv, file_name=f"{name}.csv", mime="text/csv", icon=":material/table:",
                            key=f"{name}_csv", on_click="ignore")
