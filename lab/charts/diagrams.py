from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence

import altair as alt
import pandas as pd

from lab.charts.base import PALETTE, filled, replaced

_FAR = 987654.0  # a placeholder end of the shape diagram's scales in its cached frame, replaced by the real one


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
    """Matrix products drawn as rectangles, one product a row: A x B = C, each labelled with its shape.

    ``equations`` holds (name_a, shape_a, name_b, shape_b, name_c, shape_c). Height follows a matrix's rows and
    width its columns on a log2 scale (not to scale: [768, 6] is tall and thin and [6, 6] a small square, but 768
    is not drawn 128 times as long as 6). Hover a box, or its labels, for its rows and columns. The cached frame
    (``_shape_diagram_frame``) with these boxes, scales and size filled in."""
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
    spec = replaced(replaced(json.loads(_shape_diagram_frame()), [-4, _FAR], [-4, width + 4]), [_FAR, -4], [y, -4])
    spec.update(datasets={"parts": rows + signs}, width=round(width + 8), height=round(y + 4))
    if title:
        spec["title"] = title
    return spec


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
    """Multiply-adds of one attention layer against the number of tokens: linear and quadratic terms, and a dashed
    rule at ``marker`` (the page's setting). The cached frame with these points (and the marker) filled in."""
    rows = [{"tokens": int(t), "term": term, "macs": float(m), "kind": "line"}
            for term, values in ((LINEAR_TERM, linear), (QUADRATIC_TERM, quadratic))
            for t, m in zip(tokens, values, strict=True)]
    if marker is not None:
        rows.append({"tokens": int(marker), "kind": "marker"})
    return filled(_cost_curve_frame(), "costs", rows)


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
    return filled(_head_split_frame(width), "boxes", rows, title=[
        f"{n_tokens} tokens × {embed} features, split into", f"{heads} heads of {d_head}, joined again (to scale)"])


