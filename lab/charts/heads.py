from __future__ import annotations

import functools
import json
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.base import KEY_AXIS, PALETTE, QUERY_AXIS, filled, inline_data, renderer


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
    """The small multiples as pictures, one pixel per weight (``lab.charts.raster``), drawn ``cell`` px a token without
    smoothing: to the eye the same maps as ``_head_maps_frame``'s, coloured as its scale colours them, but one image
    mark a head for the browser to draw instead of a rectangle a weight. Axes at the tokens' centres, every
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
    """Small multiples: one attention map per head, ``maps`` shaped (heads, T, T); rows are queries, columns keys.
    Tokens are numbered by position (0 .. T-1). The cached frame with these weights filled in (as pictures above
    ``RASTER_CELLS`` cells in all)."""
    from lab.charts import raster

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
        return filled(_head_maps_picture_frame(n, cell, columns, title), "maps", rows)
    weights = maps.round(4).tolist()
    frame = _head_maps_frame(n <= 16, cell, columns, title)
    rows = [{"head": f"head {i}", "h": i, "query": q, "key": k, "weight": weights[h][q][k]}
            for h, i in enumerate(head_ids) for q in range(n) for k in range(n)]
    return filled(frame, "maps", rows, usermeta=renderer(len(rows)))


def head_maps_hover(cells: int) -> str:
    """What hovering ``head_maps`` of ``cells`` weights in all shows, for the caption under them."""
    if cells <= RASTER_CELLS:
        return "Hover a cell for its weight."
    return (f"{cells:,} weights are more than the {RASTER_CELLS:,} drawn one rectangle each, so each map is a picture, "
            "a pixel a weight: hover it for its largest weight, or use fewer tokens or heads to hover each weight.")


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
        facet=alt.Facet("panel:N", sort=panels, title=title or None), columns=columns, data=inline_data(df))


def attention_over_training(maps, steps: Sequence[int], row_labels: Sequence[str], col_labels: Sequence[str], *,
                            what: str, cell: int = 18, max_width: int = 780, lens: dict | None = None):
    """``attention_grid`` at every recorded training step, with the step chosen in the browser: ``maps`` is
    (records, layers, heads, queries, keys), ``steps`` the training step of each record. A slider bound to a
    Vega-Lite parameter picks the record, so scrubbing runs no script at all. Starts on the last step.

    One row per cell, holding its weight at every record (columns w0, w1, ...): a move of the slider looks up one
    column for each cell, instead of filtering every record's cells (31 records at page 6's defaults).

    ``lens``: ``readouts.lens_over_training``'s arguments for the same records; the lens is drawn under the grid,
    following the same slider."""
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
    chart = last.spec.transform_calculate(weight="datum[column]").transform_filter("datum.weight > 0")
    title = alt.TitleParams(text=alt.ExprRef(f"'step ' + {labels}[record] + {json.dumps(': ' + what)}"),
                            anchor="middle")
    grid = chart.facet(facet=last.facet, columns=last.columns, data=inline_data(df), title=title)
    if lens is None:
        return grid.add_params(pick, column)
    from lab.charts.readouts import lens_over_training

    # the parameters at the top, where both views read them (Altair's add_params would give each view its own)
    return alt.VConcatChart(vconcat=[grid, lens_over_training(steps=steps, param="record", **lens)],
                            params=[pick.param, column.param])


def knockout_chart(frame: pd.DataFrame, *, intact: float, labels: Sequence[str] = ("exact-match", "token accuracy")
                   ) -> alt.LayerChart:
    """The task's score with each head removed (a bar per head), against the intact model (a dashed line): a bar far
    below the line is a head the task needs. ``frame`` has columns head, score, other (``labels`` names the two)."""
    heads = list(frame["head"])
    bars = alt.Chart(inline_data(frame)).mark_bar(color=PALETTE[0]).encode(
        x=alt.X("head:N", sort=heads, title="head removed", axis=alt.Axis(labelAngle=-45, labelOverlap=False)),
        y=alt.Y("score:Q", title=f"{labels[0]} without it", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("head:N", title="removed"), alt.Tooltip("score:Q", title=labels[0], format=".1%"),
                 alt.Tooltip("other:Q", title=labels[1], format=".1%")])
    level = pd.DataFrame({"score": [intact], "text": [f"intact: {intact:.1%}"]})
    rule = alt.Chart(inline_data(level)).mark_rule(strokeDash=[4, 4], color="#333333").encode(y="score:Q")
    label = alt.Chart(inline_data(level)).mark_text(align="left", dy=-6, color="#333333").encode(
        y="score:Q", x=alt.value(2), text="text:N")
    return alt.layer(bars, rule, label).properties(width=max(240, 34 * len(heads)), height=200,
                                                   title="Knock one head out: what is left of the task")


def head_share_chart(shares: pd.DataFrame, *, chance: float, what: str) -> alt.LayerChart:
    """Each head's share of attention on the task's target position(s) against training step, with the level that
    attention spread evenly would give. ``shares`` has columns step, head, share."""
    heads = list(dict.fromkeys(shares["head"]))
    lines = alt.Chart(inline_data(shares)).mark_line(point=True).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("share:Q", title="share of attention", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("head:N", title=None, sort=heads, legend=alt.Legend(orient="right")),
        shape=alt.Shape("head:N", sort=heads, legend=None),  # a point shape per head as well as a colour
        tooltip=[alt.Tooltip("head:N"), alt.Tooltip("step:Q"), alt.Tooltip("share:Q", format=".1%")],
    )
    level = pd.DataFrame({"share": [chance], "text": [f"attention spread evenly: {chance:.0%}"]})
    rule = alt.Chart(inline_data(level)).mark_rule(strokeDash=[4, 4], color="gray").encode(y="share:Q")
    label = alt.Chart(inline_data(level)).mark_text(align="right", dy=-6, color="gray").encode(
        y="share:Q", x=alt.value(516), text="text:N")
    return alt.layer(lines, rule, label).properties(width=520, height=240,
                                                    title=f"What each head does: attention on {what}")


def circuit_chart(shares: pd.DataFrame, loss: pd.DataFrame, *, what: str, window: tuple[int, int] | None = None
                  ) -> alt.LayerChart:
    """Each head's score (``shares``: step, head, share) against training step, with the training loss (``loss``:
    step, loss) on a second axis, dashed: a circuit forming shows as one head's score jumping while the loss drops.
    ``window`` (first step, last step) shades where the jump happens."""
    heads = list(dict.fromkeys(shares["head"]))
    lines = alt.Chart(inline_data(shares)).mark_line(point=True).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("share:Q", title=what, scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("head:N", title=None, sort=heads, legend=alt.Legend(orient="bottom", columns=2)),
        shape=alt.Shape("head:N", sort=heads, legend=None),
        tooltip=[alt.Tooltip("head:N"), alt.Tooltip("step:Q"), alt.Tooltip("share:Q", format=".2f")])
    dashed = alt.Chart(inline_data(loss)).mark_line(color="#333333", strokeDash=[6, 3]).encode(
        x="step:Q", y=alt.Y("loss:Q", title="training loss (dashed)", axis=alt.Axis(orient="right")),
        tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("loss:Q", format=".3f")])
    layers = [lines, dashed]
    if window:
        band = pd.DataFrame({"start": [window[0]], "end": [window[1]]})
        layers.insert(0, alt.Chart(inline_data(band)).mark_rect(color="#E69F00", opacity=0.15).encode(
            x="start:Q", x2="end:Q"))
    return alt.layer(*layers).resolve_scale(y="independent").properties(
        width=260, height=220, title="A circuit forming: each head's score and the loss")
