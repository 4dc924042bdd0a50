"""Every chart the app draws: pure functions from plain numbers to ``alt.Chart``, so they can be unit-tested.

Nothing here imports torch or streamlit; pages turn tensors into lists or arrays before calling. Token labels
carry their position ("0: the", "1: cat") so a repeated word keeps its own row and column.
"""
from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

# Altair checks every object against the schema as it is made (its "debug mode"): 10-15 ms a chart on each rerun
# with new data. The unit tests validate every chart's whole spec (``to_dict()``), which catches the same errors.
alt.utils.schemapi.disable_debug_mode()

# identity colour scales written out (Streamlit's chart theme cannot read a null scale)
_INK = alt.Scale(domain=["black", "white"], range=["black", "white"])
# Okabe & Ito's colour-blind-safe palette (blue, vermillion, bluish green, reddish purple, orange, sky blue): told
# apart with every common colour-vision deficiency; charts that compare series also differ by dash or point shape.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
OWN_KEY = "the query's own key"  # the bars' highlight: orange, a colour the red-blue heatmaps never use
_PICK = alt.Scale(domain=[OWN_KEY, "other keys", "masked (a later token)"], range=["#E69F00", "#0072B2", "#cccccc"])

QUERY_AXIS = "query token (row)"
KEY_AXIS = "key token (column)"


PROJECTOR_CONFIG = {
    "axis": {"labelFontSize": 15, "titleFontSize": 16, "labelColor": "#111111", "titleColor": "#111111",
             "labelLimit": 220},
    "legend": {"labelFontSize": 14, "titleFontSize": 15, "labelColor": "#111111", "titleColor": "#111111"},
    "header": {"labelFontSize": 16, "titleFontSize": 17, "labelColor": "#111111"},
    "title": {"fontSize": 19, "color": "#111111"},
    "text": {"fontSize": 15},
}


def projector_style(spec: dict) -> dict:
    """A chart spec for a projector: larger, darker text (axes, legends, titles, numbers in cells)."""
    config = {k: dict(v) for k, v in spec.get("config", {}).items() if isinstance(v, dict)}
    for part, style in PROJECTOR_CONFIG.items():
        config[part] = {**config.get(part, {}), **style}
    return {**spec, "config": {**spec.get("config", {}), **config}}


def token_labels(tokens: Sequence[str]) -> list[str]:
    """'0: the', '1: cat', ...: unique axis labels in token order."""
    return [f"{i}: {t}" for i, t in enumerate(tokens)]


def _data(df: pd.DataFrame) -> alt.InlineData:
    """Rows handed to Vega-Lite as plain records (cheaper per rerun than Altair's DataFrame conversion).

    Not validated row by row on creation: the values are plain numbers and strings; the chart around them is
    validated against the schema in the unit tests."""
    with alt.utils.schemapi.debug_mode(False):
        return alt.InlineData(values=df.to_dict("records"))


def _matrix(values, row_labels, col_labels) -> np.ndarray:
    """``values`` as a float array, checked against its labels."""
    values = np.asarray(values, dtype=float)
    if values.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"a {values.shape} matrix needs {values.shape[0]} row and {values.shape[1]} column labels, "
                         f"got {len(row_labels)} and {len(col_labels)}.")
    return values


def _matrix_frame(values, row_labels, col_labels) -> pd.DataFrame:
    values = _matrix(values, row_labels, col_labels)
    rows, cols = np.meshgrid(np.arange(values.shape[0]), np.arange(values.shape[1]), indexing="ij")
    return pd.DataFrame({
        "row": np.asarray(row_labels, dtype=object)[rows.ravel()],
        "col": np.asarray(col_labels, dtype=object)[cols.ravel()],
        "value": values.ravel(),
    })


ARIA_CELLS = 256  # heatmaps up to this many cells describe each cell to a screen reader


def _renderer(cells: int) -> dict | None:
    """The usermeta that draws a chart of more than ``ARIA_CELLS`` cells on a canvas rather than as SVG: a new matrix
    then repaints one element instead of replacing hundreds of SVG nodes (two 6 x 128 heatmaps redrawn in Chromium:
    127 -> 96 ms median a move). Streamlit reads the renderer from the spec's usermeta (and picks canvas by itself
    above 2,000 rows). A new dict each time: specs are handed on, and may be changed, one by one."""
    return {"embedOptions": {"renderer": "canvas"}} if cells > ARIA_CELLS else None


TITLE_FIELD = "title_line"  # a data title's lines, in fields title_line0, title_line1, ... of the first row


def _title_ref(name: str, line: int) -> str:
    """The Vega expression that reads line ``line`` of a title carried in dataset ``name`` (``title_text`` reads it
    back)."""
    return f"data('{name}')[0].{TITLE_FIELD}{line}"


def _filled(frame: str, name: str, rows: list[dict], *, title: str | list[str] | None = None, **top) -> dict:
    """A cached chart frame (JSON, its data named ``name``) with this chart's rows, title and top-level settings.

    The title travels with the rows (on the first one, read by a Vega expression), so a chart whose title changes
    with a control (the query's word, √d_k, the mask) keeps one spec: the browser swaps the new rows and title into
    the chart it has instead of building the chart again. ``title_text`` reads it back."""
    spec = json.loads(frame)
    if title and rows:
        lines = [title] if isinstance(title, str) else list(title)
        rows[0] = {**rows[0], **{f"{TITLE_FIELD}{i}": line for i, line in enumerate(lines)}}
        refs = [_title_ref(name, i) for i in range(len(lines))]
        top["title"] = {"text": {"expr": refs[0] if isinstance(title, str) else "[" + ", ".join(refs) + "]"}}
    spec.update(datasets={name: rows}, **{k: v for k, v in top.items() if v is not None})
    return spec


def title_text(spec: dict, datasets: dict | None = None) -> str | list[str]:
    """A chart's title as it is drawn: a plain title as it is, a title carried in the data (``_filled``) read from
    its first row (``datasets``: the rows by name, when they are kept apart from the spec, as Streamlit does)."""
    title = spec.get("title", "")
    text = title.get("text", "") if isinstance(title, dict) else title
    if not isinstance(text, dict):
        return text
    found = re.findall(r"data\('(\w+)'\)\[0\]\.(" + TITLE_FIELD + r"\d+)", text.get("expr", ""))
    if not found:
        return text.get("expr", "")
    first = (datasets or spec.get("datasets", {}))[found[0][0]][0]
    lines = [first[field] for _, field in found]
    return lines[0] if text["expr"].startswith("data(") else lines


@functools.lru_cache(maxsize=128)
def _heatmap_frame(row_title: str, col_title: str, value_title: str, scheme: str, annotate: bool, hover_fmt: str,
                   select: str | None, domain: tuple[float, float] | None, marked: bool, steep: bool,
                   aria: bool = True) -> str:
    """A heatmap's spec without its cells, size and title, as JSON: built with Altair once per look and reused for
    every matrix drawn that way (rows and columns are ordered by the cells' own indices, so no label is baked in).
    ``aria``: a screen-reader description per cell (built for every cell on every redraw, so large maps go without;
    their title and the hover keep the values)."""
    # the hover and a screen reader's description as one short expression each, evaluated per cell on every
    # redraw (Vega-Lite's own, built from the encodings, check and join every field, and are several times the work)
    names = [json.dumps(t) for t in (row_title or "row", col_title or "column", value_title)]
    value = f"format(datum.value, {json.dumps(hover_fmt)})"
    tip = alt.ExprRef(expr=f"{{{names[0]}: datum.row, {names[1]}: datum.col, {names[2]}: {value}}}")
    said = alt.ExprRef(expr=f"{names[0]} + ' ' + datum.row + ', ' + {names[1]} + ' ' + datum.col + ', ' + {names[2]} "
                            f"+ ' ' + {value}")
    base = alt.Chart().encode(
        x=alt.X("col:N", sort=alt.EncodingSortField(field="c", op="min"), title=col_title,
                axis=alt.Axis(labelAngle=-90 if steep else -45, labelLimit=120, labelOverlap=False)),
        y=alt.Y("row:N", sort=alt.EncodingSortField(field="r", op="min"), title=row_title or None,
                axis=alt.Axis(labelLimit=160, labelOverlap=False)),
    )
    # a value past a fixed domain gets the colour at its end (the cell's number and the hover keep the value)
    scale = alt.Scale(scheme=scheme, domain=list(domain), clamp=True) if domain else alt.Scale(scheme=scheme)
    rect = base.mark_rect(cursor="pointer" if select else "default", aria=aria, tooltip=tip,
                          **({"description": said} if aria else {})).encode(
        color=alt.Color("value:Q", title=value_title, scale=scale))
    if select:
        rect = rect.add_params(alt.selection_point(name=select, fields=["row", "col"], on="click"))
    layers = [rect]
    if annotate:  # the numbers of the cells whose ``shown`` is not empty (all of them, or none)
        layers.append(base.transform_filter("datum.shown !== ''").mark_text(tooltip=tip, aria=False).encode(
            text=alt.Text("shown:N"), fill=alt.Fill("ink:N", scale=_INK, legend=None)))
    if marked:  # an outline (shape, not only colour) around the chosen cell
        layers.append(base.transform_filter("datum.m === 1").mark_rect(fill=None, stroke="#E69F00", strokeWidth=3,
                                                                       tooltip=tip, aria=False))
    return json.dumps(alt.LayerChart(layer=layers, data=alt.NamedData(name="cells")).to_dict(validate=False))


_PICTURED = re.compile(r"url|t\d+")  # a picture's fields that differ from matrix to matrix
TIP_ROWS = 16  # a heatmap drawn as a picture lists a column's numbers on hover, one line a row, up to this many rows


@functools.lru_cache(maxsize=64)
def _picture_frame(row_title: str, col_title: str, value_title: str, scheme: str, domain: tuple[float, float],
                   picked: str | None) -> str:
    """A wide heatmap's spec as a picture (``lab.raster``: one pixel a cell, coloured as the cells would be, drawn
    unsmoothed over the whole plot) instead of a rectangle a cell: one image for the browser to draw, and a
    transparent strip over each column whose hover lists that column's numbers, row by row. Page 2's Q, K, V and
    steps 4-5 at 12 tokens x 64 features: 1,664 rectangles fewer to build on every move. The axes and the colour legend
    are those of the cell-by-cell heatmap. One dataset, its rows told apart by ``kind``: the picture ("p"), a
    column ("c": its label, its index ``c`` and its hover lines ``t0``, ``t1``, ...), a row ("r": label, index ``r``).
    ``picked``: a parameter naming which of several matrices' pictures and numbers to show (``matrices_spec``)."""
    suffix = f"'_' + {picked}" if picked else "''"

    def field(name: str) -> str:
        return f"datum['{name}' + {suffix}]"

    lines = ", ".join(f"'{i}': {field(f't{i}')}" for i in range(TIP_ROWS))
    heading = (f"{picked} + ', ' + " if picked else "") + json.dumps(f"{col_title} " if col_title else "")
    only = [{"filter": f"datum.kind === '{kind}'"} for kind in "pcr"]
    picture = {"transform": [only[0], {"calculate": field("url"), "as": "picture"}],
               "mark": {"type": "image", "align": "left", "baseline": "top", "smooth": False, "aspect": False},
               "encoding": {"url": {"field": "picture", "type": "nominal"}, "x": {"value": 0},
                            "x2": {"value": "width"}, "y": {"value": 0}, "y2": {"value": "height"}}}
    columns = {"transform": [only[1]],
               "mark": {"type": "rect", "opacity": 0, "cursor": "default",
                        "tooltip": {"expr": f"{{'title': {heading} + datum.col, {lines}}}"}},
               "encoding": {"x": {"field": "col", "type": "nominal", "sort": {"field": "c", "op": "min"},
                                  "title": col_title,  # upright labels, as a heatmap filling its width has
                                  "axis": {"labelAngle": -90, "labelLimit": 120, "labelOverlap": False}},
                            "y": {"value": 0}, "y2": {"value": "height"}}}
    rows = {"transform": [only[2]], "mark": {"type": "rect", "opacity": 0},
            "encoding": {"y": {"field": "row", "type": "nominal", "sort": {"field": "r", "op": "min"},
                               "title": row_title or None, "axis": {"labelLimit": 160, "labelOverlap": False}},
                         "x": {"value": 0}, "x2": {"value": "width"},
                         "color": {"field": "r", "type": "quantitative", "title": value_title,
                                   "scale": {"scheme": scheme, "domain": list(domain), "clamp": True}}}}
    return json.dumps({"$schema": alt.SCHEMA_URL, "layer": [picture, rows, columns], "data": {"name": "cells"}})


def _picture_rows(values: np.ndarray, rows: list[str], cols: list[str], scheme: str, domain: tuple[float, float],
                  hover_fmt: str) -> list[dict]:
    """``_picture_frame``'s dataset: the picture, each column with its numbers row by row, each row."""
    from lab import raster

    words = [label.removeprefix(f"{i}: ") for i, label in enumerate(rows)]  # a token's label carries its position
    return ([{"kind": "p", "url": raster.data_url(values, scheme, domain)}]
            + [{"kind": "c", "col": col, "c": j, **{f"t{i}": f"{words[i]}: {format(values[i, j], hover_fmt)}"
                                                    for i in range(len(rows))}} for j, col in enumerate(cols)]
            + [{"kind": "r", "row": row, "r": i} for i, row in enumerate(rows)])


def heatmap_spec(values, row_labels: Sequence[str], col_labels: Sequence[str], *, title: str | list[str] = "",
                 row_title: str = QUERY_AXIS, col_title: str = KEY_AXIS, value_title: str = "weight",
                 scheme: str = "blues", annotate: bool | None = None, fmt: str = ".2f", hover_fmt: str = ".4f",
                 cell: int | None = None, max_width: int | None = None, fill_from: int | None = None,
                 domain: tuple[float, float] | None = None, select: str | None = None,
                 mark: tuple[int, int] | None = None, blank=None, name: str = "cells",
                 picked: str | None = None) -> dict:
    """``heatmap``'s Vega-Lite spec, fast: the cached frame with this matrix's cells, size and title filled in (its
    dataset called ``name``).

    ``fill_from`` (with ``max_width``): from this many columns on, the plot is ``max_width`` wide whatever the count
    (the columns share it), on a canvas, its column labels upright, without printed numbers or a screen-reader text
    per cell (a canvas has none; the hover keeps the values): one spec for every such size, so a move between two of
    them (page 2's d_k from 16 to 64, or its trained model's 16 and a random 64) swaps the data into the chart the
    browser has instead of building it anew. Such a matrix of up to ``TIP_ROWS`` rows, with no cell to click, outline
    or leave blank, is drawn as a picture (``_picture_frame``), its hover listing a column's numbers. ``picked``: see
    ``_picture_frame`` (``matrices_spec`` sets it).
    """
    values = _matrix(values, row_labels, col_labels)
    n_rows, n_cols = values.shape
    fill = fill_from is not None and max_width is not None and n_cols >= fill_from
    height = cell or max(18, min(48, 480 // max(n_rows, n_cols)))
    rows, cols = [str(x) for x in row_labels], [str(x) for x in col_labels]
    if fill and n_rows <= TIP_ROWS and select is None and mark is None and blank is None and not annotate:
        lo_hi = (float(domain[0]), float(domain[1])) if domain else (float(values.min()), float(values.max()))
        frame = _picture_frame(row_title, col_title, value_title, scheme, lo_hi, picked)
        return _filled(frame, name, _picture_rows(values, rows, cols, scheme, lo_hi, hover_fmt), data={"name": name},
                       width=max_width, height={"step": height}, title=title or None,
                       usermeta=_renderer(ARIA_CELLS + 1))
    width = max_width / n_cols if fill else height if max_width is None else max(6, min(height, max_width // n_cols))
    # printed numbers need large cells; up to ARIA_CELLS cells the text layer is there whether or not they are
    # printed (empty ``shown``), so a matrix growing past 144 cells, or its cells narrower than 26 px, keeps its spec.
    # A matrix filling its width prints none (hover shows them): on every new matrix Vega would run each of its
    # cells through the text layer too (page 2's Q, K and V at 12 x 64: 2,304 cells; its mode switch took 363 ms
    # median with the layer, 283 without, in one A/B run in Chromium)
    printed = (not fill and n_rows * n_cols <= 144 and width >= 26) if annotate is None else bool(annotate)
    text_layer = (not fill and n_rows * n_cols <= ARIA_CELLS) if annotate is None else printed
    lo, hi = domain if domain else (float(values.min()), float(values.max()))
    if scheme == "redblue":  # diverging scheme: dark at both ends
        dark = np.abs(values) > 0.6 * max(abs(lo), abs(hi))
    else:
        dark = values > lo + 0.6 * (hi - lo)
    keep = ~np.asarray(blank, dtype=bool) if blank is not None else np.ones(values.shape, dtype=bool)
    # each cell carries only the fields its layers read (the printed number and its ink for the text layer, the
    # outline's flag for the marked cell): fewer values for the browser to decode and hand to Vega on every redraw
    cells = [{"row": rows[i], "col": cols[j], "r": i, "c": j, "value": float(values[i, j])}
             for i in range(n_rows) for j in range(n_cols) if keep[i, j]]
    if text_layer:
        for cell_ in cells:
            i, j = cell_["r"], cell_["c"]
            cell_.update(shown=format(values[i, j], fmt) if printed else "", ink="white" if dark[i, j] else "black")
    if mark is not None:
        for cell_ in cells:
            cell_["m"] = int((cell_["r"], cell_["c"]) == tuple(mark))
    frame = _heatmap_frame(row_title, col_title, value_title, scheme, text_layer, hover_fmt, select,
                           tuple(domain) if domain else None, mark is not None, fill or width < 20,
                           not fill and n_rows * n_cols <= ARIA_CELLS)
    # the cells go in a named dataset: while the rest of the spec stays the same, the browser swaps the data into the
    # chart it has, instead of building the chart again; the size is a step per row and column (or a fixed width the
    # columns share), so a sentence one word longer changes the data only, not the spec
    return _filled(frame, name, cells, data={"name": name}, width=max_width if fill else {"step": width},
                   height={"step": height}, title=title or None,
                   usermeta=_renderer(ARIA_CELLS + 1 if fill else n_rows * n_cols))


def heatmaps_spec(panels: Sequence[tuple[object, Sequence[str], Sequence[str], dict]], spacing: int = 16,
                  row_axis: int = 130) -> dict:
    """Several heatmaps one under another in a single chart (``panels``: each (values, row labels, column labels,
    ``heatmap_spec``'s keywords)), each with its own cells, title and axes, one colour legend when their colour
    scales agree: one chart for the browser to update instead of several. Drawn on a canvas if any panel would be.
    Every panel's row labels get at least ``row_axis`` px, so panels with the same columns line them up."""
    parts, datasets, canvas, top = [], {}, False, {}
    for k, (values, rows, cols, kwargs) in enumerate(panels):
        one = heatmap_spec(values, rows, cols, name=f"cells{k}", **kwargs)  # each panel's own dataset and title
        datasets.update(one.pop("datasets"))
        on_canvas = one.pop("usermeta", None) is not None  # a panel's renderer is the chart's: taken off every one
        canvas = canvas or on_canvas
        top.update({key: one.pop(key) for key in ("$schema", "config") if key in one})  # the chart's, not a panel's
        parts.append(one)
    config = top.get("config", {})
    top["config"] = {**config, "axisY": {**config.get("axisY", {}), "minExtent": row_axis}}
    return {**top, "vconcat": parts, "spacing": spacing, "datasets": datasets,
            "resolve": {"scale": {"color": "shared"}}, **({"usermeta": _renderer(ARIA_CELLS + 1)} if canvas else {})}


def heatmaps(panels, **kwargs) -> alt.VConcatChart:
    """``heatmaps_spec`` as an Altair chart (for the tests)."""
    return alt.VConcatChart.from_dict(heatmaps_spec(panels, **kwargs), validate=False)


def matrices_spec(matrices: Sequence[tuple[str, object]], row_labels: Sequence[str], col_labels: Sequence[str],
                  **kwargs) -> dict:
    """Several matrices of one shape and one look (``heatmap_spec``'s keywords) in a single Vega-Lite view, one at a
    time, chosen by radio buttons under the chart that work in the browser (a Vega-Lite parameter: no script run).
    One view for the browser to update, and a third of the cells to draw, instead of three wide charts."""
    names = [name for name, _ in matrices]
    specs = [heatmap_spec(m, row_labels, col_labels, picked="matrix", **kwargs) for _, m in matrices]
    per = [s["datasets"]["cells"] for s in specs]  # the same cells in the same order, each matrix its own numbers
    title = {"expr": "'matrix ' + matrix + ' (pick another under the chart)'"}
    params = [{"name": "matrix", "value": names[0], "bind": {"input": "radio", "options": names,
                                                             "name": "matrix shown: "}}]
    pictures = per[0][0].get("kind") == "p"
    # one row per cell holding every matrix's number (value_Q, value_K, ...), the shown one picked by a calculation:
    # a third of the rows for the browser to decode and for Vega to run, and no filter over all of them. Pictures
    # (``_picture_frame``) hold each matrix's picture and hover lines the same way (url_Q, t0_Q, ...), picked by the
    # frame itself
    shown = [k for k in ("value", "shown", "ink") if k in per[0][0]]

    def varying(k: str) -> bool:
        return bool(_PICTURED.fullmatch(k)) if pictures else k in shown

    cells = [{**{k: v for k, v in first.items() if not varying(k)},
              **{f"{k}_{name}": rows[i][k] for name, rows in zip(names, per, strict=True) for k in rows[i]
                 if varying(k)}} for i, first in enumerate(per[0])]
    return {k: v for k, v in specs[0].items() if k != "title"} | {
        "datasets": {"cells": cells}, "title": {"text": title}, "params": params,
        **({} if pictures else {"transform": [{"calculate": f"datum['{k}_' + matrix]", "as": k} for k in shown]})}


def matrices(matrices: Sequence[tuple[str, object]], row_labels: Sequence[str], col_labels: Sequence[str],
             **kwargs) -> alt.LayerChart:
    """``matrices_spec`` as an Altair chart (for the tests and the exports)."""
    return alt.LayerChart.from_dict(matrices_spec(matrices, row_labels, col_labels, **kwargs), validate=False)


def heatmap(values, row_labels: Sequence[str], col_labels: Sequence[str], **kwargs) -> alt.LayerChart:
    """A labelled matrix: one cell per (row, column), value on hover, numbers written in when the cells are large.

    Attention maps use the defaults: rows are queries, columns are keys, and each row sums to 1. ``max_width`` caps
    the plot's width: with many columns the cells get narrower (and lose their printed numbers) instead of running
    off the page (down to 6 px a cell). Every row and column keeps its label. Hover shows ``hover_fmt`` (more
    digits than printed). ``select`` names a click selection of one cell (its row and column), for
    ``st.vega_lite_chart(on_select=...)``. ``mark`` outlines one cell (row, column: the one being explained);
    ``blank`` (a boolean matrix) leaves cells empty, such as the weights the causal mask removes. Keyword arguments
    as ``heatmap_spec``, which pages use directly (through ``ui.figure``) to skip rebuilding the Altair objects.
    """
    return alt.LayerChart.from_dict(heatmap_spec(values, row_labels, col_labels, **kwargs), validate=False)


@functools.lru_cache(maxsize=16)
def _stages_frame(x_title: str, y_titles: tuple[str, ...], fmt: str) -> str:
    """``stages`` without its rows and titles, as JSON: one bar panel per stage, each filtering its rows from the one
    dataset ``bars`` and reading its title from the first row, the legend shared (built once per look)."""
    shown = alt.ExprRef(expr="split(data('bars')[0].legend, '|')")

    def panel(k: int, y_title: str) -> alt.Chart:
        return alt.Chart(title=alt.TitleParams(alt.ExprRef(expr=_title_ref("bars", k)))).transform_filter(
            f"datum.stage === {k}").mark_bar().encode(
            x=alt.X("label:N", sort=alt.EncodingSortField(field="i", op="min"), title=x_title,
                    axis=alt.Axis(labelAngle=-45, labelLimit=120, labelOverlap=False)),
            y=alt.Y("value:Q", title=y_title),
            color=alt.Color("paint:N", scale=_PICK, title=None,
                            legend=alt.Legend(orient="top", values=shown, labelLimit=200, columns=2)),
            tooltip=[alt.Tooltip("label:N", title=x_title), alt.Tooltip("value:Q", title=y_title, format=fmt),
                     alt.Tooltip("status:N", title="causal mask")],
        ).properties(height=140)

    chart = alt.vconcat(*[panel(k, y) for k, y in enumerate(y_titles)], data=alt.NamedData(name="bars"), spacing=24)
    return json.dumps(chart.resolve_scale(color="shared", y="independent").to_dict(validate=False))


def stages_spec(labels: Sequence[str], stages: Sequence[tuple[str, str, object]], *, x_title: str, fmt: str = ".4f",
                highlight: int | None = None, masked: Sequence[bool] | None = None) -> dict:
    """One query's row through the stages of attention (``stages``: (title, y-axis title, one value per key) each,
    such as its scores, the scores / √d_k and the softmax weights), one bar panel under another in a single chart,
    the keys lined up. The query's own key is orange (with a legend: red is the heatmaps' negative end), the keys
    the causal mask removes grey (their hover says so), every label shown, the value on hover; titles and legend
    travel in the data, so a new query, √d_k or mask changes the data, not the spec."""
    masked = list(masked) if masked is not None else [False] * len(labels)
    paints = _PICK.domain
    rows = [{"stage": k, "label": str(label), "i": i, "value": float(v),
             "paint": paints[2] if masked[i] else paints[0] if i == highlight else paints[1],
             "status": "masked (a later token): weight set to 0" if masked[i] else "used"}
            for k, (_, _, values) in enumerate(stages)
            for i, (label, v) in enumerate(zip(labels, np.asarray(values, dtype=float).tolist(), strict=True))]
    if rows:  # the legend names only what the bars show; each panel's title on the first row
        rows[0] = {**rows[0], "legend": "|".join(p for p in paints if p in {r["paint"] for r in rows}),
                   **{f"{TITLE_FIELD}{k}": title for k, (title, _, _) in enumerate(stages)}}
    spec = json.loads(_stages_frame(x_title, tuple(y for _, y, _ in stages), fmt))
    spec["datasets"] = {"bars": rows}
    return spec


def stages(labels: Sequence[str], stages: Sequence[tuple[str, str, object]], **kwargs) -> alt.VConcatChart:
    """``stages_spec`` as an Altair chart (for the tests)."""
    return alt.VConcatChart.from_dict(stages_spec(labels, stages, **kwargs), validate=False)


_FAR = 987654.0  # a placeholder end of the shape diagram's scales in its cached frame, replaced by the real one


def _replaced(obj, old, new):
    """``obj`` (parsed JSON) with every value equal to ``old`` replaced by ``new``."""
    if obj == old:
        return new
    if isinstance(obj, dict):
        return {k: _replaced(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replaced(v, old, new) for v in obj]
    return obj


@functools.lru_cache(maxsize=1)
def _shape_diagram_frame() -> str:
    """The shape diagram's layers, without rows or sizes, as JSON (its scales end at the placeholders ``_FAR``)."""
    xs = alt.Scale(domain=[-4, _FAR], nice=False, zero=False)
    ys = alt.Scale(domain=[_FAR, -4], nice=False, zero=False)
    off = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)
    tip = [alt.Tooltip("name:N", title="matrix"), alt.Tooltip("rows:Q", title="rows"),
           alt.Tooltip("cols:Q", title="columns")]
    # one dataset for every layer (boxes and the x / = signs), each layer filtering its own rows
    boxes = alt.Chart().transform_filter("datum.kind == 'box'")
    rect = boxes.mark_rect(opacity=0.75, stroke="#333", strokeWidth=1).encode(
        x=alt.X("x:Q", scale=xs, axis=off), x2=alt.X2("x2"), y=alt.Y("y:Q", scale=ys, axis=off), y2=alt.Y2("y2"),
        color=alt.Color("name:N", legend=None, scale=alt.Scale(scheme="tableau10")), tooltip=tip)
    label = boxes.mark_text(dy=10, fontSize=12, fontWeight="bold", baseline="top").encode(
        x=alt.X("cx:Q", scale=xs), y=alt.Y("below:Q", scale=ys), text=alt.Text("name:N"), tooltip=tip)
    dims = boxes.mark_text(dy=24, fontSize=11, baseline="top").encode(
        x=alt.X("cx:Q", scale=xs), y=alt.Y("below:Q", scale=ys), text=alt.Text("shape:N"), tooltip=tip)
    ops = alt.Chart().transform_filter("datum.kind == 'sign'").mark_text(fontSize=22).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), text=alt.Text("sign:N"), tooltip=alt.value(None))
    return json.dumps(alt.layer(rect, label, dims, ops, data=alt.NamedData(name="parts")).properties(
        padding={"left": 40, "right": 40, "top": 5, "bottom": 5}).to_dict(validate=False))


def shape_diagram_spec(equations: Sequence[tuple[str, Sequence[int], str, Sequence[int], str, Sequence[int]]], *,
                       title: str = "") -> dict:
    """``shape_diagram``'s Vega-Lite spec, fast: the cached frame with these boxes, scales and size filled in."""
    def side(n: int) -> float:
        return 10 + 13 * math.log2(n + 1)

    gap, rows, signs, y = 34.0, [], [], 0.0  # gap: room for the x and = signs between boxes
    for name_a, a, name_b, b, name_c, c in equations:
        tallest = max(side(m[0]) for m in (a, b, c))
        x = 0.0
        for k, (name, (r, cols)) in enumerate(((name_a, a), (name_b, b), (name_c, c))):
            w, h = side(cols), side(r)
            top = y + (tallest - h) / 2
            rows.append({"name": name, "shape": f"[{r}, {cols}]", "x": x, "x2": x + w, "y": top, "y2": top + h,
                         "cx": x + w / 2, "below": top + h, "rows": r, "cols": cols, "kind": "box"})
            if k < 2:
                signs.append({"sign": "×" if k == 0 else "=", "x": x + w + gap / 2, "y": y + tallest / 2,
                              "kind": "sign"})
            x += w + gap
        y += tallest + 60  # room for the two label lines under the boxes
    width = max(r["x2"] for r in rows)
    spec = _replaced(_replaced(json.loads(_shape_diagram_frame()), [-4, _FAR], [-4, width + 4]), [_FAR, -4], [y, -4])
    spec.update(datasets={"parts": rows + signs}, width=round(width + 8), height=round(y + 4))
    if title:
        spec["title"] = title
    return spec


def shape_diagram(equations: Sequence[tuple[str, Sequence[int], str, Sequence[int], str, Sequence[int]]], *,
                  title: str = "") -> alt.LayerChart:
    """Matrix products drawn as rectangles, one product a row: A x B = C, each labelled with its shape.

    ``equations`` holds (name_a, shape_a, name_b, shape_b, name_c, shape_c). Height follows a matrix's rows and
    width its columns on a log2 scale (not to scale: [768, 6] is tall and thin and [6, 6] a small square, but 768
    is not drawn 128 times as long as 6). Hover a box, or its labels, for its rows and columns. The page draws
    ``shape_diagram_spec`` (the same spec, without building Altair objects on every move).
    """
    return alt.LayerChart.from_dict(shape_diagram_spec(equations, title=title), validate=False)


# short enough for a phone's legend (about 40 characters at most; longer ones are cut off)
LINEAR_TERM, QUADRATIC_TERM = "Q, K, V projections: linear in tokens", "scores + weighted sum: quadratic"


@functools.lru_cache(maxsize=1)
def _cost_curve_frame() -> str:
    """The cost curve's two lines and the marker's rule, without rows, as JSON (one dataset, filtered per layer)."""
    line = alt.Chart().transform_filter("datum.kind == 'line'").mark_line(point=False).encode(
        x=alt.X("tokens:Q", title="number of tokens", scale=alt.Scale(type="log", base=2)),
        y=alt.Y("macs:Q", title="multiply-adds (log scale)", scale=alt.Scale(type="log"),
                axis=alt.Axis(format="~s", tickCount=6, grid=True)),
        color=alt.Color("term:N", title=None, legend=alt.Legend(orient="top", direction="vertical", labelLimit=400),
                        scale=alt.Scale(domain=[LINEAR_TERM, QUADRATIC_TERM], range=PALETTE[:2])),
        tooltip=[alt.Tooltip("tokens:Q"), alt.Tooltip("term:N"),
                 alt.Tooltip("macs:Q", title="multiply-adds", format=",.0f")],
    )
    rule = alt.Chart().transform_filter("datum.kind == 'marker'").mark_rule(strokeDash=[4, 4], color="gray").encode(
        x=alt.X("tokens:Q"), tooltip=[alt.Tooltip("tokens:Q", title="your setting")])
    return json.dumps(alt.layer(line, rule, data=alt.NamedData(name="costs")).properties(
        height=300, title=["How the cost of self-attention", "grows with sequence length"]).to_dict(validate=False))


def cost_curve_spec(tokens: Sequence[int], linear: Sequence[float], quadratic: Sequence[float], *,
                    marker: int | None = None) -> dict:
    """``cost_curve``'s Vega-Lite spec, fast: the cached frame with these points (and the marker) filled in."""
    rows = [{"tokens": int(t), "term": term, "macs": float(m), "kind": "line"}
            for term, values in ((LINEAR_TERM, linear), (QUADRATIC_TERM, quadratic))
            for t, m in zip(tokens, values, strict=True)]
    if marker is not None:
        rows.append({"tokens": int(marker), "kind": "marker"})
    return _filled(_cost_curve_frame(), "costs", rows)


def cost_curve(tokens: Sequence[int], linear: Sequence[float], quadratic: Sequence[float], *,
               marker: int | None = None) -> alt.LayerChart:
    """Multiply-adds of one attention layer against the number of tokens: linear and quadratic terms, and a dashed
    rule at ``marker`` (the page's setting). The page draws ``cost_curve_spec``."""
    return alt.LayerChart.from_dict(cost_curve_spec(tokens, linear, quadratic, marker=marker), validate=False)


def softmax_peak_chart(d_ks: Sequence[int], scaled: Sequence[float], unscaled: Sequence[float], *, n_tokens: int,
                       d_k: int | None = None) -> alt.Chart:
    """Mean largest softmax weight for random vectors against d_k, with and without the 1/sqrt(d_k) factor."""
    df = pd.DataFrame({"d_k": list(d_ks) * 2,
                       "scaling": ["softmax(q·k / √d_k)"] * len(d_ks) + ["softmax(q·k), not scaled"] * len(d_ks),
                       "peak": list(scaled) + list(unscaled)})
    line = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("d_k:Q", title="d_k (key size, log scale)", scale=alt.Scale(type="log", base=2)),
        y=alt.Y("peak:Q", title="mean largest weight", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("scaling:N", title=None, legend=alt.Legend(orient="top", labelLimit=400),
                        scale=alt.Scale(range=PALETTE)),
        tooltip=[alt.Tooltip("d_k:Q"), alt.Tooltip("scaling:N"),
                 alt.Tooltip("peak:Q", title="mean largest weight", format=".3f")],
    )
    uniform_df = pd.DataFrame({"u": [1 / n_tokens], "d_k": [d_ks[-1]], "text": [f"uniform: 1/{n_tokens}"]})
    uniform = alt.Chart(uniform_df).mark_rule(strokeDash=[2, 2], color="gray").encode(
        y=alt.Y("u:Q"), tooltip=[alt.Tooltip("u:Q", title=f"uniform weight 1/{n_tokens}", format=".4f")])
    uniform_label = alt.Chart(uniform_df).mark_text(align="right", baseline="bottom", dy=-3, color="gray").encode(
        x=alt.X("d_k:Q"), y=alt.Y("u:Q"), text=alt.Text("text:N"))
    chart = line + uniform + uniform_label
    if d_k is not None:
        mine = pd.DataFrame({"d_k": [d_k], "top": [1.0], "text": [f"your d_k = {d_k}"]})
        chart = chart + alt.Chart(mine).mark_rule(color="#333333", strokeWidth=2).encode(
            x=alt.X("d_k:Q"), tooltip=[alt.Tooltip("d_k:Q", title="your d_k")]) + alt.Chart(mine).mark_text(
            align="left", dx=4, baseline="top", color="#333333", fontWeight="bold").encode(
            x=alt.X("d_k:Q"), y=alt.Y("top:Q"), text=alt.Text("text:N"))
    return chart.properties(height=260, title=f"How peaked softmax gets ({n_tokens} random keys)")


@functools.lru_cache(maxsize=64)
def _head_maps_frame(show_labels: bool, cell: int, columns: int, title: str) -> str:
    """The small multiples' spec without the weights, as JSON (built with Altair once per look). Each map is sized by
    a step per token and the maps are ordered by head number (``h``), so one token more or one head fewer changes the
    data, not the spec: the browser swaps the cells in instead of building the chart again."""
    axis = alt.Axis(labels=show_labels, ticks=show_labels)
    chart = alt.Chart().mark_rect(aria=False).encode(  # no per-cell description: see _heatmap_frame
        x=alt.X("key:O", title=KEY_AXIS, axis=axis),
        y=alt.Y("query:O", title=QUERY_AXIS, axis=axis),
        color=alt.Color("weight:Q", title="weight", scale=alt.Scale(scheme="blues", domain=[0, 1])),
        tooltip=[alt.Tooltip("head:N"), alt.Tooltip("query:O", title="query token"),
                 alt.Tooltip("key:O", title="key token"), alt.Tooltip("weight:Q", title="weight", format=".4f")],
    ).properties(width=alt.Step(cell), height=alt.Step(cell)).facet(
        facet=alt.Facet("head:N", sort=alt.EncodingSortField(field="h", op="min"), title=title or None),
        columns=columns,
        data=alt.NamedData(name="maps"))
    return json.dumps(chart.to_dict(validate=False))


RASTER_CELLS = 1024  # maps with more cells than this in all are drawn as pictures (``_head_maps_picture_frame``)


@functools.lru_cache(maxsize=64)
def _head_maps_picture_frame(n: int, cell: int, columns: int, title: str) -> str:
    """The small multiples as pictures, one pixel per weight (``lab.raster``), drawn ``cell`` px a token without
    smoothing: to the eye the same maps as ``_head_maps_frame``'s, coloured as its scale colours them, but one image
    mark a head for the browser to draw instead of a rectangle a weight (a 64 x 64 map redrawn on page 3: ~150 ms of
    the browser's time as rectangles, ~45 ms as a picture, measured in Chromium). Axes at the tokens' centres, every
    token up to 16 and fewer above; a transparent rectangle over each map carries the colour legend and the hover
    (its head, its largest weight and where that weight is)."""
    size = n * cell
    step = next(s for s in (1, 2, 4, 8, 16) if n <= 16 * s)  # at most 16 labels: every token up to 16, then fewer
    ticks = list(range(0, n, step))

    def position(title_: str, reverse: bool) -> dict:
        return dict(scale=alt.Scale(domain=[-0.5, n - 0.5], nice=False, zero=False, reverse=reverse),
                    axis=alt.Axis(values=ticks, format="d", grid=False, title=title_))

    picture = alt.Chart().mark_image(width=size, height=size, align="left", baseline="top", smooth=False,
                                     aspect=False).encode(x=alt.value(0), y=alt.value(0), url=alt.Url("url:N"))
    hover = alt.Chart().mark_rect(opacity=0).encode(
        x=alt.X("lo:Q", **position(KEY_AXIS, False)), x2="hi:Q",
        y=alt.Y("lo:Q", **position(QUERY_AXIS, True)), y2="hi:Q",
        color=alt.Color("peak:Q", title="weight", scale=alt.Scale(scheme="blues", domain=[0, 1])),
        tooltip=[alt.Tooltip("head:N"), alt.Tooltip("peak:Q", title="largest weight", format=".4f"),
                 alt.Tooltip("where:N", title="at (query, key)")])
    chart = alt.layer(picture, hover).properties(width=size, height=size).facet(
        facet=alt.Facet("head:N", sort=alt.EncodingSortField(field="h", op="min"), title=title or None),
        columns=columns, data=alt.NamedData(name="maps"))
    return json.dumps(chart.to_dict(validate=False))


def head_maps_spec(maps, *, head_ids: Sequence[int] | None = None, columns: int = 4, title: str = "",
                   cell: int | None = None) -> dict:
    """``head_maps``'s Vega-Lite spec, fast: the cached frame with these weights filled in (as pictures above
    ``RASTER_CELLS`` cells in all)."""
    from lab import raster

    maps = np.asarray(maps, dtype=float)
    head_ids = list(range(maps.shape[0])) if head_ids is None else list(head_ids)
    n = maps.shape[1]
    cell = cell or max(4, min(22, 200 // n))
    if maps.size > RASTER_CELLS:
        rows = []
        for m, i in zip(maps, head_ids, strict=True):
            q, k = np.unravel_index(int(np.argmax(m)), m.shape)
            rows.append({"head": f"head {i}", "h": i, "url": raster.data_url(m), "lo": -0.5, "hi": n - 0.5,
                         "peak": round(float(m[q, k]), 4), "where": f"({q}, {k})"})
        return _filled(_head_maps_picture_frame(n, cell, columns, title), "maps", rows)
    weights = maps.round(4).tolist()
    frame = _head_maps_frame(n <= 16, cell, columns, title)
    rows = [{"head": f"head {i}", "h": i, "query": q, "key": k, "weight": weights[h][q][k]}
            for h, i in enumerate(head_ids) for q in range(n) for k in range(n)]
    return _filled(frame, "maps", rows, usermeta=_renderer(len(rows)))


def head_maps_hover(cells: int) -> str:
    """What hovering ``head_maps`` of ``cells`` weights in all shows, for the caption under them."""
    if cells <= RASTER_CELLS:
        return "Hover a cell for its weight."
    return (f"{cells:,} weights are more than the {RASTER_CELLS:,} drawn one rectangle each, so each map is a picture, "
            "a pixel a weight: hover it for its largest weight, or use fewer tokens or heads to hover each weight.")


def head_maps(maps, **kwargs) -> alt.FacetChart:
    """Small multiples: one attention map per head, ``maps`` shaped (heads, T, T); rows are queries, columns keys.

    Tokens are numbered by position (0 .. T-1); numbers keep up to 12 maps of 64 x 64 cells quick to send. Keyword
    arguments as ``head_maps_spec``, which the page uses directly (through ``ui.figure``).
    """
    return alt.FacetChart.from_dict(head_maps_spec(maps, **kwargs), validate=False)


SPLITS = ["train", "validation"]
METRICS = {"loss": ("cross-entropy loss", ".2f", ".4f"), "acc": ("accuracy", ".0%", ".2%")}  # title, axis, hover


def _by_split(records: pd.DataFrame, metric: str, ids: list[str]) -> pd.DataFrame:
    """Long form of train_<metric> and val_<metric>: one row per (ids..., split) with the value."""
    long = records.melt(id_vars=ids, value_vars=[f"train_{metric}", f"val_{metric}"], var_name="split",
                        value_name="value")
    long["split"] = long["split"].map({f"train_{metric}": "train", f"val_{metric}": "validation"})
    return long


def _split_dash(legend=None) -> alt.StrokeDash:
    """Training solid, validation dashed."""
    return alt.StrokeDash("split:N", title="split", sort=SPLITS, legend=legend,
                          scale=alt.Scale(domain=SPLITS, range=[[1, 0], [5, 3]]))


def _split_colour() -> alt.Color:
    return alt.Color("split:N", title="split", sort=SPLITS, scale=alt.Scale(range=PALETTE[:2]),
                     legend=alt.Legend(orient="top", symbolType="stroke"))


def training_curves(records: pd.DataFrame, metric: str, *, title: str, panel_width: int = 220) -> alt.FacetChart:
    """``metric`` ("loss" or "acc") against epoch, one panel per run side by side; solid training, dashed validation.

    ``records`` has columns run, epoch, train_<metric>, val_<metric>. Panels share the y axis, so runs compare at a
    glance, and each run keeps its own panel even where a shorter run is the start of a longer one.
    """
    long = _by_split(records, metric, ["run", "epoch"])
    y_title, axis_format, hover_format = METRICS[metric]
    runs = list(dict.fromkeys(records["run"]))
    x = alt.X("epoch:Q", title="epoch", scale=alt.Scale(domainMin=1, nice=False), axis=alt.Axis(tickMinStep=1))
    y = alt.Y("value:Q", title=y_title, axis=alt.Axis(format=axis_format), scale=alt.Scale(zero=False))
    color = _split_colour()
    lines = alt.Chart().mark_line().encode(x=x, y=y, color=color, strokeDash=_split_dash())
    points = alt.Chart().mark_point(size=40, opacity=0.0, filled=True).encode(  # invisible, for exact values on hover
        x=x, y=y, color=color,
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("split:N"), alt.Tooltip("epoch:Q"),
                 alt.Tooltip("value:Q", title=y_title, format=hover_format)])
    return alt.layer(lines, points, data=_data(long)).properties(width=panel_width, height=240).facet(
        column=alt.Column("run:N", sort=runs, title=None, header=alt.Header(labelFontSize=13, labelFontWeight="bold")),
        title=title)


def comparison_figure(records: pd.DataFrame) -> alt.VConcatChart:
    """Loss above accuracy, one panel per run: the training comparison as a single figure for a report."""
    return alt.vconcat(training_curves(records, "loss", title="Loss against epoch"),
                       training_curves(records, "acc", title="Accuracy against epoch"))


def live_curves(records: pd.DataFrame, *, title: str = "") -> alt.HConcatChart:
    """Light charts for while a run trains: loss and accuracy against epoch, train solid, validation dashed.

    ``records`` has columns epoch, train_loss, val_loss, train_acc, val_acc. No points or facets, so it stays cheap
    to send and to draw however many students watch; the full comparison is drawn when training ends.
    """
    panels = []
    for metric, (y_title, axis_format, _) in METRICS.items():
        panels.append(alt.Chart(_data(_by_split(records, metric, ["epoch"]))).mark_line().encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=axis_format), scale=alt.Scale(zero=False)),
            color=_split_colour(), strokeDash=_split_dash(),
        ).properties(width=300, height=200))
    return alt.hconcat(*panels, title=title)


def receptive_field_chart(depth: Sequence[int], attention: Sequence[int], conv: Sequence[int], *, n_tokens: int,
                          kernel: int) -> alt.Chart:
    """How many input positions one output position can see, against the number of layers."""
    df = pd.DataFrame({"layers": list(depth) * 2,
                       "model": ["self-attention"] * len(depth) + [f"convolution, kernel {kernel}"] * len(depth),
                       "seen": list(attention) + list(conv)})
    line = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("layers:Q", title="number of layers", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("seen:Q", title="input tokens one output can see"),
        color=alt.Color("model:N", title=None, legend=alt.Legend(orient="top", labelLimit=400),
                        scale=alt.Scale(range=PALETTE)),
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("layers:Q"), alt.Tooltip("seen:Q", title="tokens seen")],
    )
    total = alt.Chart(pd.DataFrame({"n": [n_tokens]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
        y=alt.Y("n:Q"), tooltip=[alt.Tooltip("n:Q", title="whole sequence")])
    return (line + total).properties(height=280, title=f"Receptive field on a sequence of {n_tokens} tokens")


def _json(chart) -> str:
    return json.dumps(chart) if isinstance(chart, dict) else chart.to_json()


def to_png(chart, scale: float = 2.0) -> bytes:
    """The chart (an Altair chart or its spec) as a PNG image for reports, rendered on the server by vl-convert."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(_json(chart), scale=scale)


def to_svg(chart) -> str:
    """The chart (an Altair chart or its spec) as an SVG drawing."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_json(chart))


def digit_image(pixels, *, title: str = "", cell: int = 22) -> alt.Chart:
    """An 8x8 digit, drawn as grey cells (darker = more ink), pixel value on hover."""
    pixels = np.asarray(pixels, dtype=float)
    n = pixels.shape[0]
    r, c = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    df = pd.DataFrame({"row": r.ravel(), "col": c.ravel(), "ink": pixels.ravel().round(3)})
    off = alt.Axis(labels=False, ticks=False, title=None, domain=False)
    return alt.Chart(_data(df), title=title).mark_rect().encode(
        x=alt.X("col:O", axis=off), y=alt.Y("row:O", axis=off),
        color=alt.Color("ink:Q", scale=alt.Scale(scheme="greys", domain=[0, 1]), legend=None),
        tooltip=[alt.Tooltip("row:O"), alt.Tooltip("col:O", title="column"), alt.Tooltip("ink:Q", format=".2f")],
    ).properties(width=cell * n, height=cell * n)


def probability_bars(probs, *, label: int, pred: int) -> alt.LayerChart:
    """The model's probability for each digit. The true class and the prediction differ by more than colour: each
    is named above its bar, and the true class is outlined to the top, so it shows even where its probability is
    about 0 (a misread digit)."""
    probs = np.asarray(probs, dtype=float)
    df = pd.DataFrame({"digit": [str(d) for d in range(len(probs))], "p": probs})
    names = ["true digit, predicted" if d == label == pred else "true digit" if d == label else
             "predicted" if d == pred else "other" for d in range(len(probs))]
    df["paint"], df["tag"], df["top"] = names, ["" if n == "other" else n.split(",")[0] for n in names], 1.0
    domain = ["true digit, predicted", "true digit", "predicted", "other"]
    x = alt.X("digit:N", title="digit", axis=alt.Axis(labelAngle=0))
    tip = [alt.Tooltip("digit:N"), alt.Tooltip("p:Q", title="probability", format=".2%"), alt.Tooltip("paint:N",
                                                                                                      title="is")]
    bars = alt.Chart().mark_bar().encode(
        x=x, y=alt.Y("p:Q", title="probability", scale=alt.Scale(domain=[0, 1.15]), axis=alt.Axis(
            format=".0%", values=[0, 0.25, 0.5, 0.75, 1])),
        color=alt.Color("paint:N", title=None, scale=alt.Scale(domain=domain, range=[
            "#009E73", "#0072B2", "#D55E00", "#cccccc"]), legend=alt.Legend(orient="top", values=sorted(
                set(names) - {"other"}, key=domain.index))), tooltip=tip)
    outline = alt.Chart().transform_filter(f"datum.digit === '{label}'").mark_bar(
        fill=None, stroke="#333333", strokeDash=[3, 2], strokeWidth=1.5).encode(x=x, y="top:Q", tooltip=tip)
    tags = alt.Chart().transform_filter("datum.tag !== ''").mark_text(dy=-6, baseline="bottom", fontWeight="bold",
                                                                      fontSize=10).encode(
        x=x, y=alt.Y("top:Q"), text="tag:N")
    return alt.layer(bars, outline, tags, data=_data(df), title="predicted probabilities").properties(
        width=300, height=190)


def attention_over_digit(pixels, attention, *, cell: int = 12) -> alt.FacetChart:
    """The class token's attention over the patches, drawn over the digit: one panel per (layer, head), both counted
    from 0. ``pixels`` is (S, S); ``attention`` is (layers, heads, g, g) with patches of S/g pixels."""
    attention = np.asarray(attention, dtype=float)
    layers, heads = attention.shape[:2]
    panels = {f"layer {layer}, head {h}": attention[layer, h] for layer in range(layers) for h in range(heads)}
    return digit_overlays(pixels, panels, cell=cell, columns=heads)


def digit_overlays(pixels, panels: dict, *, cell: int = 12, columns: int = 4, legend: str = "attention",
                   domain: float = 1.0, choices: dict | None = None) -> alt.FacetChart:
    """A digit drawn once per panel with a (g, g) map over its patches: the digit in grey, each patch tinted orange
    as strongly as its value (on hover), on a shared scale from 0 to ``domain``.

    ``choices`` (name -> map) adds a first panel showing one of them, picked in the browser from a list under the
    chart (a Vega-Lite parameter: no script run), starting on the last one."""
    pixels = np.asarray(pixels, dtype=float)
    s = pixels.shape[0]
    picked = "the head picked below"
    maps = [(picked, name, m) for name, m in (choices or {}).items()] + [(p, "", m) for p, m in panels.items()]
    rows = []
    for panel, head, values in maps:
        values = np.asarray(values, dtype=float)
        g = values.shape[0]
        p = s // g
        for i in range(s):
            for j in range(s):
                rows.append({"panel": panel, "head": head or panel, "row": i, "col": j, "ink": round(pixels[i, j], 3),
                             "weight": round(float(values[i // p, j // p]), 4),
                             "patch": f"patch {(i // p) * g + j // p}"})
    off = alt.Axis(labels=False, ticks=False, title=None, domain=False)
    x, y = alt.X("col:O", axis=off), alt.Y("row:O", axis=off)
    ink = alt.Chart().mark_rect().encode(
        x=x, y=y, color=alt.Color("ink:Q", scale=alt.Scale(scheme="greys", domain=[0, 1]), legend=None))
    tint = alt.Chart().mark_rect(color="#f58518").encode(
        x=x, y=y, opacity=alt.Opacity("weight:Q", scale=alt.Scale(domain=[0, domain], range=[0, 0.75]),
                                      legend=alt.Legend(title=legend, orient="top")),
        tooltip=[alt.Tooltip("head:N", title="panel"), alt.Tooltip("patch:N"),
                 alt.Tooltip("weight:Q", title=legend, format=".4f")])
    chart = alt.layer(ink, tint).properties(width=cell * s, height=cell * s)
    order = ([picked] if choices else []) + list(panels)
    if choices:
        names = list(choices)
        pick = alt.param(name="head", value=names[-1],
                         bind=alt.binding_select(options=names, name="enlarge one head "))
        chart = chart.add_params(pick).transform_filter(f"datum.panel !== {json.dumps(picked)} || datum.head === head")
    return chart.facet(facet=alt.Facet("panel:N", sort=order, title=None), columns=columns,
                       data=_data(pd.DataFrame(rows)))


def confusion_chart(matrix, *, cell: int = 30) -> alt.LayerChart:
    """Validation confusion matrix: rows are the true digit, columns the prediction. Right answers (the diagonal)
    in blue; mistakes in red, where even a single one is a clearly visible colour; empty cells white. Counts are
    printed in every non-empty cell and shown on hover."""
    matrix = np.asarray(matrix)
    labels = [str(d) for d in range(matrix.shape[0])]
    df = _matrix_frame(matrix, labels, labels)
    df["count"] = df["value"].astype(int)
    df["kind"] = np.where(df["row"] == df["col"], "right", np.where(df["count"] > 0, "mistake", "none"))
    df["shown"] = np.where(df["count"] > 0, df["count"].astype(str), "")
    worst = max(1, int(df.loc[df["kind"] == "mistake", "count"].max()) if (df["kind"] == "mistake").any() else 1)
    most = max(1, int(df.loc[df["kind"] == "right", "count"].max()))
    x = alt.X("col:N", sort=labels, title="predicted digit", axis=alt.Axis(labelAngle=0))
    y = alt.Y("row:N", sort=labels, title="true digit")
    tip = [alt.Tooltip("row:N", title="true digit"), alt.Tooltip("col:N", title="predicted digit"),
           alt.Tooltip("count:Q", title="digits")]

    def cells(kind: str, **paint):
        return alt.Chart().transform_filter(f"datum.kind == '{kind}'").mark_rect(
            **({"color": "white", "stroke": "#eeeeee"} if not paint else {})).encode(x=x, y=y, tooltip=tip, **paint)

    def shade(title: str, lo: int, hi: int, colours: list[str]) -> dict:
        return dict(field="count", type="quantitative", title=title, legend=alt.Legend(orient="right", tickMinStep=1),
                    scale=alt.Scale(domain=[lo, hi], range=colours))

    empty = cells("none")
    right = cells("right", color=alt.Color(**shade("right", 0, most, ["#deebf7", "#2171b5"])))
    wrong = cells("mistake", fill=alt.Fill(**shade("mistakes", 1, max(2, worst), ["#fc9272", "#a50f15"])))
    dark = (((df["kind"] == "right") & (df["count"] > 0.5 * most))
            | ((df["kind"] == "mistake") & (df["count"] > 0.6 * worst)))
    df["ink"] = np.where(dark & (df["count"] > 1), "white", "black")
    text = alt.Chart().mark_text().encode(x=x, y=y, text=alt.Text("shown:N"), tooltip=tip,
                                          color=alt.Color("ink:N", scale=_INK, legend=None))
    return (
        alt.layer(empty, right, wrong, text, data=_data(df))
        .resolve_scale(color="independent")
        .properties(
            title="confusion matrix (validation set): mistakes in red",
            width=cell * len(labels),
            height=cell * len(labels),
        )
    )


def model_comparison(records: pd.DataFrame) -> alt.HConcatChart:
    """Loss and accuracy against epoch for each model on the same axes; solid training, dashed validation.

    ``records`` has columns model, epoch, train_loss, val_loss, train_acc, val_acc.
    """
    panels = []
    models = list(dict.fromkeys(records["model"]))
    for metric, (y_title, axis_format, hover_format) in METRICS.items():
        long = _by_split(records, metric, ["model", "epoch"])
        x = alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1))
        y = alt.Y("value:Q", title=y_title, axis=alt.Axis(format=axis_format), scale=alt.Scale(zero=False))
        color = alt.Color("model:N", title="model", sort=models, scale=alt.Scale(range=[PALETTE[0], PALETTE[2]]),
                          legend=alt.Legend(orient="top"))
        dash = _split_dash(alt.Legend(orient="top", symbolType="stroke"))
        lines = alt.Chart().mark_line().encode(x=x, y=y, color=color, strokeDash=dash, detail=alt.Detail("split:N"))
        points = alt.Chart().mark_point(size=40, opacity=0.0, filled=True).encode(
            x=x, y=y, color=color,
            tooltip=[alt.Tooltip("model:N"), alt.Tooltip("split:N"), alt.Tooltip("epoch:Q"),
                     alt.Tooltip("value:Q", title=y_title, format=hover_format)])
        panels.append(alt.layer(lines, points, data=_data(long)).properties(width=290, height=240))
    return alt.hconcat(*panels, title="Transformer and CNN, same data, epochs and optimiser")


# ------------------------------------------------------------------ the sequence model (page 6)
SEQ_METRICS = {"exact_match": "exact-match (held-out)", "token_acc": "token accuracy (held-out)"}


def sequence_curves(records: pd.DataFrame, *, title: str = "", metrics: dict[str, str] | None = None,
                    marker: tuple[int, str] | None = None) -> alt.HConcatChart:
    """Loss, and token accuracy and exact-match, against training step; one colour per run when ``run`` differs.

    ``records`` has columns run, step, loss and the ``metrics`` (column -> label; page 6's two by default)."""
    metrics = metrics or SEQ_METRICS
    runs = list(dict.fromkeys(records["run"]))
    colour = alt.Color("run:N", title=None, sort=runs, scale=alt.Scale(range=PALETTE),
                       legend=alt.Legend(orient="top", labelLimit=300))
    x = alt.X("step:Q", title="training step")
    loss = alt.Chart(_data(records[["run", "step", "loss"]])).mark_line().encode(
        x=x, y=alt.Y("loss:Q", title="cross-entropy on the answer tokens", scale=alt.Scale(zero=False)), color=colour,
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("step:Q"), alt.Tooltip("loss:Q", format=".4f")],
    ).properties(width=300, height=200)
    long = records.melt(id_vars=["run", "step"], value_vars=list(metrics), var_name="measure", value_name="value")
    long["measure"] = long["measure"].map(metrics)
    acc = alt.Chart(_data(long)).mark_line().encode(
        x=x, y=alt.Y("value:Q", title="share right", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
        color=colour, strokeDash=alt.StrokeDash("measure:N", title=None, sort=list(metrics.values()),
                                                legend=alt.Legend(orient="top", symbolType="stroke")),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("measure:N"), alt.Tooltip("step:Q"),
                 alt.Tooltip("value:Q", title="share right", format=".1%")],
    ).properties(width=300, height=200)
    if marker is not None:  # a step to point at, e.g. where accuracy jumps: a dashed rule, labelled
        at = pd.DataFrame({"step": [marker[0]], "text": [marker[1]]})
        acc = acc + alt.Chart(_data(at)).mark_rule(strokeDash=[4, 4], color="#333333").encode(
            x="step:Q", tooltip=[alt.Tooltip("text:N", title="marked")]) + alt.Chart(_data(at)).mark_text(
            align="left", dx=4, dy=8, baseline="top", color="#333333").encode(x="step:Q", y=alt.value(0),
                                                                               text="text:N")
    return alt.hconcat(loss, acc, title=title)


def _grid_cells(layers: int, heads: int, row_labels: Sequence[str], col_labels: Sequence[str]
                ) -> tuple[list[str], pd.DataFrame]:
    """The panels of an every-layer-and-head grid, and one row per cell (panel, query, key), in the order of
    ``maps.reshape(-1)`` for maps shaped (layers, heads, queries, keys)."""
    n_q, n_k = len(row_labels), len(col_labels)
    q, k = np.meshgrid(np.arange(n_q), np.arange(n_k), indexing="ij")
    panels = [f"layer {layer}, head {h}" for layer in range(layers) for h in range(heads)]
    return panels, pd.DataFrame({"panel": np.repeat(panels, n_q * n_k),
                                 "query": np.tile(np.asarray(row_labels, dtype=object)[q.ravel()], layers * heads),
                                 "key": np.tile(np.asarray(col_labels, dtype=object)[k.ravel()], layers * heads)})


def attention_grid(maps, row_labels: Sequence[str], col_labels: Sequence[str], *, title: str = "",
                   cell: int = 18, max_width: int = 780) -> alt.FacetChart:
    """Every layer and head at once: ``maps`` is (layers, heads, queries, keys); rows are queries, columns keys,
    tick labels the tokens themselves. Panels are read left to right by head, top to bottom by layer, and shrink
    to fit ``max_width`` px in all. Weights that are exactly 0 (keys the causal mask hides) are left blank."""
    maps = np.asarray(maps, dtype=float)
    layers, heads, n_q, n_k = maps.shape
    if (n_q, n_k) != (len(row_labels), len(col_labels)):
        raise ValueError(f"maps of {n_q} x {n_k} need as many row and column labels, got "
                         f"{len(row_labels)} and {len(col_labels)}.")
    panels, df = _grid_cells(layers, heads, row_labels, col_labels)
    df = df.assign(weight=maps.reshape(-1).round(4))[maps.reshape(-1) > 0]
    columns = min(heads, 4)  # 8 heads wrap onto two rows per layer
    cell = max(6, min(cell, ((max_width - 110) // columns - 12) // n_k))  # 110 px: the shared query axis and legend
    # no per-cell screen-reader description (aria): it is a string built for each of thousands of cells on every
    # redraw (half the scrubber's time at 12 digits and 8 heads); the title and the hover keep the values
    thin = cell < 11  # cells narrower than a tick label's line: every other token named (all of them on hover)
    return alt.Chart().mark_rect(aria=False).encode(
        # fixed domains: a new step (the scrubber) recolours the cells without working out and laying out the axes
        x=alt.X("key:N", scale=alt.Scale(domain=list(col_labels)), title=KEY_AXIS,
                axis=alt.Axis(labelAngle=-90, labelOverlap="parity" if thin else False)),
        y=alt.Y("query:N", scale=alt.Scale(domain=list(row_labels)), title=QUERY_AXIS,
                axis=alt.Axis(labelOverlap="parity" if thin else False)),
        color=alt.Color("weight:Q", title="weight", scale=alt.Scale(scheme="blues", domain=[0, 1])),
        tooltip=[alt.Tooltip("panel:N"), alt.Tooltip("query:N", title="query (writes the next token)"),
                 alt.Tooltip("key:N", title="key"), alt.Tooltip("weight:Q", title="weight", format=".4f")],
    ).properties(width=cell * n_k, height=cell * n_q).facet(
        facet=alt.Facet("panel:N", sort=panels, title=title or None), columns=columns, data=_data(df))


def attention_over_training(maps, steps: Sequence[int], row_labels: Sequence[str], col_labels: Sequence[str], *,
                            what: str, cell: int = 18, max_width: int = 780) -> alt.FacetChart:
    """``attention_grid`` at every recorded training step, with the step chosen in the browser: ``maps`` is
    (records, layers, heads, queries, keys), ``steps`` the training step of each record. A slider bound to a
    Vega-Lite parameter picks the record, so scrubbing runs no script at all. Starts on the last step.

    One row per cell, holding its weight at every record (columns w0, w1, ...): a move of the slider looks up one
    column for each cell, instead of filtering every record's cells (31 records at page 6's defaults)."""
    maps = np.asarray(maps, dtype=float)
    n, layers, heads = maps.shape[:3]
    last = attention_grid(maps[-1], row_labels, col_labels, cell=cell, max_width=max_width)
    _, df = _grid_cells(layers, heads, row_labels, col_labels)
    by_cell = maps.reshape(n, -1).round(4)  # (records, layers * heads * queries * keys)
    df = pd.concat([df, pd.DataFrame(by_cell.T, columns=[f"w{i}" for i in range(n)])], axis=1)
    df = df[(by_cell > 0).any(axis=0)]  # cells the causal mask hides at every step stay blank
    pick = alt.param(name="record", value=n - 1, bind=alt.binding_range(
        min=0, max=n - 1, step=1, name="scrub through training (the title says the step) "))
    labels = json.dumps([int(s) for s in steps])
    column = alt.param(name="column", expr="'w' + record")  # the record's column, worked out once a move
    chart = last.spec.add_params(pick, column).transform_calculate(weight="datum[column]").transform_filter(
        "datum.weight > 0")
    title = alt.TitleParams(text=alt.ExprRef(f"'step ' + {labels}[record] + {json.dumps(': ' + what)}"),
                            anchor="middle")
    return chart.facet(facet=last.facet, columns=last.columns, data=_data(df), title=title)


def knockout_chart(frame: pd.DataFrame, *, intact: float, labels: Sequence[str] = ("exact-match", "token accuracy")
                   ) -> alt.LayerChart:
    """The task's score with each head removed (a bar per head), against the intact model (a dashed line): a bar far
    below the line is a head the task needs. ``frame`` has columns head, score, other (``labels`` names the two)."""
    heads = list(frame["head"])
    bars = alt.Chart(_data(frame)).mark_bar(color=PALETTE[0]).encode(
        x=alt.X("head:N", sort=heads, title="head removed", axis=alt.Axis(labelAngle=-45, labelOverlap=False)),
        y=alt.Y("score:Q", title=f"{labels[0]} without it", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("head:N", title="removed"), alt.Tooltip("score:Q", title=labels[0], format=".1%"),
                 alt.Tooltip("other:Q", title=labels[1], format=".1%")])
    level = pd.DataFrame({"score": [intact], "text": [f"intact: {intact:.1%}"]})
    rule = alt.Chart(_data(level)).mark_rule(strokeDash=[4, 4], color="#333333").encode(y="score:Q")
    label = alt.Chart(_data(level)).mark_text(align="left", dy=-6, color="#333333").encode(
        y="score:Q", x=alt.value(2), text="text:N")
    return alt.layer(bars, rule, label).properties(width=max(240, 34 * len(heads)), height=200,
                                                   title="Knock one head out: what is left of the task")


def head_share_chart(shares: pd.DataFrame, *, chance: float, what: str) -> alt.LayerChart:
    """Each head's share of attention on the task's target position(s) against training step, with the level that
    attention spread evenly would give. ``shares`` has columns step, head, share."""
    heads = list(dict.fromkeys(shares["head"]))
    lines = alt.Chart(_data(shares)).mark_line(point=True).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("share:Q", title="share of attention", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("head:N", title=None, sort=heads, legend=alt.Legend(orient="right")),
        shape=alt.Shape("head:N", sort=heads, legend=None),  # a point shape per head as well as a colour
        tooltip=[alt.Tooltip("head:N"), alt.Tooltip("step:Q"), alt.Tooltip("share:Q", format=".1%")],
    )
    level = pd.DataFrame({"share": [chance], "text": [f"attention spread evenly: {chance:.0%}"]})
    rule = alt.Chart(_data(level)).mark_rule(strokeDash=[4, 4], color="gray").encode(y="share:Q")
    label = alt.Chart(_data(level)).mark_text(align="right", dy=-6, color="gray").encode(
        y="share:Q", x=alt.value(516), text="text:N")
    return alt.layer(lines, rule, label).properties(width=520, height=240,
                                                    title=f"What each head does: attention on {what}")


# ------------------------------------------------------------------ the data-efficiency study (page 5)
def data_efficiency_chart(summary: pd.DataFrame, *, train_images: int) -> alt.HConcatChart:
    """Validation accuracy against the share of training images, mean of the seeds with their range; and the mean
    CPU time of one training. ``summary`` has columns model, share, mean, low, high, runs, cpu_seconds."""
    models = list(dict.fromkeys(summary["model"]))
    colour = alt.Color("model:N", title="model", sort=models, scale=alt.Scale(range=[PALETTE[0], PALETTE[2]]),
                       legend=alt.Legend(orient="top"))
    shares = sorted(set(summary["share"]))
    x = alt.X("share:Q", title=f"share of the {train_images:,} training images (log scale)",
              scale=alt.Scale(type="log", domain=[0.04, 1.1], nice=False), axis=alt.Axis(format=".0%", values=shares))
    tip = [alt.Tooltip("model:N"), alt.Tooltip("share:Q", format=".0%", title="training images"),
           alt.Tooltip("mean:Q", format=".2%", title="mean accuracy"), alt.Tooltip("low:Q", format=".2%"),
           alt.Tooltip("high:Q", format=".2%"), alt.Tooltip("runs:Q", title="seeds")]
    base = alt.Chart().encode(x=x)
    # the band takes its colour from its own unlegended channel, so the legend shows the lines' colours, not the bands'
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("low:Q"), y2="high:Q", fill=alt.Fill(
        "model:N", sort=models, scale=alt.Scale(range=[PALETTE[0], PALETTE[2]]), legend=None))
    line = base.mark_line(point=True).encode(color=colour, shape=alt.Shape("model:N", sort=models, legend=None),
        y=alt.Y("mean:Q", title="validation accuracy (mean; band: lowest to highest seed)",
                axis=alt.Axis(format=".0%"), scale=alt.Scale(zero=False)), tooltip=tip)
    accuracy = alt.layer(band, line, data=_data(summary)).properties(width=380, height=260)
    time = alt.Chart(_data(summary)).mark_line(point=True).encode(
        x=x, y=alt.Y("cpu_seconds:Q", title="CPU seconds per training (mean)"), color=colour,
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("share:Q", format=".0%"),
                 alt.Tooltip("cpu_seconds:Q", format=".2f", title="CPU seconds")],
    ).properties(width=220, height=260)
    return alt.hconcat(accuracy, time, title="Data efficiency: transformer and CNN on a growing share of the digits")


SPLIT_SLOT = 40  # px of a row of the head-split diagram: its boxes are 6 px a token, from 14 px up to this


@functools.lru_cache(maxsize=8)
def _head_split_frame(width: int) -> str:
    """The head-split diagram's spec without its boxes and title, as JSON: the same for every batch, token count,
    embedding size and head count, so a move of any of them swaps new boxes into the chart the browser has."""
    height = 4 * SPLIT_SLOT + 3 * 34  # four rows, a name over each
    xs = alt.Scale(domain=[0, width], nice=False, zero=True)
    ys = alt.Scale(domain=[height, -30], nice=False, zero=False)
    off = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)
    tip = [alt.Tooltip("step:N"), alt.Tooltip("head:N"), alt.Tooltip("features:Q"), alt.Tooltip("tokens:Q")]
    box = alt.Chart().mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=alt.X("x:Q", scale=xs, axis=off), x2="x2", y=alt.Y("y:Q", scale=ys, axis=off), y2="y2", tooltip=tip)
    heads = box.transform_filter("datum.order >= 0").encode(  # one colour a head, in head order
        color=alt.Color("head:N", legend=None, scale=alt.Scale(scheme="tableau20"),
                        sort=alt.EncodingSortField(field="order", op="min")))
    mixed = box.transform_filter("datum.order < 0").encode(color=alt.value("#7f7f7f"))  # after W_O: grey
    names = alt.Chart().transform_filter("datum.label != ''").mark_text(align="left", baseline="bottom",
                                                                         fontWeight="bold").encode(
        x=alt.value(0), y=alt.Y("label_y:Q", scale=ys), text="label:N")
    return json.dumps(alt.layer(heads, mixed, names, data=alt.NamedData(name="boxes")).properties(
        width=width, height=height).to_dict(validate=False))


def head_split_diagram_spec(n_tokens: int, embed: int, heads: int, *, width: int = 640) -> dict:
    """How [B, T, E] splits into heads of E / heads features and joins again, drawn to scale: width is features,
    height is tokens (6 px a token, from 14 px to 40), one colour per head (grey once W_O mixes them). Top to bottom:
    qis, qis_mh (split), zis (joined), out (after W_O). Drawn across the page (``ui.chart(..., stretch=True)``), the
    boxes scale to the screen and the names keep their size, so a phone shows them as legibly as a laptop; the title
    is two lines of at most 40 characters. Every size is in the data, so one spec serves every setting
    (``_head_split_frame``)."""
    d_head = embed // heads
    gap = 6 if heads <= 32 else 2
    px = (width - gap * heads) / embed  # pixels per feature: everything to the same scale
    h = max(14.0, min(float(SPLIT_SLOT), 6.0 * n_tokens))
    rows, y = [], 0.0
    for name, split in (("qis [B, T, E]", False), (f"qis_mh: {heads} heads of {d_head}", True),
                        ("zis: the heads joined again [B, T, E]", False), ("out = zis · W_O [B, T, E]", None)):
        for c in range(heads if split is not None else 1):
            x0 = c * d_head * px + (c * gap if split else 0)
            w = d_head * px if split is not None else embed * px
            rows.append({"step": name, "head": f"head {c}" if split is not None else "all heads, mixed by W_O",
                         "order": c if split is not None else -1, "x": x0, "x2": x0 + w, "y": y, "y2": y + h,
                         "features": d_head if split is not None else embed, "tokens": n_tokens,
                         "label_y": y - 4, "label": name if c == 0 else ""})
        y += SPLIT_SLOT + 34
    return _filled(_head_split_frame(width), "boxes", rows, title=[
        f"{n_tokens} tokens × {embed} features, split into", f"{heads} heads of {d_head}, joined again (to scale)"])


def head_split_diagram(n_tokens: int, embed: int, heads: int, *, width: int = 640) -> alt.LayerChart:
    """``head_split_diagram_spec`` as an Altair chart (for the tests and the exports)."""
    return alt.LayerChart.from_dict(head_split_diagram_spec(n_tokens, embed, heads, width=width), validate=False)


BAND_TITLE = "accuracy (band: lowest to highest seed)"


def _model_lines(summary: pd.DataFrame, x: alt.X, x_tip: alt.Tooltip, *, y_title: str, width: int,
                 height: int) -> alt.LayerChart:
    """Each model's mean accuracy as a line with points (a colour, a point shape and a dash each), and a band from
    its lowest to its highest seed. ``summary`` has columns model, mean, low, high, seeds and the x field."""
    models = list(dict.fromkeys(summary["model"]))
    scale = alt.Scale(domain=models, range=PALETTE[: len(models)])
    tip = [alt.Tooltip("model:N"), x_tip, alt.Tooltip("mean:Q", format=".1%",
           title="mean accuracy"), alt.Tooltip("low:Q", format=".1%", title="lowest seed"),
           alt.Tooltip("high:Q", format=".1%", title="highest seed"), alt.Tooltip("seeds:Q")]
    base = alt.Chart().encode(x=x)
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("low:Q"), y2="high:Q",
                                             fill=alt.Fill("model:N", scale=scale, legend=None))
    legend = alt.Legend(orient="top", title=None, symbolStrokeWidth=2)  # one legend: colour, point shape and dash
    shapes, dashes = ["circle", "square", "triangle"], [[1, 0], [4, 2], [1, 2]]
    line = base.mark_line(point=alt.OverlayMarkDef(size=50, filled=True)).encode(
        y=alt.Y("mean:Q", title=y_title, axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("model:N", scale=scale, legend=legend),
        shape=alt.Shape("model:N", scale=alt.Scale(domain=models, range=shapes[: len(models)]), legend=legend),
        strokeDash=alt.StrokeDash("model:N", scale=alt.Scale(domain=models, range=dashes[: len(models)]),
                                  legend=legend), tooltip=tip)
    # the band's fill keeps a legend of its own (none), or it would hide the lines' legend
    return alt.layer(band, line).properties(width=width, height=height).resolve_legend(fill="independent")


def robustness_chart(summary: pd.DataFrame, units: dict[str, str]) -> alt.FacetChart:
    """Validation accuracy against the strength of each perturbation (one panel each, its own x axis), both
    models, mean of the seeds with their range. ``summary``: model, kind, strength, mean, low, high, seeds."""
    names = {"noise": "noise", "occlusion": "square", "distractor": "second digit"}
    df = summary.assign(panel=summary["kind"].map(lambda k: f"{names.get(k, k)} ({units[k]})"))
    x = alt.X("strength:Q", title=None, scale=alt.Scale(nice=False))
    lines = _model_lines(df, x, alt.Tooltip("strength:Q"), y_title=BAND_TITLE, width=130, height=170)
    return lines.facet(
        column=alt.Column("panel:N", sort=[f"{names.get(k, k)} ({units[k]})" for k in units], title=None,
                          header=alt.Header(labelFontWeight="bold", labelLimit=160)),
        data=_data(df), title="Accuracy under perturbations the models never saw (x: strength)",
    ).resolve_scale(x="independent")


def shift_chart(summary: pd.DataFrame) -> alt.LayerChart:
    """Validation accuracy against a shift of the digit by 0-2 pixels, both models. ``summary``: model, shift,
    mean, low, high, seeds."""
    x = alt.X("shift:Q", title="shift (pixels; mean of right, left, down, up)", axis=alt.Axis(values=[0, 1, 2],
              format="d"), scale=alt.Scale(domain=[0, 2], nice=False))
    lines = _model_lines(summary, x, alt.Tooltip("shift:Q", title="shift (pixels)"), y_title=BAND_TITLE, width=280,
                         height=180)
    return lines.properties(data=_data(summary), title="Moving the digit")


def cost_chart(sizes, attention, convolution, slopes: dict[str, float]) -> alt.LayerChart:
    """Seconds per forward pass against the number of tokens, both on log scales, one line per layer, the fitted
    slope in the legend."""
    names = {"attention": f"self-attention (slope {slopes['attention']:.2f})",
             "convolution": f"convolution (slope {slopes['convolution']:.2f})"}
    df = pd.DataFrame([{"tokens": n, "ms": 1000 * t, "layer": names[layer]} for layer, times in
                       (("attention", attention), ("convolution", convolution)) for n, t in zip(sizes, times,
                                                                                                 strict=True)])
    scale = alt.Scale(domain=list(names.values()), range=PALETTE[:2])
    return alt.Chart(_data(df), title="One layer's forward pass, measured on this machine").mark_line(
        point=alt.OverlayMarkDef(size=50, filled=True)).encode(
        x=alt.X("tokens:Q", title="tokens n (log scale)", scale=alt.Scale(type="log", nice=False),
                axis=alt.Axis(values=list(sizes), format="d")),
        y=alt.Y("ms:Q", title="milliseconds per pass (log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("layer:N", scale=scale, legend=alt.Legend(orient="top", title=None, direction="vertical")),
        shape=alt.Shape("layer:N", legend=None), strokeDash=alt.StrokeDash("layer:N", legend=None),
        tooltip=[alt.Tooltip("layer:N"), alt.Tooltip("tokens:Q"), alt.Tooltip("ms:Q", format=".3f",
                                                                                title="ms per pass")],
    ).properties(width=300, height=220)
