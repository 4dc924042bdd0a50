from __future__ import annotations

import altair as alt
import pandas as pd

from lab.charts.base import PALETTE, inline_data

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
    return alt.layer(lines, points, data=inline_data(long)).properties(width=panel_width, height=240).facet(
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
        panels.append(alt.Chart(inline_data(_by_split(records, metric, ["epoch"]))).mark_line().encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=axis_format), scale=alt.Scale(zero=False)),
            color=_split_colour(), strokeDash=_split_dash(),
        ).properties(width=300, height=200))
    return alt.hconcat(*panels, title=title)


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
        panels.append(alt.layer(lines, points, data=inline_data(long)).properties(width=290, height=240))
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
    loss = alt.Chart(inline_data(records[["run", "step", "loss"]])).mark_line().encode(
        x=x, y=alt.Y("loss:Q", title="cross-entropy on the answer tokens", scale=alt.Scale(zero=False)), color=colour,
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("step:Q"), alt.Tooltip("loss:Q", format=".4f")],
    ).properties(width=300, height=200)
    long = records.melt(id_vars=["run", "step"], value_vars=list(metrics), var_name="measure", value_name="value")
    long["measure"] = long["measure"].map(metrics)
    acc = alt.Chart(inline_data(long)).mark_line().encode(
        x=x, y=alt.Y("value:Q", title="share right", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
        color=colour, strokeDash=alt.StrokeDash("measure:N", title=None, sort=list(metrics.values()),
                                                legend=alt.Legend(orient="top", symbolType="stroke")),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("measure:N"), alt.Tooltip("step:Q"),
                 alt.Tooltip("value:Q", title="share right", format=".1%")],
    ).properties(width=300, height=200)
    if marker is not None:  # a step to point at, e.g. where accuracy jumps: a dashed rule, labelled
        at = pd.DataFrame({"step": [marker[0]], "text": [marker[1]]})
        acc = acc + alt.Chart(inline_data(at)).mark_rule(strokeDash=[4, 4], color="#333333").encode(
            x="step:Q", tooltip=[alt.Tooltip("text:N", title="marked")]) + alt.Chart(inline_data(at)).mark_text(
            align="left", dx=4, dy=8, baseline="top", color="#333333").encode(x="step:Q", y=alt.value(0),
                                                                               text="text:N")
    return alt.hconcat(loss, acc, title=title)


PIN_DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3]]
PIN_SHAPES = ["circle", "square", "triangle-up", "diamond"]


def pinned_curves(data: pd.DataFrame, measure: str, *, x: str, y_title: str, title: str, width: int = 340,
                  percent: bool = False) -> alt.LayerChart:
    """Pinned runs on one chart, a line per run told apart by colour, dash and point shape (never colour alone),
    the legend on top naming each run by what differs.

    ``data`` has columns run, ``x`` (epoch or step) and ``measure``. ``percent``: the measure is a share (0..1)."""
    runs = list(dict.fromkeys(data["run"]))
    n = len(runs)
    fmt = ".0%" if percent else ".2f"
    legend = alt.Legend(orient="top", direction="vertical", title=None, labelLimit=width, symbolStrokeWidth=2)
    common = dict(
        x=alt.X(f"{x}:Q", title=x, axis=alt.Axis(tickMinStep=1)),
        y=alt.Y(f"{measure}:Q", title=y_title, axis=alt.Axis(format=fmt), scale=alt.Scale(zero=False)),
        color=alt.Color("run:N", sort=runs, scale=alt.Scale(domain=runs, range=PALETTE[:n]), legend=legend),
    )
    lines = alt.Chart().mark_line(strokeWidth=2).encode(
        **common, strokeDash=alt.StrokeDash("run:N", sort=runs, scale=alt.Scale(domain=runs, range=PIN_DASHES[:n]),
                                            legend=legend))
    every = max(1, int(data.groupby("run")[x].count().max()) // 8)  # a few marks per line, not one per record
    marks = data[data.groupby("run").cumcount() % every == 0]
    points = alt.Chart(inline_data(marks)).mark_point(size=45, filled=True).encode(
        **common, shape=alt.Shape("run:N", sort=runs, scale=alt.Scale(domain=runs, range=PIN_SHAPES[:n]),
                                  legend=legend),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip(f"{x}:Q"), alt.Tooltip(f"{measure}:Q", title=y_title,
                                                                           format=".2%" if percent else ".4f")])
    return alt.layer(lines, points, data=inline_data(data)).properties(width=width, height=220, title=title)
