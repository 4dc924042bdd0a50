"""What a decoder would say if it stopped early: the logit lens, at every training record, scrubbed in the browser."""
from __future__ import annotations

import json
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.base import inline_data, token_axis


def lens_over_training(right, top: Sequence, steps: Sequence[int], row_labels: Sequence[str],
                       col_labels: Sequence[str], *, what: str, width: int = 330, param: str | None = None
                       ) -> alt.Chart:
    """The logit lens of one example at every training record: rows are the read-outs (the embedding, then after
    each block), columns the positions; a cell's colour and number are the probability that read-out gives the right
    next token, its hover adds the read-out's likeliest token. ``right`` is (records, rows, T); ``top`` the same
    shape, as names. A slider bound to a Vega-Lite parameter picks the record (no script run); starts on the last.
    ``param``: the name of a record parameter defined by the chart this one is drawn in (``attention_over_training``
    draws the lens under its grid, both following its one slider); the lens then has no slider of its own."""
    right = np.asarray(right, dtype=float)
    n, rows, cols = right.shape
    top = np.asarray(top, dtype=object)
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    df = pd.DataFrame({"row": np.asarray(row_labels, dtype=object)[r.ravel()],
                       "col": np.asarray(col_labels, dtype=object)[c.ravel()], "r": r.ravel(), "c": c.ravel()})
    df = pd.concat([df, pd.DataFrame(right.reshape(n, -1).T.round(3), columns=[f"p{i}" for i in range(n)]),
                    pd.DataFrame(top.reshape(n, -1).T, columns=[f"t{i}" for i in range(n)])], axis=1)
    record = param or "lensrecord"
    labels = json.dumps([int(s) for s in steps])
    step_w = max(8, min(40, width // cols))
    base = alt.Chart(inline_data(df)).transform_calculate(
        p=f"datum['p' + {record}]", top=f"datum['t' + {record}]").encode(
        x=alt.X("col:N", sort=alt.EncodingSortField("c"), title="position (predicting the token after it)",
                axis=token_axis(col_labels, upright=step_w < 26)),
        y=alt.Y("row:N", sort=alt.EncodingSortField("r"), title=None, axis=alt.Axis(labelOverlap=False)))
    cells = base.mark_rect().encode(
        color=alt.Color("p:Q", title="p(right next token)", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                        legend=alt.Legend(orient="bottom", format=".0%", gradientLength=160)),
        tooltip=[alt.Tooltip("row:N", title="read out"), alt.Tooltip("col:N", title="position"),
                 alt.Tooltip("p:Q", title="p(right next token)", format=".1%"),
                 alt.Tooltip("top:N", title="its likeliest token")])
    layers = [cells]
    if step_w >= 26:  # room for the numbers: printed, so colour is not the only signal
        layers.append(base.mark_text(fontSize=10).encode(
            text=alt.Text("p:Q", format=".0%"),
            color=alt.condition("datum.p > 0.6", alt.value("white"), alt.value("black"))))
    title = alt.TitleParams(text=alt.ExprRef(f"'step ' + {labels}[{record}] + {json.dumps(': ' + what)}"),
                            anchor="start")
    chart = alt.layer(*layers).properties(width=step_w * cols, height=alt.Step(26), title=title)
    if param is None:
        chart = chart.add_params(alt.param(name=record, value=n - 1, bind=alt.binding_range(
            min=0, max=n - 1, step=1, name="training step (the title says which) ")))
    return chart
