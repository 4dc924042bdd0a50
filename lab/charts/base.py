from __future__ import annotations

import json
import re
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

# Altair checks every object against the schema as it is made (its "debug mode"), a cost on every rerun with new
# data. The unit tests validate every chart's whole spec (``to_dict()``), which catches the same errors.
alt.utils.schemapi.disable_debug_mode()


# identity colour scales written out (Streamlit's chart theme cannot read a null scale)
INK = alt.Scale(domain=["black", "white"], range=["black", "white"])


# Okabe & Ito's colour-blind-safe palette (blue, vermillion, bluish green, reddish purple, orange, sky blue): told
# apart with every common colour-vision deficiency; charts that compare series also differ by dash or point shape.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


OWN_KEY = "the query's own key"  # the bars' highlight: orange, a colour the red-blue heatmaps never use


PICK = alt.Scale(domain=[OWN_KEY, "other keys", "masked (a later token)"], range=["#E69F00", "#0072B2", "#cccccc"])


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


def token_axis(labels: Sequence[str], upright: bool = True) -> alt.Axis:
    """The axis of a chart's positions labelled 'i: token': where every token is one or two characters (the induction
    task's letters) and ``upright`` allows, just the token, upright (many fit side by side); else the whole label,
    slanted. Every label is kept."""
    if upright and all(len(str(label).split(": ", 1)[-1]) <= 2 for label in labels):
        return alt.Axis(labelAngle=0, labelExpr="split(datum.label, ': ')[1]", labelOverlap=False)
    return alt.Axis(labelAngle=-60, labelOverlap=False)


def inline_data(df: pd.DataFrame) -> alt.InlineData:
    """Rows handed to Vega-Lite as plain records (cheaper per rerun than Altair's DataFrame conversion).

    Not validated row by row on creation: the values are plain numbers and strings; the chart around them is
    validated against the schema in the unit tests."""
    with alt.utils.schemapi.debug_mode(False):
        return alt.InlineData(values=df.to_dict("records"))


def as_matrix(values, row_labels, col_labels) -> np.ndarray:
    """``values`` as a float array, checked against its labels."""
    values = np.asarray(values, dtype=float)
    if values.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"a {values.shape} matrix needs {values.shape[0]} row and {values.shape[1]} column labels, "
                         f"got {len(row_labels)} and {len(col_labels)}.")
    return values


def matrix_frame(values, row_labels, col_labels) -> pd.DataFrame:
    values = as_matrix(values, row_labels, col_labels)
    rows, cols = np.meshgrid(np.arange(values.shape[0]), np.arange(values.shape[1]), indexing="ij")
    return pd.DataFrame({
        "row": np.asarray(row_labels, dtype=object)[rows.ravel()],
        "col": np.asarray(col_labels, dtype=object)[cols.ravel()],
        "value": values.ravel(),
    })


ARIA_CELLS = 256  # heatmaps up to this many cells describe each cell to a screen reader


def renderer(cells: int) -> dict | None:
    """The usermeta that draws a chart of more than ``ARIA_CELLS`` cells on a canvas rather than as SVG: a new matrix
    then repaints one element instead of replacing hundreds of SVG nodes. Streamlit reads the renderer from the
    spec's usermeta (and picks canvas by itself above 2,000 rows). A new dict each time: specs are handed on, and may
    be changed, one by one."""
    return {"embedOptions": {"renderer": "canvas"}} if cells > ARIA_CELLS else None


TITLE_FIELD = "title_line"  # a data title's lines, in fields title_line0, title_line1, ... of the first row


def title_ref(name: str, line: int) -> str:
    """The Vega expression that reads line ``line`` of a title carried in dataset ``name`` (``title_text`` reads it
    back)."""
    return f"data('{name}')[0].{TITLE_FIELD}{line}"


def filled(frame: str, name: str, rows: list[dict], *, title: str | list[str] | None = None, **top) -> dict:
    """A cached chart frame (JSON, its data named ``name``) with this chart's rows, title and top-level settings.

    The title travels with the rows (on the first one, read by a Vega expression), so a chart whose title changes
    with a control (the query's word, √d_k, the mask) keeps one spec: the browser swaps the new rows and title into
    the chart it has instead of building the chart again. ``title_text`` reads it back."""
    spec = json.loads(frame)
    if title and rows:
        lines = [title] if isinstance(title, str) else list(title)
        rows[0] = {**rows[0], **{f"{TITLE_FIELD}{i}": line for i, line in enumerate(lines)}}
        refs = [title_ref(name, i) for i in range(len(lines))]
        top["title"] = {"text": {"expr": refs[0] if isinstance(title, str) else "[" + ", ".join(refs) + "]"}}
    spec.update(datasets={name: rows}, **{k: v for k, v in top.items() if v is not None})
    return spec


def title_text(spec: dict, datasets: dict | None = None) -> str | list[str]:
    """A chart's title as it is drawn: a plain title as it is, a title carried in the data (``filled``) read from
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


def replaced(obj, old, new):
    """``obj`` (parsed JSON) with every value equal to ``old`` replaced by ``new``."""
    if obj == old:
        return new
    if isinstance(obj, dict):
        return {k: replaced(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [replaced(v, old, new) for v in obj]
    return obj


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


_TOP_LEVEL = {"vconcat": alt.VConcatChart, "hconcat": alt.HConcatChart, "concat": alt.ConcatChart,
              "layer": alt.LayerChart, "facet": alt.FacetChart, "repeat": alt.RepeatChart}


def altair(spec: dict) -> alt.TopLevelMixin:
    """A chart function's Vega-Lite spec as the Altair chart it describes (for the schema check in the tests, and
    anything else that wants Altair's methods): the pages draw the spec itself."""
    kind = next((cls for key, cls in _TOP_LEVEL.items() if key in spec), alt.Chart)
    return kind.from_dict(spec, validate=False)
