from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence

import altair as alt
import numpy as np

from lab.charts.base import (
    ARIA_CELLS,
    INK,
    KEY_AXIS,
    PICK,
    QUERY_AXIS,
    TITLE_FIELD,
    as_matrix,
    filled,
    renderer,
    title_ref,
)


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
            text=alt.Text("shown:N"), fill=alt.Fill("ink:N", scale=INK, legend=None)))
    if marked:  # an outline (shape, not only colour) around the chosen cell
        layers.append(base.transform_filter("datum.m === 1").mark_rect(fill=None, stroke="#E69F00", strokeWidth=3,
                                                                       tooltip=tip, aria=False))
    return json.dumps(alt.LayerChart(layer=layers, data=alt.NamedData(name="cells")).to_dict(validate=False))


_PICTURED = re.compile(r"url|t\d+")  # a picture's fields that differ from matrix to matrix


TIP_ROWS = 16  # a heatmap drawn as a picture lists a column's numbers on hover, one line a row, up to this many rows


@functools.lru_cache(maxsize=64)
def _picture_frame(row_title: str, col_title: str, value_title: str, scheme: str, domain: tuple[float, float],
                   picked: str | None) -> str:
    """A wide heatmap's spec as a picture (``raster``: one pixel a cell, coloured as the cells would be, drawn
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
    from lab.charts import raster

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
    """A labelled matrix: one cell per (row, column), value on hover, numbers written in when the cells are large;
    the cached frame (``_heatmap_frame``) with this matrix's cells, size and title filled in (its dataset ``name``).

    Attention maps use the defaults: rows are queries, columns are keys, and each row sums to 1. ``max_width`` caps
    the plot's width: with many columns the cells get narrower (and lose their printed numbers) instead of running
    off the page (down to 6 px a cell). Every row and column keeps its label. Hover shows ``hover_fmt`` (more
    digits than printed). ``select`` names a click selection of one cell (its row and column), for
    ``st.vega_lite_chart(on_select=...)``. ``mark`` outlines one cell (row, column: the one being explained);
    ``blank`` (a boolean matrix) leaves cells empty, such as the weights the causal mask removes.

    ``fill_from`` (with ``max_width``): from this many columns on, the plot is ``max_width`` wide whatever the count
    (the columns share it), on a canvas, its column labels upright, without printed numbers or a screen-reader text
    per cell (a canvas has none; the hover keeps the values): one spec for every such size, so a move between two of
    them (page 2's d_k from 16 to 64, or its trained model's 16 and a random 64) swaps the data into the chart the
    browser has instead of building it anew. Such a matrix of up to ``TIP_ROWS`` rows, with no cell to click, outline
    or leave blank, is drawn as a picture (``_picture_frame``), its hover listing a column's numbers. ``picked``: see
    ``_picture_frame`` (``matrices_spec`` sets it).
    """
    values = as_matrix(values, row_labels, col_labels)
    n_rows, n_cols = values.shape
    fill = fill_from is not None and max_width is not None and n_cols >= fill_from
    height = cell or max(18, min(48, 480 // max(n_rows, n_cols)))
    rows, cols = [str(x) for x in row_labels], [str(x) for x in col_labels]
    if fill and n_rows <= TIP_ROWS and select is None and mark is None and blank is None and not annotate:
        lo_hi = (float(domain[0]), float(domain[1])) if domain else (float(values.min()), float(values.max()))
        frame = _picture_frame(row_title, col_title, value_title, scheme, lo_hi, picked)
        return filled(frame, name, _picture_rows(values, rows, cols, scheme, lo_hi, hover_fmt), data={"name": name},
                       width=max_width, height={"step": height}, title=title or None,
                       usermeta=renderer(ARIA_CELLS + 1))
    width = max_width / n_cols if fill else height if max_width is None else max(6, min(height, max_width // n_cols))
    # printed numbers need large cells; up to ARIA_CELLS cells the text layer is there whether or not they are
    # printed (empty ``shown``), so a matrix growing past 144 cells, or its cells narrower than 26 px, keeps its spec.
    # A matrix filling its width prints none (hover shows them): on every new matrix Vega would run each of its
    # cells through the text layer too (page 2's Q, K and V at 12 x 64: 2,304 cells)
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
    return filled(frame, name, cells, data={"name": name}, width=max_width if fill else {"step": width},
                   height={"step": height}, title=title or None,
                   usermeta=renderer(ARIA_CELLS + 1 if fill else n_rows * n_cols))


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
            "resolve": {"scale": {"color": "shared"}}, **({"usermeta": renderer(ARIA_CELLS + 1)} if canvas else {})}


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


@functools.lru_cache(maxsize=16)
def _stages_frame(x_title: str, y_titles: tuple[str, ...], fmt: str) -> str:
    """``stages`` without its rows and titles, as JSON: one bar panel per stage, each filtering its rows from the one
    dataset ``bars`` and reading its title from the first row, the legend shared (built once per look)."""
    shown = alt.ExprRef(expr="split(data('bars')[0].legend, '|')")

    def panel(k: int, y_title: str) -> alt.Chart:
        return alt.Chart(title=alt.TitleParams(alt.ExprRef(expr=title_ref("bars", k)))).transform_filter(
            f"datum.stage === {k}").mark_bar().encode(
            x=alt.X("label:N", sort=alt.EncodingSortField(field="i", op="min"), title=x_title,
                    axis=alt.Axis(labelAngle=-45, labelLimit=120, labelOverlap=False)),
            y=alt.Y("value:Q", title=y_title),
            color=alt.Color("paint:N", scale=PICK, title=None,
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
    paints = PICK.domain
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


