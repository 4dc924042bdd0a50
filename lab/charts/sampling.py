"""A decoder writing: the text coloured by probability, each step's next-token bars, attention and KV cache (one
step picked in the browser), the cost of a step with and without the cache, and how temperature changes the text.
Rows come from ``lab.analyses.writing``."""
from __future__ import annotations

import altair as alt
import pandas as pd

from lab.charts.base import PALETTE, inline_data, token_axis

WIDTH = 320  # every panel fits a 390 px phone with its axis labels
PER_ROW = 6  # tokens per line of the written text
STATUS = alt.Scale(domain=["drawn", "kept", "removed"], range=["#E69F00", PALETTE[0], "#c8c8c8"])
CACHE = alt.Scale(domain=["cached", "added this step", "not yet"], range=[PALETTE[0], "#E69F00", "#eeeeee"])


def _text_strip(tokens: list[dict]) -> alt.LayerChart:
    """The prompt and the written tokens in lines of ``PER_ROW``: a written token's cell is filled by the probability
    it was drawn with (printed under the word, and on hover), the prompt's is grey; the step picked is outlined."""
    df = pd.DataFrame(tokens)
    df["col"], df["line"] = df["position"] % PER_ROW, df["position"] // PER_ROW
    df["shown"] = [("prompt" if s < 0 else f"{p:.0%}") for s, p in zip(df["step"], df["p"], strict=True)]
    cell = WIDTH // PER_ROW
    x = alt.X("col:O", axis=None)
    y = alt.Y("line:O", axis=None)
    tip = [alt.Tooltip("label:N", title="token"), alt.Tooltip("step:Q", title="written at step (-1: prompt)"),
           alt.Tooltip("p:Q", title="probability it was drawn with", format=".1%"),
           alt.Tooltip("rank:Q", title="its rank after temperature")]
    base = alt.Chart(inline_data(df)).encode(x=x, y=y, tooltip=tip)
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.condition("datum.step < 0", alt.value("#e6e6e6"), alt.Color(
            "p:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(title="probability drawn with", format=".0%", orient="bottom", gradientLength=160))),
        strokeWidth=alt.condition("datum.step == step", alt.value(4), alt.value(1)),
        stroke=alt.condition("datum.step == step", alt.value("#111111"), alt.value("white")))
    ink = alt.condition("datum.p > 0.6 && datum.step >= 0", alt.value("white"), alt.value("#111111"))
    words = base.mark_text(dy=-6, fontSize=12, fontWeight="bold").encode(text="word:N", color=ink)
    probs = base.mark_text(dy=9, fontSize=10).encode(text="shown:N", color=ink)
    lines = int(df["line"].max()) + 1
    return alt.layer(cells, words, probs).properties(
        width=cell * PER_ROW, height=38 * lines,
        title=["the text: each written token's probability", "(outlined: the step picked; move the slider below)"])


def _bars(bars: list[dict]) -> alt.LayerChart:
    """The step's ten likeliest next tokens after the temperature: the one drawn, those that could have been, and
    those top-k or top-p (or greedy decoding) removed, each named beside its bar."""
    base = alt.Chart(inline_data(pd.DataFrame(bars))).transform_filter("datum.step == step").encode(
        y=alt.Y("token:N", sort=alt.EncodingSortField("order"), title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X("p:Q", title="probability after temperature", scale=alt.Scale(domain=[0, 1.45]),
                axis=alt.Axis(format=".0%", values=[0, 0.25, 0.5, 0.75, 1])),
        tooltip=[alt.Tooltip("token:N"), alt.Tooltip("p:Q", title="after temperature", format=".2%"),
                 alt.Tooltip("drawn from:Q", title="after top-k and top-p", format=".2%"), alt.Tooltip("why:N")])
    bar = base.mark_bar().encode(color=alt.Color("status:N", scale=STATUS, title=None,
                                                  legend=alt.Legend(orient="bottom")))
    text = base.mark_text(align="left", dx=3, fontSize=10).encode(text="mark:N")
    return alt.layer(bar, text).properties(width=WIDTH - 70, height=190, title=alt.TitleParams(
        alt.ExprRef("'step ' + step + ': the likeliest next tokens'"), anchor="start"))


def _attention(attention: list[dict]) -> alt.Chart:
    """Where the query of the step's last token looked, per head, over every token before it. Many one-letter
    tokens (the induction task's) are labelled by the letter alone, upright."""
    df = pd.DataFrame(attention)
    return alt.Chart(inline_data(df)).transform_filter("datum.step == step").mark_rect().encode(
        x=alt.X("key:N", sort=None, title="key (the tokens read so far)", axis=token_axis(df["key"].unique())),
        y=alt.Y("head:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                        legend=alt.Legend(title="attention", format=".0%", orient="bottom", gradientLength=160)),
        tooltip=[alt.Tooltip("head:N"), alt.Tooltip("key:N"), alt.Tooltip("weight:Q", format=".1%")],
    ).properties(width=WIDTH - 40, height=alt.Step(16), title=alt.TitleParams(
        alt.ExprRef("'step ' + step + ': where the new query looked, per head'"), anchor="start"))


def _cache(cache: list[dict]) -> alt.LayerChart:
    """The KV cache after the step: per layer, the keys and values of each position, kept from earlier steps or
    added by this one (marked +), growing by one column a step."""
    base = alt.Chart(inline_data(pd.DataFrame(cache))).transform_filter("datum.step == step").encode(
        x=alt.X("position:O", title="position", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("row:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=[alt.Tooltip("row:N", title="layer"), alt.Tooltip("label:N", title="token"), alt.Tooltip("state:N")])
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("state:N", scale=CACHE, title=None, legend=alt.Legend(orient="bottom")))
    plus = base.transform_filter("datum.state == 'added this step'").mark_text(fontWeight="bold").encode(
        text=alt.value("+"))
    return alt.layer(cells, plus).properties(width=WIDTH - 60, height=alt.Step(16), title=alt.TitleParams(
        alt.ExprRef("'step ' + step + ': the KV cache (keys and values kept per layer)'"), anchor="start"))


def step_explorer(rows: dict, *, start: int) -> alt.VConcatChart:
    """One generation, a step at a time: a slider bound to a Vega-Lite parameter picks the step (no script run), and
    the text, the next-token bars, the attention per head and the KV cache all follow it. ``rows`` is
    ``writing.step_rows``; ``start`` the step shown first."""
    n = max(1, len({r["step"] for r in rows["bars"]}))
    pick = alt.param(name="step", value=min(start, n - 1), bind=alt.binding_range(
        min=0, max=n - 1, step=1, name="step "))
    # the text last, right above the slider (Vega-Lite draws a binding under the chart): moving it moves the outline
    return alt.vconcat(_bars(rows["bars"]), _attention(rows["attention"]), _cache(rows["cache"]),
                       _text_strip(rows["tokens"])).add_params(pick).resolve_scale(color="independent")


def generation_cost(rows: list[dict]) -> alt.VConcatChart:
    """Per step, with and without the KV cache: multiply-adds (from the model's sizes), their running total (linear
    against quadratic) and the measured time of each step. The two ways differ by dash and point shape as well as
    colour."""
    df = pd.DataFrame(rows)
    ways = list(dict.fromkeys(df["way"]))
    enc = {"color": alt.Color("way:N", title=None, sort=ways, scale=alt.Scale(range=PALETTE[:2]),
                              legend=alt.Legend(orient="bottom")),
           "strokeDash": alt.StrokeDash("way:N", sort=ways, legend=None, scale=alt.Scale(range=[[1, 0], [5, 3]])),
           "shape": alt.Shape("way:N", sort=ways, legend=None)}
    x = alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1, format="d"))

    def panel(field: str, title: str, fmt: str) -> alt.Chart:
        return alt.Chart(inline_data(df)).mark_line(point=True).encode(
            x=x, y=alt.Y(f"{field}:Q", title=title, axis=alt.Axis(format=fmt)), **enc,
            tooltip=[alt.Tooltip("way:N"), alt.Tooltip("step:Q"), alt.Tooltip(f"{field}:Q", format=fmt)],
        ).properties(width=WIDTH - 70, height=130)

    return alt.vconcat(panel("multiply-adds", "multiply-adds per step", "~s"),
                       panel("total", "total so far", "~s"),
                       panel("ms", "measured ms per step", ".2f"),
                       title="The cost of each step, with and without the KV cache")


def temperature_chart(rows: list[dict]) -> alt.FacetChart:
    """The study's shares per temperature, one panel per measure (grammatical sentences; pronoun sentences whose
    sound fits the referent), each bar labelled with its share."""
    df = pd.DataFrame(rows)
    measures = list(dict.fromkeys(df["measure"]))
    base = alt.Chart().encode(
        x=alt.X("temperature:O", title="temperature", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", title="share", scale=alt.Scale(domain=[0, 1.15]),
                axis=alt.Axis(format=".0%", values=[0, 0.5, 1])),
        tooltip=[alt.Tooltip("temperature:O"), alt.Tooltip("measure:N"), alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("of:N")])
    bars = base.mark_bar(color=PALETTE[0])
    text = base.mark_text(dy=-6, fontSize=11).encode(text=alt.Text("share:Q", format=".0%"))
    return alt.layer(bars, text, data=inline_data(df)).properties(width=WIDTH - 70, height=110).facet(
        row=alt.Row("measure:N", sort=measures, title=None, header=alt.Header(labelAngle=0, labelAlign="left",
                                                                             labelAnchor="start", labelOrient="top",
                                                                             labelFontWeight="bold")),
        title="Sentences sampled from the animal language")
