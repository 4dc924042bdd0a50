"""Every chart the app draws: pure functions from plain numbers to ``alt.Chart``, so they can be unit-tested.

Nothing here imports torch or streamlit; pages turn tensors into lists or arrays before calling. Token labels
carry their position ("0: the", "1: cat") so a repeated word keeps its own row and column.
"""
from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

QUERY_AXIS = "query token (row)"
KEY_AXIS = "key token (column)"


def token_labels(tokens: Sequence[str]) -> list[str]:
    """'0: the', '1: cat', ...: unique axis labels in token order."""
    return [f"{i}: {t}" for i, t in enumerate(tokens)]


def _data(df: pd.DataFrame) -> alt.InlineData:
    """Rows handed to Vega-Lite as plain records (cheaper per rerun than Altair's DataFrame conversion).

    Not validated row by row on creation: the values are plain numbers and strings; the chart around them is
    validated against the schema in the unit tests."""
    with alt.utils.schemapi.debug_mode(False):
        return alt.InlineData(values=df.to_dict("records"))


def _matrix_frame(values, row_labels, col_labels) -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    rows, cols = np.meshgrid(np.arange(values.shape[0]), np.arange(values.shape[1]), indexing="ij")
    return pd.DataFrame({
        "row": np.asarray(row_labels, dtype=object)[rows.ravel()],
        "col": np.asarray(col_labels, dtype=object)[cols.ravel()],
        "value": values.ravel(),
    })


def heatmap(values, row_labels: Sequence[str], col_labels: Sequence[str], *, title: str = "",
            row_title: str = QUERY_AXIS, col_title: str = KEY_AXIS, value_title: str = "weight",
            scheme: str = "blues", annotate: bool | None = None, fmt: str = ".2f", cell: int | None = None,
            domain: tuple[float, float] | None = None) -> alt.LayerChart:
    """A labelled matrix: one cell per (row, column), value on hover, numbers written in when it is small.

    Attention maps use the defaults: rows are queries, columns are keys, and each row sums to 1.
    """
    df = _matrix_frame(values, row_labels, col_labels)
    df["shown"] = [format(v, fmt) for v in df["value"]]
    n_rows, n_cols = len(row_labels), len(col_labels)
    annotate = (n_rows * n_cols <= 144) if annotate is None else annotate
    cell = cell or max(14, min(48, 480 // max(n_rows, n_cols)))
    lo, hi = domain if domain else (df["value"].min(), df["value"].max())
    dark_from = lo + 0.6 * (hi - lo) if scheme != "redblue" else None
    if dark_from is None:  # diverging scheme: dark at both ends
        df["ink"] = np.where(np.abs(df["value"]) > 0.6 * max(abs(lo), abs(hi)), "white", "black")
    else:
        df["ink"] = np.where(df["value"] > dark_from, "white", "black")
    tooltip = [alt.Tooltip("row:N", title=row_title or "row"), alt.Tooltip("col:N", title=col_title or "column"),
               alt.Tooltip("shown:N", title=value_title)]
    base = alt.Chart().encode(
        x=alt.X("col:N", sort=list(col_labels), title=col_title, axis=alt.Axis(labelAngle=-45, labelLimit=120)),
        y=alt.Y("row:N", sort=list(row_labels), title=row_title or None, axis=alt.Axis(labelLimit=160)),
        tooltip=tooltip,
    )
    scale = alt.Scale(scheme=scheme, domain=list(domain)) if domain else alt.Scale(scheme=scheme)
    layers = [base.mark_rect().encode(color=alt.Color("value:Q", title=value_title, scale=scale))]
    if annotate:
        layers.append(base.mark_text(fontSize=11).encode(text=alt.Text("shown:N"), color=alt.Color("ink:N", scale=None)))
    # the data goes in last, once: every Altair step before it copies the whole chart
    return alt.LayerChart(layer=layers, data=_data(df), title=title, width=cell * n_cols, height=cell * n_rows)


def bars(labels: Sequence[str], values, *, title: str, x_title: str, y_title: str, fmt: str = ".3f",
         highlight: int | None = None) -> alt.Chart:
    """One bar per token (in order), value on hover; ``highlight`` picks one bar out in red."""
    df = pd.DataFrame({"label": list(labels), "value": np.asarray(values, dtype=float)})
    df["paint"] = ["#e45756" if i == highlight else "#4c78a8" for i in range(len(df))]
    return alt.Chart(title=title).mark_bar().encode(
        x=alt.X("label:N", sort=list(labels), title=x_title, axis=alt.Axis(labelAngle=-45, labelLimit=120)),
        y=alt.Y("value:Q", title=y_title),
        color=alt.Color("paint:N", scale=None),
        tooltip=[alt.Tooltip("label:N", title=x_title), alt.Tooltip("value:Q", title=y_title, format=fmt)],
    ).properties(height=220, data=_data(df))


def shape_diagram(shapes: dict[str, Sequence[int]], names: Sequence[str], *, title: str = "") -> alt.Chart:
    """Matrices drawn side by side as rectangles sized by their dimensions (log2 scale), labelled with the shape.

    Height follows the rows and width the columns, so [768, 6] is tall and thin and [6, 6] is a small square.
    """
    def side(n: int) -> float:
        return 12 + 26 * math.log2(n + 1)

    rows, x = [], 0.0
    top = max(side(shapes[n][0]) for n in names)
    for name in names:
        r, c = shapes[name]
        w, h = side(c), side(r)
        rows.append({"name": name, "shape": f"[{r}, {c}]", "x": x, "x2": x + w, "y": top - h, "y2": top,
                     "cx": x + w / 2, "rows": r, "cols": c})
        x += w + 40
    df = pd.DataFrame(rows)
    xs = alt.Scale(domain=[0, x], nice=False)
    ys = alt.Scale(domain=[top + 40, -4], nice=False)
    no_axis = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)
    tip = [alt.Tooltip("name:N", title="matrix"), alt.Tooltip("rows:Q", title="rows"), alt.Tooltip("cols:Q", title="columns")]
    rect = alt.Chart(df).mark_rect(opacity=0.75, stroke="#333", strokeWidth=1).encode(
        x=alt.X("x:Q", scale=xs, axis=no_axis), x2=alt.X2("x2"), y=alt.Y("y:Q", scale=ys, axis=no_axis), y2=alt.Y2("y2"),
        color=alt.Color("name:N", legend=None, scale=alt.Scale(scheme="tableau20")), tooltip=tip)
    label = alt.Chart(df).mark_text(dy=14, fontSize=13, fontWeight="bold").encode(
        x=alt.X("cx:Q", scale=xs), y=alt.Y("y2:Q", scale=ys), text=alt.Text("name:N"))
    dims = alt.Chart(df).mark_text(dy=30, fontSize=12).encode(x=alt.X("cx:Q", scale=xs), y=alt.Y("y2:Q", scale=ys), text=alt.Text("shape:N"))
    return (rect + label + dims).properties(title=title, height=top + 50, width=max(300, x * 1.0))


def cost_curve(tokens: Sequence[int], linear: Sequence[float], quadratic: Sequence[float], *, marker: int | None = None) -> alt.Chart:
    """Multiply-adds of one attention layer against the number of tokens: linear and quadratic terms."""
    df = pd.DataFrame({"tokens": list(tokens) * 3,
                       "term": ["projections Q, K, V (linear in tokens)"] * len(tokens)
                       + ["scores and weighted sum (quadratic in tokens)"] * len(tokens) + ["total"] * len(tokens),
                       "macs": list(linear) + list(quadratic) + [a + b for a, b in zip(linear, quadratic)]})
    line = alt.Chart(df, title="How the cost of self-attention grows with sequence length").mark_line(point=False).encode(
        x=alt.X("tokens:Q", title="number of tokens", scale=alt.Scale(type="log", base=2)),
        y=alt.Y("macs:Q", title="multiply-adds (log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("term:N", title=None, legend=alt.Legend(orient="bottom", columns=1)),
        tooltip=[alt.Tooltip("tokens:Q"), alt.Tooltip("term:N"), alt.Tooltip("macs:Q", title="multiply-adds", format=",.0f")],
    )
    chart = line
    if marker is not None:
        rule = alt.Chart(pd.DataFrame({"tokens": [marker]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
            x=alt.X("tokens:Q"), tooltip=[alt.Tooltip("tokens:Q", title="your setting")])
        chart = line + rule
    return chart.properties(height=300)


def softmax_peak_chart(d_ks: Sequence[int], scaled: Sequence[float], unscaled: Sequence[float], *, n_tokens: int, d_k: int | None = None) -> alt.Chart:
    """Mean largest softmax weight for random vectors against d_k, with and without the 1/sqrt(d_k) factor."""
    df = pd.DataFrame({"d_k": list(d_ks) * 2,
                       "scaling": ["softmax(q·k / √d_k)"] * len(d_ks) + ["softmax(q·k), not scaled"] * len(d_ks),
                       "peak": list(scaled) + list(unscaled)})
    line = alt.Chart(df, title=f"How peaked softmax gets ({n_tokens} random keys)").mark_line(point=True).encode(
        x=alt.X("d_k:Q", title="d_k (key size, log scale)", scale=alt.Scale(type="log", base=2)),
        y=alt.Y("peak:Q", title="mean largest weight", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("scaling:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("d_k:Q"), alt.Tooltip("scaling:N"), alt.Tooltip("peak:Q", title="mean largest weight", format=".3f")],
    )
    uniform = alt.Chart(pd.DataFrame({"u": [1 / n_tokens]})).mark_rule(strokeDash=[2, 2], color="gray").encode(
        y=alt.Y("u:Q"), tooltip=[alt.Tooltip("u:Q", title="uniform weight 1/tokens", format=".3f")])
    chart = line + uniform
    if d_k is not None:
        chart = chart + alt.Chart(pd.DataFrame({"d_k": [d_k]})).mark_rule(color="#e45756").encode(
            x=alt.X("d_k:Q"), tooltip=[alt.Tooltip("d_k:Q", title="your d_k")])
    return chart.properties(height=280)


def head_maps(maps, token_names: Sequence[str], *, head_ids: Sequence[int] | None = None, columns: int = 4,
              title: str = "") -> alt.FacetChart:
    """Small multiples: one attention map per head, shape (heads, T, T), rows are queries and columns keys."""
    maps = np.asarray(maps, dtype=float)
    head_ids = list(range(maps.shape[0])) if head_ids is None else list(head_ids)
    labels = token_labels(token_names)
    frames = []
    for h, m in zip(head_ids, maps):
        f = _matrix_frame(m, labels, labels)
        f["head"] = f"head {h}"
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    n = len(labels)
    cell = max(4, min(22, 200 // n))
    show_labels = n <= 16
    axis = alt.Axis(labels=show_labels, ticks=show_labels, labelLimit=80)
    return alt.Chart(_data(df)).mark_rect().encode(
        x=alt.X("col:N", sort=labels, title=KEY_AXIS, axis=axis),
        y=alt.Y("row:N", sort=labels, title=QUERY_AXIS, axis=axis),
        color=alt.Color("value:Q", title="weight", scale=alt.Scale(scheme="blues", domain=[0, 1])),
        tooltip=[alt.Tooltip("head:N"), alt.Tooltip("row:N", title="query"), alt.Tooltip("col:N", title="key"),
                 alt.Tooltip("value:Q", title="weight", format=".3f")],
    ).properties(width=cell * n, height=cell * n).facet(
        facet=alt.Facet("head:N", sort=[f"head {h}" for h in head_ids], title=title or None),
        columns=columns)


def training_curves(records: pd.DataFrame, metric: str, *, title: str) -> alt.Chart:
    """``metric`` ("loss" or "acc") against epoch: one colour per run, solid for training, dashed for validation.

    ``records`` has columns run, epoch, train_<metric>, val_<metric>.
    """
    long = records.melt(id_vars=["run", "epoch"], value_vars=[f"train_{metric}", f"val_{metric}"],
                        var_name="split", value_name="value")
    long["split"] = long["split"].map({f"train_{metric}": "train", f"val_{metric}": "validation"})
    is_acc = metric == "acc"
    y_title = "accuracy" if is_acc else "cross-entropy loss"
    runs = list(dict.fromkeys(records["run"]))
    return alt.Chart(long, title=title).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domainMin=1)),
        y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=".0%" if is_acc else ".2f"),
                scale=alt.Scale(zero=False)),
        color=alt.Color("run:N", title="run", sort=runs),
        strokeDash=alt.StrokeDash("split:N", title="split", sort=["train", "validation"]),
        detail=alt.Detail("run:N"),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("split:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("value:Q", title=y_title, format=".2%" if is_acc else ".4f")],
    ).properties(height=320)


def receptive_field_chart(depth: Sequence[int], attention: Sequence[int], conv: Sequence[int], *, n_tokens: int, kernel: int) -> alt.Chart:
    """How many input positions one output position can see, against the number of layers."""
    df = pd.DataFrame({"layers": list(depth) * 2,
                       "model": ["self-attention"] * len(depth) + [f"convolution, kernel {kernel}"] * len(depth),
                       "seen": list(attention) + list(conv)})
    line = alt.Chart(df, title=f"Receptive field on a sequence of {n_tokens} tokens").mark_line(point=True).encode(
        x=alt.X("layers:Q", title="number of layers", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("seen:Q", title="input tokens one output can see"),
        color=alt.Color("model:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("layers:Q"), alt.Tooltip("seen:Q", title="tokens seen")],
    )
    total = alt.Chart(pd.DataFrame({"n": [n_tokens]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
        y=alt.Y("n:Q"), tooltip=[alt.Tooltip("n:Q", title="whole sequence")])
    return (line + total).properties(height=300)
