from __future__ import annotations

import altair as alt
import pandas as pd

from lab.charts.base import PALETTE, inline_data


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
    accuracy = alt.layer(band, line, data=inline_data(summary)).properties(width=380, height=260)
    time = alt.Chart(inline_data(summary)).mark_line(point=True).encode(
        x=x, y=alt.Y("cpu_seconds:Q", title="CPU seconds per training (mean)"), color=colour,
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("share:Q", format=".0%"),
                 alt.Tooltip("cpu_seconds:Q", format=".2f", title="CPU seconds")],
    ).properties(width=220, height=260)
    return alt.hconcat(accuracy, time, title="Data efficiency: transformer and CNN on a growing share of the digits")


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
        data=inline_data(df), title="Accuracy under perturbations the models never saw (x: strength)",
    ).resolve_scale(x="independent")


def shift_chart(summary: pd.DataFrame) -> alt.LayerChart:
    """Validation accuracy against a shift of the digit by 0-2 pixels, both models. ``summary``: model, shift,
    mean, low, high, seeds."""
    x = alt.X("shift:Q", title="shift (pixels; mean of right, left, down, up)", axis=alt.Axis(values=[0, 1, 2],
              format="d"), scale=alt.Scale(domain=[0, 2], nice=False))
    lines = _model_lines(summary, x, alt.Tooltip("shift:Q", title="shift (pixels)"), y_title=BAND_TITLE, width=280,
                         height=180)
    return lines.properties(data=inline_data(summary), title="Moving the digit")


def cost_chart(sizes, attention, convolution, slopes: dict[str, float]) -> alt.LayerChart:
    """Seconds per forward pass against the number of tokens, both on log scales, one line per layer, the fitted
    slope in the legend."""
    names = {"attention": f"self-attention (slope {slopes['attention']:.2f})",
             "convolution": f"convolution (slope {slopes['convolution']:.2f})"}
    df = pd.DataFrame([{"tokens": n, "ms": 1000 * t, "layer": names[layer]} for layer, times in
                       (("attention", attention), ("convolution", convolution)) for n, t in zip(sizes, times,
                                                                                                 strict=True)])
    scale = alt.Scale(domain=list(names.values()), range=PALETTE[:2])
    return alt.Chart(inline_data(df), title="One layer's forward pass, measured on this machine").mark_line(
        point=alt.OverlayMarkDef(size=50, filled=True)).encode(
        x=alt.X("tokens:Q", title="tokens n (log scale)", scale=alt.Scale(type="log", nice=False),
                axis=alt.Axis(values=list(sizes), format="d")),
        y=alt.Y("ms:Q", title="milliseconds per pass (log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("layer:N", scale=scale, legend=alt.Legend(orient="top", title=None, direction="vertical")),
        shape=alt.Shape("layer:N", legend=None), strokeDash=alt.StrokeDash("layer:N", legend=None),
        tooltip=[alt.Tooltip("layer:N"), alt.Tooltip("tokens:Q"), alt.Tooltip("ms:Q", format=".3f",
                                                                                title="ms per pass")],
    ).properties(width=300, height=220)
