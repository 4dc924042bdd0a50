"""lab.ui.draw's chart cache (``ui.figure``) and the PNG and SVG exports, without a page."""
import xml.etree.ElementTree as ET

import numpy as np

from lab import charts


def test_exports_are_valid_files():
    chart = charts.altair(charts.heatmap_spec(np.eye(3), ["a", "b", "c"], ["a", "b", "c"], title="weights"))
    png = charts.to_png(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    root = ET.fromstring(charts.to_svg(chart))
    assert root.tag.endswith("svg")
    maps = charts.altair(charts.head_maps_spec(np.random.default_rng(0).random((2, 3, 3))))
    assert charts.to_png(maps)[:4] == b"\x89PNG"


def test_a_drawn_figure_sends_arrow_and_exports_the_same_cells():
    """ui.figure keeps a chart's rows as the Arrow bytes Streamlit sends (converted once, cached); the PNG and SVG
    exports read the same rows back."""
    from lab.ui import draw

    labels = ["a", "b", "c"]
    values = np.random.default_rng(0).random((3, 3))
    drawn = draw.figure(charts.heatmap_spec, values, labels, labels, title="weights")
    assert isinstance(drawn["datasets"]["cells"], bytes)
    back = draw._json_datasets(drawn)
    made = charts.heatmap_spec(values, labels, labels, title="weights")
    # Arrow's columns are rectangular: the title's field, on the first row only, comes back empty on the others
    assert back["datasets"]["cells"] == [{**r, "title_line0": r.get("title_line0")} for r in made["datasets"]["cells"]]
    assert charts.title_text(back) == "weights"
    assert charts.to_png(back)[:4] == b"\x89PNG"
    assert "usermeta" not in drawn  # a small chart keeps its spec: new data is swapped into the view it has
    big = [f"t{i}" for i in range(40)]  # 1,600 cells: new data makes a new spec, so the browser builds a new view
    a, b = (draw.figure(charts.heatmap_spec, np.full((40, 40), v), big, big) for v in (0.1, 0.2))
    assert a["usermeta"]["data"] != b["usermeta"]["data"]
    assert draw.figure(charts.heatmap_spec, np.full((40, 40), 0.1), big, big)["usermeta"] == a["usermeta"]
    picked = draw.figure(charts.matrices_spec, (("Q", np.full((40, 40), 0.1)), ("K", np.zeros((40, 40)))), big, big)
    assert "data" not in picked.get("usermeta", {})  # its view keeps the matrix the student picked in it
    assert a["usermeta"]["embedOptions"] == {"renderer": "canvas"}  # 1,600 cells: one canvas, not 1,600 SVG nodes
    assert "usermeta" not in draw.figure(charts.heatmap_spec, np.eye(16), big[:16], big[:16])  # 256 cells: SVG


def test_figures_are_cached_on_their_inputs(monkeypatch):
    """ui.figure builds a spec once per distinct input (arrays by content, not identity), keeps at most
    MAX_FIGURES, and hands out copies whose top-level keys a caller may set without touching the cache."""
    from lab.ui import draw

    draw.figure.clear()
    built = []
    real = charts.stages_spec
    monkeypatch.setattr(charts, "stages_spec", lambda *a, **k: built.append(a) or real(*a, **k))
    labels = ["a", "b"]
    first = draw.figure(charts.stages_spec, labels, [("t", "y", np.array([1.0, 2.0]))], x_title="x")
    again = draw.figure(charts.stages_spec, list(labels), [("t", "y", np.array([1.0, 2.0]))], x_title="x")
    assert len(built) == 1 and again == first  # equal inputs, other objects: served from the cache
    again["autosize"] = "pad"
    assert "autosize" not in draw.figure(charts.stages_spec, labels, [("t", "y", np.array([1.0, 2.0]))], x_title="x")
    other = draw.figure(charts.stages_spec, labels, [("t", "y", np.array([1.0, 2.5]))], x_title="x")
    assert len(built) == 2 and other["datasets"] != first["datasets"]  # one number changed: built again
    draw.figure(charts.stages_spec, labels, [("t", "y", np.array([1.0, 2.0]))], x_title="other")
    assert len(built) == 3  # a keyword is part of the input too
    monkeypatch.setattr(draw, "MAX_FIGURES", 2)
    draw.figure(charts.stages_spec, labels, [("t", "y", np.array([9.0, 9.0]))], x_title="x")
    assert len(draw._FIGURES) == 2  # the oldest dropped
    draw.figure.clear()
    assert not draw._FIGURES
