from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.base import INK, inline_data, matrix_frame


def digit_image(pixels, *, title: str = "", cell: int = 22) -> alt.Chart:
    """An 8x8 digit, drawn as grey cells (darker = more ink), pixel value on hover."""
    pixels = np.asarray(pixels, dtype=float)
    n = pixels.shape[0]
    r, c = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    df = pd.DataFrame({"row": r.ravel(), "col": c.ravel(), "ink": pixels.ravel().round(3)})
    off = alt.Axis(labels=False, ticks=False, title=None, domain=False)
    return alt.Chart(inline_data(df), title=title).mark_rect().encode(
        x=alt.X("col:O", axis=off), y=alt.Y("row:O", axis=off),
        color=alt.Color("ink:Q", scale=alt.Scale(scheme="greys", domain=[0, 1]), legend=None),
        tooltip=[alt.Tooltip("row:O"), alt.Tooltip("col:O", title="column"), alt.Tooltip("ink:Q", format=".2f")],
    ).properties(width=cell * n, height=cell * n)


def probability_bars(probs, *, label: int | None, pred: int) -> alt.LayerChart:
    """The model's probability for each digit. The true class and the prediction differ by more than colour: each
    is named above its bar, and the true class is outlined to the top, so it shows even where its probability is
    about 0 (a misread digit). ``label`` None: no true class (a drawing), only the prediction is named."""
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
    outline = alt.Chart().transform_filter(f"datum.digit === '{'' if label is None else label}'").mark_bar(
        fill=None, stroke="#333333", strokeDash=[3, 2], strokeWidth=1.5).encode(x=x, y="top:Q", tooltip=tip)
    tags = alt.Chart().transform_filter("datum.tag !== ''").mark_text(dy=-6, baseline="bottom", fontWeight="bold",
                                                                      fontSize=10).encode(
        x=x, y=alt.Y("top:Q"), text="tag:N")
    return alt.layer(bars, outline, tags, data=inline_data(df), title="predicted probabilities").properties(
        width=300, height=190)


def drawing_canvas(cells, *, cell: int = 34) -> alt.Chart:
    """The 8x8 canvas a student draws on: a tap (or click) on a cell selects it (the point parameter ``cell``, with
    its row and col), the page then inks or erases it. Grid lines show every cell, empty ones too."""
    cells = np.asarray(cells, dtype=float)
    n = cells.shape[0]
    r, c = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    df = pd.DataFrame({"row": r.ravel(), "col": c.ravel(), "ink": cells.ravel().round(2)})
    off = alt.Axis(labels=False, ticks=False, title=None, domain=False)
    tap = alt.selection_point(name="cell", fields=["row", "col"], on="click", clear=False, empty=False)
    return alt.Chart(inline_data(df)).mark_rect(stroke="#999999", strokeWidth=1, cursor="pointer").encode(
        x=alt.X("col:O", axis=off), y=alt.Y("row:O", axis=off),
        color=alt.Color("ink:Q", scale=alt.Scale(scheme="greys", domain=[0, 1]), legend=None),
        tooltip=[alt.Tooltip("row:O"), alt.Tooltip("col:O", title="column"), alt.Tooltip("ink:Q", format=".1f")],
    ).add_params(tap).properties(width=cell * n, height=cell * n, title="your drawing: tap a cell")


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
                       data=inline_data(pd.DataFrame(rows)))


def confusion_chart(matrix, *, cell: int = 30) -> alt.LayerChart:
    """Validation confusion matrix: rows are the true digit, columns the prediction. Right answers (the diagonal)
    in blue; mistakes in red, where even a single one is a clearly visible colour; empty cells white. Counts are
    printed in every non-empty cell and shown on hover."""
    matrix = np.asarray(matrix)
    labels = [str(d) for d in range(matrix.shape[0])]
    df = matrix_frame(matrix, labels, labels)
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
                                          color=alt.Color("ink:N", scale=INK, legend=None))
    return (
        alt.layer(empty, right, wrong, text, data=inline_data(df))
        .resolve_scale(color="independent")
        .properties(
            title="confusion matrix (validation set): mistakes in red",
            width=cell * len(labels),
            height=cell * len(labels),
        )
    )
