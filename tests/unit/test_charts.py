"""The chart builders: each returns a chart that validates against the Vega-Lite schema and carries its labels."""
import json
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest

from lab import charts


def stage(labels, values, *, title="t", y_title="score", **kwargs) -> dict:
    """One panel of ``charts.stages_spec`` (page 2's bars), as the page builds it, for tests of its bars."""
    return charts.stages_spec(labels, [(title, y_title, values)], x_title="key", **kwargs)


def spec(chart) -> dict:
    """The chart's spec, validated against the Vega-Lite schema (a chart function's spec through its Altair form)."""
    return (charts.altair(chart) if isinstance(chart, dict) else chart).to_dict()


def rows(s: dict, part: dict | None = None) -> list[dict]:
    """The data rows of a spec (or of one layer of it), wherever Altair put them."""
    data = (part or s)["data"]
    return data["values"] if "values" in data else s["datasets"][data["name"]]


def test_a_longer_sentence_changes_a_heatmaps_data_not_its_spec():
    """Cells are sized by a step per row and column (drawn at the same size as before, step x count), so the browser
    swaps a longer sentence's cells into the chart it has instead of building it again."""
    import vl_convert as vlc

    short, longer = (charts.heatmap_spec(np.ones((n, 4)), charts.token_labels(["w"] * n), ["f0", "f1", "f2", "f3"],
                                         cell=34) for n in (6, 7))
    assert {k: v for k, v in short.items() if k != "datasets"} == {k: v for k, v in longer.items() if k != "datasets"}
    svg = vlc.vegalite_to_svg(json.dumps(longer))
    plot = re.search(r'class="background"[^>]*d="M0.5,0.5h([\d.]+)v([\d.]+)', svg)  # the plot's frame
    assert (float(plot[1]), float(plot[2])) == (34 * 4, 34 * 7)  # 4 cells wide and 7 tall, 34 px a cell


def test_a_new_title_travels_with_the_data_not_the_spec():
    """Page 2's titles name the query and √d_k: carried on the first row, so choosing another query swaps the rows and
    the title into the chart the browser has; drawn (and exported) as plain text, one line per line."""
    import vl_convert as vlc

    a, b = (stage(["x", "y"], [1, 2], title=f"scores of query {q}") for q in ("0: x", "1: y"))
    assert {k: v for k, v in a.items() if k != "datasets"} == {k: v for k, v in b.items() if k != "datasets"}
    assert charts.title_text(b["vconcat"][0], b["datasets"]) == "scores of query 1: y"
    assert "scores of query 1: y" in vlc.vegalite_to_svg(b)
    two = charts.heatmap_spec(np.eye(2), ["x", "y"], ["x", "y"], title=["softmax(QKᵀ)", "causal mask on"])
    assert charts.title_text(two) == ["softmax(QKᵀ)", "causal mask on"]
    svg = vlc.vegalite_to_svg(two)
    assert svg.index(">softmax(QKᵀ)<") < svg.index(">causal mask on<")  # two lines, in order


def test_heatmap_is_labelled_queries_by_keys():
    labels = charts.token_labels(["the", "cat", "the"])
    assert labels == ["0: the", "1: cat", "2: the"]  # a repeated word keeps its own row
    s = spec(charts.heatmap_spec(np.eye(3), labels, labels, title="weights"))
    text = json.dumps(s)
    assert "query token (row)" in text and "key token (column)" in text
    values = rows(s)
    assert len(values) == 9 and {v["shown"] for v in values} == {"1.00", "0.00"}
    assert len(s["layer"]) == 2  # cells and the numbers written in


def test_heatmap_spec_is_heatmap_and_keeps_the_label_order():
    labels = ["z", "a", "m"]  # not alphabetical: the axes follow the cells' indices, not the labels' order
    values = np.arange(9.0).reshape(3, 3)
    fast = charts.heatmap_spec(values, labels, labels, title="t", mark=(0, 2))
    chart = spec(charts.heatmap_spec(values, labels, labels, title="t", mark=(0, 2)))  # validated against the schema
    assert rows(chart) == rows(fast) and chart["width"] == fast["width"] and charts.title_text(chart) == "t"
    assert fast["layer"][0]["encoding"]["x"]["sort"] == {"field": "c", "op": "min"}
    assert [(r["row"], r["col"], r["value"]) for r in rows(fast)][:2] == [("z", "z", 0.0), ("z", "a", 1.0)]
    import vl_convert as vlc  # the drawn axis: z, a, m from left to right

    svg = vlc.vegalite_to_svg(json.dumps(fast))
    assert svg.index(">z<") < svg.index(">a<") < svg.index(">m<")


def test_big_heatmap_drops_the_numbers():
    labels = [str(i) for i in range(20)]
    assert len(spec(charts.heatmap_spec(np.zeros((20, 20)), labels, labels))["layer"]) == 1


def test_bars_highlight_the_chosen_token():
    s = spec(charts.stages_spec(["a", "b"], [("t", "score", [1.0, 2.0])], x_title="key", highlight=1))
    assert [v["paint"] for v in rows(s)] == ["other keys", charts.OWN_KEY]


def test_the_stages_line_up_one_querys_row_in_one_chart():
    """Page 2's steps 2 and 3 in one chart: a panel per stage, each its own rows, title and y axis, one legend."""
    import vl_convert as vlc

    s = spec(charts.stages_spec(["a", "b", "c"], [("scores of query 0: a", "q · k", [1.0, 2.0, -1.0]),
                                            ("softmax weights (sum to 1)", "weight", [0.3, 0.7, 0.0])],
                           x_title="key token", highlight=0, masked=[False, False, True]))
    assert [(r["stage"], r["label"], r["value"]) for r in rows(s)] == [
        (0, "a", 1.0), (0, "b", 2.0), (0, "c", -1.0), (1, "a", 0.3), (1, "b", 0.7), (1, "c", 0.0)]
    assert [p["transform"] for p in s["vconcat"]] == [[{"filter": "datum.stage === 0"}],
                                                     [{"filter": "datum.stage === 1"}]]
    assert [p["encoding"]["y"]["title"] for p in s["vconcat"]] == ["q · k", "weight"]
    assert s["resolve"]["scale"] == {"color": "shared", "y": "independent"}
    svg = vlc.vegalite_to_svg(json.dumps(s))
    assert svg.index("scores of query 0: a") < svg.index("softmax weights (sum to 1)")
    assert svg.count(">masked (a later token)<") == 1  # one legend for both panels


def test_shape_diagram_has_one_box_per_matrix():
    eq = [("W^Q", (768, 768), "X", (768, 6), "Q", (768, 6)), ("K^T", (6, 768), "Q", (768, 6), "scores", (6, 6))]
    s = spec(charts.shape_diagram_spec(eq))
    boxes = [r for r in rows(s) if r["kind"] == "box"]
    assert [b["shape"] for b in boxes] == ["[768, 768]", "[768, 6]", "[768, 6]", "[6, 768]", "[768, 6]", "[6, 6]"]
    q = boxes[2]
    assert q["y2"] - q["y"] > q["x2"] - q["x"]  # [768, 6] is tall and thin
    signs = [r for r in rows(s) if r["kind"] == "sign"]
    assert [x["sign"] for x in signs] == ["×", "=", "×", "="]


def test_fast_specs_fill_in_their_cached_frames():
    """The specs built from a cached frame (bars, shape diagram, cost curve) carry this call's rows, order and
    scales, and nothing of the call before."""
    import vl_convert as vlc

    bars = stage(["z", "a", "m"], [1.0, 2.0, 3.0])
    svg = vlc.vegalite_to_svg(json.dumps(bars))  # the drawn axis keeps the tokens' order, not the alphabet's
    assert svg.index(">z<") < svg.index(">a<") < svg.index(">m<")
    small = charts.shape_diagram_spec([("A", (2, 3), "B", (3, 4), "C", (2, 4))])
    big = charts.shape_diagram_spec([("A", (768, 768), "B", (768, 6), "C", (768, 6))])
    assert str(charts.diagrams._FAR) not in json.dumps(small) and big["width"] > small["width"]
    x_domains = {json.dumps(layer["encoding"]["x"]["scale"]["domain"]) for layer in big["layer"]
                 if "scale" in layer["encoding"]["x"]}
    assert x_domains == {json.dumps([-4, max(r["x2"] for r in rows(big) if r["kind"] == "box") + 4])}
    marked = charts.cost_curve_spec([1, 2, 4], [3, 6, 12], [2, 8, 32], marker=2)
    # a phone's 390 px cut off longer legend labels and titles: every line fits in about 40 characters
    assert all(len(line) <= 40 for line in [charts.LINEAR_TERM, charts.QUADRATIC_TERM, *marked["title"]])
    assert [r["tokens"] for r in rows(marked) if r["kind"] == "marker"] == [2]
    assert not [r for r in rows(charts.cost_curve_spec([1, 2], [3, 6], [2, 8])) if r["kind"] == "marker"]


def test_cost_curve_and_peak_chart():
    cost = spec(charts.cost_curve_spec([1, 2, 4], [3, 6, 12], [2, 8, 32], marker=2))
    lines = [r for r in rows(cost) if r["kind"] == "line"]
    assert [(r["term"], r["tokens"], r["macs"]) for r in lines] == [
        (charts.LINEAR_TERM, 1, 3.0), (charts.LINEAR_TERM, 2, 6.0), (charts.LINEAR_TERM, 4, 12.0),
        (charts.QUADRATIC_TERM, 1, 2.0), (charts.QUADRATIC_TERM, 2, 8.0), (charts.QUADRATIC_TERM, 4, 32.0)]
    assert [r["tokens"] for r in rows(cost) if r["kind"] == "marker"] == [2]  # the page's setting, dashed
    peak = spec(charts.softmax_peak_chart([1, 2], [0.3, 0.3], [0.3, 0.5], n_tokens=16, d_k=2))
    values = [v for layer in peak["layer"] for v in rows(peak, layer)]
    assert {(v["scaling"], v["d_k"], v["peak"]) for v in values if "scaling" in v} == {
        ("softmax(q·k / √d_k)", 1, 0.3), ("softmax(q·k / √d_k)", 2, 0.3),
        ("softmax(q·k), not scaled", 1, 0.3), ("softmax(q·k), not scaled", 2, 0.5)}
    assert {"uniform: 1/16", "your d_k = 2"} <= {v.get("text") for v in values}
    seen = spec(charts.receptive_field_chart([1, 2], [8, 8], [3, 5], n_tokens=8, kernel=3))
    values = [v for layer in seen["layer"] for v in rows(seen, layer)]
    assert {(v["model"], v["layers"], v["seen"]) for v in values if "model" in v} == {
        ("self-attention", 1, 8), ("self-attention", 2, 8), ("convolution, kernel 3", 1, 3),
        ("convolution, kernel 3", 2, 5)}
    assert [v["n"] for v in values if "n" in v] == [8]  # the whole sequence, as a rule


def test_head_maps_one_panel_per_head():
    maps = np.random.default_rng(0).random((3, 4, 4))
    s = spec(charts.head_maps_spec(maps, head_ids=[0, 2, 5]))
    assert s["facet"]["field"] == "head"
    assert sorted({v["head"] for v in rows(s)}) == ["head 0", "head 2", "head 5"]
    first = [v for v in rows(s) if v["head"] == "head 2" and v["query"] == 1 and v["key"] == 3][0]
    assert first["weight"] == pytest.approx(maps[1, 1, 3], abs=1e-4)


def test_one_token_more_or_one_head_fewer_changes_the_head_maps_data_not_their_spec():
    """Page 3's maps are sized by a step per token (22 px a cell up to 9 tokens) and ordered by head number, so its
    tokens slider and its heads picker swap cells into the chart the browser has."""
    import vl_convert as vlc

    def frame(s):
        return {k: v for k, v in s.items() if k != "datasets"}

    five, six = (charts.head_maps_spec(np.full((2, n, n), 0.5), head_ids=[2, 10]) for n in (5, 6))
    three = charts.head_maps_spec(np.full((3, 6, 6), 0.5), head_ids=[0, 2, 10])
    assert frame(five) == frame(six) == frame(three)
    svg = vlc.vegalite_to_svg(json.dumps(six))
    frames = re.findall(r'class="background"[^>]*d="M0.5,0.5h([\d.]+)v([\d.]+)', svg)  # each map's frame
    assert [(float(w), float(h)) for w, h in frames] == [(22 * 6, 22 * 6)] * 2
    assert svg.index(">head 2<") < svg.index(">head 10<")  # by number, not alphabetically


def test_head_maps_above_raster_cells_are_pictures_of_the_same_weights():
    """Page 3's maps past ``RASTER_CELLS`` cells: one picture a head, each pixel its weight's colour under the scale
    the legend shows, drawn ``cell`` px a token (vl-convert's render), with the head's largest weight on hover."""
    import base64
    import io

    import vl_convert as vlc
    from PIL import Image

    from lab.charts import raster

    maps = np.random.default_rng(1).dirichlet(np.ones(40), size=(2, 40))  # (heads, queries, keys), rows sum to 1
    maps[1, 3, :] = 0.0
    maps[1, 3, 7] = 1.0
    assert maps.size > charts.RASTER_CELLS
    s = spec(charts.head_maps_spec(maps, head_ids=[4, 9], cell=5))
    layer = s["spec"]["layer"]
    assert layer[0]["mark"]["type"] == "image" and layer[0]["mark"]["smooth"] is False
    assert layer[1]["encoding"]["color"]["scale"] == {"scheme": "blues", "domain": [0, 1]}
    data = rows(s)
    assert [r["head"] for r in data] == ["head 4", "head 9"]
    for r, m in zip(data, maps, strict=True):
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(r["url"].split(",", 1)[1]))))
        assert (pixels == raster.colours(m)).all()  # row i is query i, column j key j
    assert (data[1]["peak"], data[1]["where"]) == (1.0, "(3, 7)")
    svg = vlc.vegalite_to_svg(json.dumps(s))
    frames = re.findall(r'class="background"[^>]*d="M0.5,0.5h([\d.]+)v([\d.]+)', svg)
    assert [(float(w), float(h)) for w, h in frames] == [(5 * 40, 5 * 40)] * 2
    assert svg.count("<image") == 2
    small = charts.head_maps_spec(np.full((4, 16, 16), 1 / 16))  # 1,024 cells: still one rectangle a weight
    assert small["spec"]["mark"]["type"] == "rect" and len(small["datasets"]["maps"]) == 1024


def test_training_curves_one_panel_per_run():
    df = pd.DataFrame({"run": ["2 epochs"] * 2 + ["3 epochs"] * 3, "epoch": [1, 2, 1, 2, 3],
                       "train_loss": [2, 1, 2, 1, 0.5], "val_loss": [2, 1.5, 2, 1.5, 1.2],
                       "train_acc": [0.1, 0.5, 0.1, 0.5, 0.8], "val_acc": [0.1, 0.4, 0.1, 0.4, 0.6]})
    for metric in ("loss", "acc"):
        s = spec(charts.training_curves(df, metric, title="t"))
        assert s["facet"]["column"]["field"] == "run"
        values = rows(s)
        assert len(values) == 10 and {v["split"] for v in values} == {"train", "validation"}


def one_of_each() -> dict:
    """Every public chart builder in lab/charts/, called once with small plain numbers."""
    rng = np.random.default_rng(0)
    records = pd.DataFrame({"run": ["2 epochs"] * 2, "epoch": [1, 2], "train_loss": [2.0, 1.0], "val_loss": [2.1, 1.2],
                            "train_acc": [0.3, 0.6], "val_acc": [0.4, 0.5]})
    models = records.drop(columns="run").assign(model="CNN")
    return {
        "heatmap_spec": charts.heatmap_spec(np.eye(2), ["a", "b"], ["a", "b"]),
        "matrices_spec": charts.matrices_spec([("Q", np.eye(2)), ("K", np.ones((2, 2)))], ["a", "b"], ["x", "y"]),
        "heatmaps_spec": charts.heatmaps_spec([(np.eye(2), ["a", "b"], ["x", "y"], {"title": "t"}),
                                               (np.ones((1, 2)), ["sum"], ["x", "y"], {})]),
        "stages_spec": charts.stages_spec(["a"], [("t", "y", [1.0])], x_title="x"),
        "shape_diagram_spec": charts.shape_diagram_spec([("A", (2, 3), "B", (3, 4), "C", (2, 4))]),
        "cost_curve_spec": charts.cost_curve_spec([1, 2, 4], [3, 6, 12], [2, 8, 32], marker=2),
        "softmax_peak_chart": charts.softmax_peak_chart([1, 2], [0.3, 0.3], [0.3, 0.5], n_tokens=16, d_k=2),
        # and as pictures, past RASTER_CELLS cells:
        "head_maps_spec": charts.head_maps_spec(rng.random((2, 3, 3))),
        "head_maps_spec (pictures)": charts.head_maps_spec(rng.random((1, 40, 40))),
        "training_curves": charts.training_curves(records, "acc", title="t"),
        "drawing_canvas": charts.drawing_canvas(np.eye(8)),
        "probability_bars drawn": charts.probability_bars(np.full(10, 0.1), label=None, pred=3),
        "pinned_curves": charts.pinned_curves(records.rename(columns={"val_acc": "accuracy"}), "accuracy", x="epoch",
                                              y_title="validation accuracy", title="t", percent=True),
        "comparison_figure": charts.comparison_figure(records),
        "live_curves": charts.live_curves(records),
        "receptive_field_chart": charts.receptive_field_chart([1, 2], [8, 8], [3, 5], n_tokens=8, kernel=3),
        "digit_image": charts.digit_image(rng.random((8, 8))),
        "probability_bars": charts.probability_bars(np.full(10, 0.1), label=3, pred=5),
        "attention_over_digit": charts.attention_over_digit(rng.random((8, 8)), rng.random((1, 2, 2, 2))),
        "confusion_chart": charts.confusion_chart(np.eye(10, dtype=int)),
        "model_comparison": charts.model_comparison(models),
        "digit_overlays": charts.digit_overlays(rng.random((8, 8)), {"a": rng.random((2, 2))}),
        "head_split_diagram_spec": charts.head_split_diagram_spec(5, 768, 12),
        "data_efficiency_chart": charts.data_efficiency_chart(pd.DataFrame({
            "model": ["CNN", "transformer"], "share": [0.05, 0.05], "mean": [0.8, 0.7], "low": [0.78, 0.65],
            "high": [0.82, 0.74], "runs": [3, 3], "cpu_seconds": [0.5, 0.6]}), train_images=1438),
        "sequence_curves": charts.sequence_curves(pd.DataFrame({"run": ["on", "on"], "step": [0, 10],
                                                                "loss": [2.3, 1.0], "token_acc": [0.1, 0.6],
                                                                "exact_match": [0.0, 0.2]})),
        "attention_grid": charts.attention_grid(np.tril(rng.random((2, 2, 3, 3))), ["a", "b", "c"], ["a", "b", "c"]),
        "knockout_chart": charts.knockout_chart(pd.DataFrame({"head": ["layer 0, head 0"], "score": [0.5],
                                                              "other": [0.8]}), intact=1.0),
        "attention_over_training": charts.attention_over_training(np.tril(rng.random((2, 1, 2, 3, 3))), [0, 5],
                                                                  ["a", "b", "c"], ["a", "b", "c"], what="x"),
        "circuit_chart": charts.circuit_chart(pd.DataFrame({"step": [0, 10], "head": ["layer 0, head 0"] * 2,
                                                            "share": [0.1, 0.9]}),
                                              pd.DataFrame({"step": [0, 10], "loss": [3.0, 0.5]}), what="x",
                                              window=(0, 10)),
        "head_share_chart": charts.head_share_chart(pd.DataFrame({"step": [0, 10], "head": ["layer 0, head 0"] * 2,
                                                                  "share": [0.1, 0.9]}), chance=0.2, what="x"),
        "robustness_chart": charts.robustness_chart(pd.DataFrame(
            {"model": ["CNN"] * 2, "kind": ["noise"] * 2, "strength": [0, 0.1], "mean": [0.9, 0.8], "low": [0.8, 0.7],
             "high": [1, 0.9], "seeds": [3, 3]}), {"noise": "σ"}),
        "shift_chart": charts.shift_chart(pd.DataFrame({"model": ["CNN"] * 2, "shift": [0, 1], "mean": [0.9, 0.8],
                                                        "low": [0.8, 0.7], "high": [1, 0.9], "seeds": [3, 3]})),
        "cost_chart": charts.cost_chart((64, 128), (1e-4, 4e-4), (1e-5, 2e-5), {"attention": 2.0, "convolution": 1.0}),
        "step_explorer": charts.step_explorer(written(), start=1),
        "lens_over_training": charts.lens_over_training(rng.random((2, 3, 4)), np.full((2, 3, 4), "a"), [0, 10],
                                                        ["embedding", "after block 0", "after block 1"],
                                                        ["0: a", "1: b", "2: c", "3: d"], what="x"),
        "generation_cost": charts.generation_cost([{"step": s, "way": w, "multiply-adds": 10 * (s + 1), "total": 10,
                                                    "ms": 0.1} for s in range(2) for w in ("cached", "all")]),
        "temperature_chart": charts.temperature_chart([{"temperature": t, "measure": m, "share": 0.5, "of": "2"}
                                                       for t in (0, 1) for m in ("grammatical", "fits")]),
    }


def written() -> dict:
    """``writing.step_rows`` of a two-step generation after a two-token prompt, by hand."""
    tokens = [{"position": i, "label": f"{i}: {w}", "word": w, "step": i - 2, "p": None if i < 2 else 0.5,
               "rank": None if i < 2 else 1} for i, w in enumerate(["the", "cat", "sat", "."])]
    bars = [{"step": s, "token": t, "order": r, "p": 0.5, "drawn from": 0.5 if r < 1 else 0.0,
             "status": "drawn" if r == 0 else "removed", "why": "w", "mark": "50% drawn"}
            for s in range(2) for r, t in enumerate(["sat", "."])]
    attention = [{"step": s, "head": "L0H0", "key": f"{k}: w", "weight": 0.5} for s in range(2) for k in range(2 + s)]
    cache = [{"step": s, "row": f"L0 {part}", "position": k, "label": f"{k}: w",
              "state": "cached" if k < 1 + s else "added this step" if k == 1 + s else "not yet"}
             for s in range(2) for part in ("keys", "values") for k in range(3)]
    return {"tokens": tokens, "bars": bars, "attention": attention, "cache": cache}


def test_the_step_explorer_follows_one_browser_parameter():
    s = spec(charts.step_explorer(written(), start=5))
    step = next(p for p in s["params"] if p["name"] == "step")
    assert step["value"] == 1 and step["bind"]["max"] == 1  # starts within the steps there are
    filters = json.dumps(s["vconcat"][:3])
    assert filters.count("datum.step == step") == 5  # the bars and their labels, attention, the cache and its + marks
    strip = s["vconcat"][3]["layer"][0]["encoding"]
    assert "datum.step == step" in json.dumps(strip["stroke"])  # the picked token is outlined
    assert "datum.step < 0" in json.dumps(strip["color"])  # the prompt is grey, not coloured by a probability


def test_every_builder_returns_a_valid_altair_chart():
    import inspect

    built = one_of_each()
    families = ("heatmaps", "heads", "diagrams", "curves", "digits", "comparisons", "sampling", "readouts")
    builders = {name for family in families
                for name, f in inspect.getmembers(getattr(charts, family), inspect.isfunction)
                if f.__module__ == f"lab.charts.{family}" and not name.startswith("_")} - {"head_maps_hover"}
    assert builders == {name.split()[0] for name in built}  # a new builder gets a line in one_of_each()
    for name, chart in built.items():
        assert isinstance(chart, dict if name.split()[0].endswith("_spec") else alt.TopLevelMixin), name
        spec(chart)  # validates against the Vega-Lite schema
    with pytest.raises(ValueError):
        charts.altair(charts.heatmap_spec(np.eye(2), ["a"], ["a", "b"]))  # labels must match the matrix


def test_inside_the_model_charts():
    rng = np.random.default_rng(0)
    s = spec(charts.digit_image(rng.random((8, 8))))
    assert len(rows(s)) == 64
    s = spec(charts.probability_bars(np.full(10, 0.1), label=3, pred=5))
    paints = [r["paint"] for r in rows(s)]
    assert paints[3] == "true digit" and paints[5] == "predicted"
    att = rng.random((2, 4, 2, 2))
    s = spec(charts.attention_over_digit(rng.random((8, 8)), att))
    data = rows(s)
    assert len(data) == 2 * 4 * 64 and len({r["panel"] for r in data}) == 8
    # layers and heads count from 0, as the coursework's code and page 3 do
    corner = [r for r in data if r["panel"] == "layer 1, head 2" and r["row"] == 7 and r["col"] == 7][0]
    assert corner["weight"] == pytest.approx(att[1, 2, 1, 1], abs=1e-4) and corner["patch"] == "patch 3"
    matrix = np.eye(10, dtype=int) * 36
    matrix[3, 5] = 1  # a single mistake
    s = spec(charts.confusion_chart(matrix))
    cells = {(r["row"], r["col"]): r for r in rows(s)}
    assert cells[("3", "3")]["kind"] == "right" and cells[("3", "5")]["kind"] == "mistake"
    assert cells[("3", "5")]["shown"] == "1" and cells[("4", "5")]["shown"] == ""
    wrong = next(layer for layer in s["layer"] if "fill" in layer.get("encoding", {}))
    # a single mistake gets the light end of the red range: a clearly visible colour, not near-white
    assert wrong["encoding"]["fill"]["scale"]["domain"][0] == 1
    assert wrong["encoding"]["fill"]["scale"]["range"][0] == "#fc9272"
    df = pd.DataFrame({"model": ["transformer"] * 2 + ["CNN"] * 2, "epoch": [1, 2, 1, 2],
                       "train_loss": [2, 1, 2, 1.5], "val_loss": [2, 1, 2, 1.6], "train_acc": [0.1, 0.5, 0.1, 0.4],
                       "val_acc": [0.1, 0.4, 0.1, 0.3]})
    s = spec(charts.model_comparison(df))
    assert len(s["hconcat"]) == 2


# ---------------------------------------------------------------- issue 10: charts that hid or contradicted
@pytest.mark.parametrize("d_k", [9, 16, 64])
def test_wide_matrices_fit_their_width(d_k):
    labels = charts.token_labels(["w"] * 12)
    s = spec(charts.heatmap_spec(np.zeros((12, d_k)), labels, [f"f{j}" for j in range(d_k)], max_width=860))
    assert s["width"]["step"] * d_k <= 860  # narrower cells, not a chart that runs off the page
    narrow = spec(charts.heatmap_spec(np.zeros((12, d_k)), labels, [f"f{j}" for j in range(d_k)], max_width=6 * d_k))
    assert narrow["width"]["step"] * d_k <= 6 * d_k
    assert all(r.get("shown", "") == "" for r in rows(narrow))  # no numbers in thin cells
    if len(narrow["layer"]) > 1:  # the text layer (kept up to 256 cells, so the spec stays) draws only what is shown
        assert narrow["layer"][1]["transform"] == [{"filter": "datum.shown !== ''"}]


def test_a_matrix_growing_past_printed_numbers_keeps_its_spec():
    """Page 2's Q/K/V at 6 x 4 (numbers printed) and 11 x 16 (too many cells to print): one spec, other data; the
    text layer draws the numbers of the first and nothing for the second."""
    def look(t, d):
        s = charts.matrices_spec([(n, np.ones((t, d))) for n in "QKV"], charts.token_labels(["w"] * t),
                                 [f"f{j}" for j in range(d)], cell=34, max_width=600, scheme="redblue", domain=(-3, 3))
        return {k: v for k, v in s.items() if k != "datasets"}, s["datasets"]["cells"]
    (small, printed), (large, blank) = look(6, 4), look(11, 16)
    assert small == large
    assert all(r["shown_Q"] == "1.00" for r in printed) and all(r["shown_Q"] == "" for r in blank)


def test_matrices_that_fill_their_width_keep_one_spec():
    """Page 2's Q/K/V and steps 4-5 from ``fill_from`` columns on: the trained model's 10 x 16 and random mode's
    largest 12 x 64 make one spec (other data), so the browser swaps the numbers instead of building a new chart;
    the plot is max_width wide, on a canvas, numbers not printed; below ``fill_from`` the cells keep their own size
    and their printed numbers, as before."""
    look = dict(cell=34, max_width=600, fill_from=16, scheme="redblue", domain=(-3, 3))

    def qkv(t, d):
        s = charts.matrices_spec([(n, np.ones((t, d))) for n in "QKV"], charts.token_labels(["w"] * t),
                                 [f"f{j}" for j in range(d)], **look)
        return {k: v for k, v in s.items() if k != "datasets"}

    def steps45(t, d):
        panel = dict(look, cell=26)
        s = charts.heatmaps_spec([(np.ones((t, d)), [f"t{i}" for i in range(t)], [f"f{j}" for j in range(d)], panel),
                                  (np.ones((2, d)), ["sum", "row"], [f"f{j}" for j in range(d)], panel)])
        return {k: v for k, v in s.items() if k != "datasets"}

    assert qkv(10, 16) == qkv(12, 64) == qkv(3, 40) and steps45(10, 16) == steps45(12, 64)
    assert qkv(12, 64)["width"] == 600 and qkv(12, 64)["usermeta"] == {"embedOptions": {"renderer": "canvas"}}
    assert steps45(12, 64)["vconcat"][0]["width"] == 600
    assert qkv(6, 15)["width"] == {"step": 34} and qkv(6, 15) != qkv(6, 16)
    assert len(qkv(6, 15)["layer"]) == 2  # cells and their printed numbers; once the width is filled, a picture:
    assert [layer["mark"]["type"] for layer in qkv(6, 16)["layer"]] == ["image", "rect", "rect"]
    cells = charts.matrices_spec([("Q", np.ones((6, 16))), ("K", np.zeros((6, 16)))], charts.token_labels(["w"] * 6),
                                 [f"f{j}" for j in range(16)], **look)["datasets"]["cells"]
    columns = [r for r in cells if r["kind"] == "c"]  # each column's hover lines, for either matrix
    assert len(columns) == 16 and (columns[3]["t5_Q"], columns[3]["t5_K"]) == ("w: 1.0000", "w: 0.0000")
    assert not any("t6_Q" in r for r in cells)  # six rows, six lines


def test_a_wide_heatmap_is_a_picture_of_its_cells():
    """From ``fill_from`` columns on, a heatmap is one picture, a pixel a cell, coloured as the cell-by-cell chart's
    scale colours it (clamped at the domain's ends), drawn over exactly the plot's area; a strip over each column
    lists its numbers row by row on hover. A matrix with a cell to click, outline or blank, or more rows than the
    hover lists, keeps a rectangle a cell."""
    import base64
    import io

    import vl_convert as vlc
    from PIL import Image

    from lab.charts import raster

    values = np.random.default_rng(2).normal(size=(5, 20)) * 2
    values[1, 7] = 9.0  # past the domain: the colour at its end
    rows_, cols = charts.token_labels(["the", "cat", "sat", "on", "it"]), [f"f{j}" for j in range(20)]
    look = dict(cell=30, max_width=400, fill_from=16, scheme="redblue", domain=(-3, 3), row_title="token",
                col_title="feature", value_title="value")
    s = spec(charts.heatmap_spec(values, rows_, cols, **look))
    data = rows(s)
    url = next(r["url"] for r in data if r["kind"] == "p")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert pixels.shape == (5, 20, 3) and (pixels == raster.colours(values, "redblue", (-3, 3))).all()
    assert tuple(pixels[1, 7]) == tuple(raster.colours(3.0, "redblue", (-3, 3)))
    column = next(r for r in data if r["kind"] == "c" and r["c"] == 7)
    assert [column[f"t{i}"] for i in range(5)] == [f"{w}: {v:.4f}" for w, v in zip(
        ["the", "cat", "sat", "on", "it"], values[:, 7], strict=True)]
    assert [r["row"] for r in data if r["kind"] == "r"] == rows_
    svg = vlc.vegalite_to_svg(json.dumps(s))
    frame = re.search(r'class="background"[^>]*d="M0.5,0.5h([\d.]+)v([\d.]+)', svg)
    image = re.search(r'<image[^>]*width="([\d.]+)" height="([\d.]+)"', svg)
    assert (float(frame[1]), float(frame[2])) == (400, 5 * 30) == (float(image[1]), float(image[2]))
    assert ">f19<" in svg and ">4: it<" in svg  # every column and row keeps its label
    for fallback in (dict(select="pick"), dict(mark=(0, 0)), dict(blank=np.zeros((5, 20), bool))):
        assert spec(charts.heatmap_spec(values, rows_, cols, **look, **fallback))["layer"][0]["mark"]["type"] == "rect"
    tall = np.zeros((charts.TIP_ROWS + 1, 20))
    assert spec(charts.heatmap_spec(tall, [str(i) for i in range(len(tall))], cols, **look))["layer"][0]["mark"][
        "type"] == "rect"


def test_every_token_label_is_shown():
    labels = charts.token_labels([f"w{i}" for i in range(12)])
    for s in (spec(charts.heatmap_spec(np.eye(12), labels, labels)),
              spec(charts.stages_spec(labels, [("t", "score", np.arange(12))], x_title="key"))):
        encodings = [part["encoding"] for part in s.get("layer", []) + s.get("vconcat", [])]
        for enc in encodings:
            assert enc["x"]["axis"]["labelOverlap"] is False  # Vega-Lite would drop every other label


def test_masked_keys_are_marked_in_the_bars():
    s = spec(charts.stages_spec(["a", "b", "c"], [("t", "score", [1.0, 2.0, 3.0])], x_title="key", highlight=0,
                           masked=[False, True, True]))
    assert [v["paint"] for v in rows(s)] == [charts.OWN_KEY, "masked (a later token)", "masked (a later token)"]
    assert rows(s)[1]["status"].startswith("masked")


def test_hover_shows_more_digits_than_the_cells():
    """The hover and the screen reader's description are one short expression each (cheap to evaluate for every cell
    on every redraw): the row, the column and the value to four digits, where the cell prints two."""
    import re

    import vl_convert as vlc

    s = spec(charts.heatmap_spec(np.full((2, 2), 0.123456), ["a", "b"], ["a", "b"], mark=(0, 1)))
    assert rows(s)[0]["shown"] == "0.12"
    tips = {layer["mark"]["tooltip"]["expr"] for layer in s["layer"]}  # the cells, their numbers and the outline
    assert tips == {'{"query token (row)": datum.row, "key token (column)": datum.col, "weight": '
                    'format(datum.value, ".4f")}'}
    said = re.findall(r'aria-label="([^"]*)"', vlc.vegalite_to_svg(json.dumps(s)))
    assert "query token (row) b, key token (column) a, weight 0.1235" in said
    assert not [a for a in said if "0.12;" in a or "ink" in a]  # the printed numbers are not read out again


def test_shape_diagram_hover_names_the_matrix_only():
    s = spec(charts.shape_diagram_spec([("W^Q", (768, 768), "X", (768, 6), "Q", (768, 6))], title="t"))
    for layer in s["layer"]:
        tooltip = layer["encoding"].get("tooltip")
        assert tooltip is not None  # no layer falls back to showing its internal fields (cx, below, ...)
        fields = {t["field"] for t in tooltip} if isinstance(tooltip, list) else set()
        assert fields <= {"name", "rows", "cols"}


def test_softmax_peak_marks_are_labelled_and_distinct():
    s = spec(charts.softmax_peak_chart([1, 2, 4], [0.3, 0.3, 0.3], [0.3, 0.5, 0.7], n_tokens=16, d_k=2))
    text = json.dumps(s)
    assert "uniform: 1/16" in text and "your d_k = 2" in text
    mine = next(layer for layer in s["layer"] if layer.get("mark", {}).get("type") == "rule"
                and "your d_k" in json.dumps(layer))
    assert mine["mark"]["color"] not in charts.PALETTE  # not the red of the unscaled curve


def test_projector_style_enlarges_and_darkens_text():
    s = charts.projector_style(spec(charts.heatmap_spec(np.eye(2), ["a", "b"], ["a", "b"])))
    assert s["config"]["axis"]["labelFontSize"] >= 15 and s["config"]["axis"]["labelColor"] == "#111111"
    assert s["config"]["text"]["fontSize"] >= 15


def test_attention_grid_leaves_masked_keys_blank_and_fits():
    maps = np.tril(np.full((2, 4, 12, 12), 0.1))  # causal: zeros above the diagonal
    s = spec(charts.attention_grid(maps, [str(i) for i in range(12)], [str(i) for i in range(12)], max_width=780))
    assert len(rows(s)) == 2 * 4 * (12 * 13 // 2)  # only the cells a query may see
    assert s["spec"]["width"] * 4 + 110 <= 780 and s["spec"]["width"] >= 12 * 12  # fits, and rows stay readable
    with pytest.raises(ValueError):
        charts.attention_grid(maps, ["a"], ["a"])


def test_attention_grid_names_every_other_token_where_cells_are_thin():
    """Page 6's 24-token grid has 6 px cells: every token's tick label would overlap its neighbours', so the axes
    name every other token (the hover names each); 12 tokens keep every label."""
    import vl_convert as vlc

    def labels(n):
        words = [f"{i}:w" for i in range(n)]
        s = spec(charts.attention_grid(np.full((1, 4, n, n), 1 / n), words, words))
        shown = re.findall(r'<text[^>]*opacity="1"[^>]*>\d+:w</text>', vlc.vegalite_to_svg(s))  # hidden: opacity 0
        return s, len(shown)

    (thin, shown), (wide, every) = labels(24), labels(12)
    assert thin["spec"]["width"] / 24 < 11 and shown == (4 + 1) * 24 // 2  # x labels on 4 panels, y labels once
    assert wide["spec"]["width"] / 12 >= 11 and every == (4 + 1) * 12


def test_head_split_diagram_is_to_scale():
    s = spec(charts.head_split_diagram_spec(5, 768, 12))
    boxes = rows(s)
    split = [b for b in boxes if b["step"].startswith("qis_mh")]
    joined = [b for b in boxes if b["step"].startswith("qis [")]  # the same 12 slices of qis, side by side
    out = [b for b in boxes if b["step"].startswith("out")]
    assert len(split) == len(joined) == 12 and len(out) == 1
    widths = {round(b["x2"] - b["x"], 6) for b in split + joined}
    assert len(widths) == 1  # every head has 64 of the 768 features
    assert abs(12 * widths.pop() - (out[0]["x2"] - out[0]["x"])) < 1e-3  # 12 x 64 = 768, drawn to the same scale
    assert split[1]["x"] > joined[1]["x"]  # split apart, joined again
    widest = charts.title_text(spec(charts.head_split_diagram_spec(64, 1024, 64)))  # on a phone (390 px): none cut off
    assert len(widest) == 2 and all(len(line) <= 40 for line in widest)
    assert all(b["x2"] <= 640 + 1e-6 for b in rows(spec(charts.head_split_diagram_spec(64, 1024, 64))))  # in its width


def test_head_split_diagram_keeps_one_spec_for_every_setting():
    """Tokens, embedding size and heads change the boxes and the title (in the data), never the spec: the browser
    swaps them into the chart it has."""
    def frame(*args):
        s = charts.head_split_diagram_spec(*args)
        return {k: v for k, v in s.items() if k != "datasets"}

    assert frame(5, 768, 12) == frame(6, 768, 12) == frame(64, 1024, 16) == frame(1, 8, 1)
    short, tall = (rows(spec(charts.head_split_diagram_spec(t, 768, 12)))[0] for t in (1, 7))
    assert (short["y2"] - short["y"], tall["y2"] - tall["y"]) == (14, 40)  # 6 px a token, within 14 to 40


# ---------------------------------------------------------------- issue 19: colour is never the only signal
CVD_SAFE = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#cccccc", "#333333"}


def test_a_misread_digit_names_and_outlines_the_true_class():
    probs = np.full(10, 0.001)
    probs[9] = 0.99  # a 4 read as 9: the true class's bar is about 0 high
    s = spec(charts.probability_bars(probs, label=4, pred=9))
    data = {r["digit"]: r for r in rows(s)}
    assert data["4"]["tag"] == "true digit" and data["9"]["tag"] == "predicted"  # named in text above the bars
    outline = s["layer"][1]
    assert outline["mark"]["fill"] is None and "strokeDash" in outline["mark"]  # a dashed outline, full height
    assert "'4'" in outline["transform"][0]["filter"]
    colours = s["layer"][0]["encoding"]["color"]["scale"]["range"]
    assert set(colours) <= CVD_SAFE and "#e45756" not in colours and "#54a24b" not in colours
    right = spec(charts.probability_bars(probs, label=9, pred=9))
    assert {r["tag"] for r in rows(right)} == {"", "true digit"}


def test_the_query_key_is_not_red_and_has_a_legend():
    s = spec(charts.stages_spec(["a", "b", "c"], [("t", "s", [1.0, -1.0, 0.5])], x_title="key", highlight=0,
                           masked=[False, False, True]))
    colour = s["vconcat"][0]["encoding"]["color"]
    own = dict(zip(colour["scale"]["domain"], colour["scale"]["range"], strict=True))[charts.OWN_KEY]
    assert own == "#E69F00"  # orange: the red-blue heatmaps' negative end is red
    assert colour["legend"] is not None and charts.OWN_KEY in rows(s)[0]["legend"].split("|")


def test_the_causal_mask_changes_the_bars_data_and_legend_not_their_spec():
    """The legend names the paints the bars use, read from the data: with the mask off it has no "masked" entry, and
    the mask coming or going keeps one spec, so the browser swaps the rows into the chart it has."""
    import vl_convert as vlc

    def bars(masked):
        return stage(["a", "b", "c"], [1.0, -1.0, 0.5], highlight=0, masked=masked)

    off, on = bars([False, False, False]), bars([False, True, True])
    assert {k: v for k, v in off.items() if k != "datasets"} == {k: v for k, v in on.items() if k != "datasets"}
    svg_off, svg_on = (vlc.vegalite_to_svg(json.dumps(s)) for s in (off, on))
    drawn_off, drawn_on = (re.findall(r"<text[^>]*>([^<]*)</text>", svg) for svg in (svg_off, svg_on))
    assert {charts.OWN_KEY, "other keys"} <= set(drawn_off) and not [t for t in drawn_off if "masked" in t]
    assert "masked (a later token)" in drawn_on


def test_weight_matrix_marks_the_chosen_cell_and_blanks_masked_ones():
    labels = charts.token_labels(["a", "b", "c"])
    w = np.tril(np.full((3, 3), 0.5))
    s = spec(charts.heatmap_spec(w, labels, labels, mark=(2, 1), blank=np.triu(np.ones((3, 3), bool), 1)))
    assert len(rows(s)) == 6  # the three masked cells are left blank, not drawn as 0.00
    outline = s["layer"][-1]
    assert outline["mark"]["fill"] is None and outline["mark"]["strokeWidth"] >= 2
    assert outline["transform"][0]["filter"] == "datum.m === 1"
    assert [(r["row"], r["col"]) for r in rows(s) if r["m"]] == [("2: c", "1: b")]  # the one outlined cell


def test_data_efficiency_legend_shows_the_lines_and_ticks_the_measured_shares():
    shares = [0.05, 0.1, 0.25, 0.5, 1.0]
    df = pd.DataFrame({"model": ["transformer"] * 5 + ["CNN"] * 5, "share": shares * 2, "mean": [0.8] * 10,
                       "low": [0.7] * 10, "high": [0.9] * 10, "runs": [3] * 10, "cpu_seconds": [1.0] * 10})
    s = spec(charts.data_efficiency_chart(df, train_images=1438))
    band, line = s["hconcat"][0]["layer"]
    assert band["encoding"]["fill"]["legend"] is None and "color" not in band["encoding"]  # the pale band: no legend
    assert line["encoding"]["color"]["legend"] is not None  # the legend shows the lines' own colours
    assert line["encoding"]["x"]["axis"]["values"] == shares  # ticks where the points are, not 4%, 6%, 20%


def test_scrubbing_the_training_steps_happens_in_the_browser():
    rng = np.random.default_rng(0)
    maps = np.tril(rng.uniform(0.1, 1, (3, 2, 4, 5, 5)))  # 3 records of 2 layers x 4 heads, causal
    s = spec(charts.attention_over_training(maps, [0, 10, 25], list("abcde"), list("abcde"), what="on 'it'"))
    param, column = s["params"]
    assert column["expr"] == "'w' + record"
    assert param["bind"]["input"] == "range" and (param["bind"]["min"], param["bind"]["max"]) == (0, 2)
    assert param["value"] == 2  # starts on the last record
    # one row per cell the mask leaves visible, with its weight at every record; the slider picks the column
    assert s["spec"]["transform"] == [{"calculate": "datum[column]", "as": "weight"},
                                      {"filter": "datum.weight > 0"}]
    assert len(rows(s)) == 8 * 15
    for r in rows(s):
        layer, head = (int(x) for x in r["panel"].replace("layer ", "").split(", head "))
        q, k = "abcde".index(r["query"]), "abcde".index(r["key"])
        assert [r[f"w{i}"] for i in range(3)] == pytest.approx(maps[:, layer, head, q, k], abs=1e-4)
    assert s["title"]["text"]["expr"] == "'step ' + [0, 10, 25][record] + \": on 'it'\""


def test_several_matrices_make_one_view():
    q, k, v = np.arange(6.0).reshape(2, 3), -np.ones((2, 3)), np.eye(2, 3)
    one = spec(charts.matrices_spec([("Q", q), ("K", k), ("V", v)], ["a", "b"], ["x", "y", "z"], scheme="redblue",
                               domain=(-3, 3)))
    (param,) = one["params"]  # radio buttons in the browser choose the matrix drawn
    assert param["bind"] == {"input": "radio", "options": ["Q", "K", "V"], "name": "matrix shown: "}
    assert param["value"] == "Q" and one["transform"][0] == {"calculate": "datum['value_' + matrix]", "as": "value"}
    assert "matrix" in one["title"]["text"]["expr"]
    cells = {(m, c["r"], c["c"]): c[f"value_{m}"] for c in rows(one) for m in "QKV"}  # one row a cell, every matrix
    assert len(rows(one)) == 6 and cells[("Q", 1, 2)] == 5.0 and cells[("K", 0, 0)] == -1.0 and cells[("V", 1, 1)] == 1
    import vl_convert as vlc

    drawn = vlc.vegalite_to_svg(json.dumps(one))  # the chosen matrix's numbers, printed from its own columns
    assert ">5.00<" in drawn and ">-1.00<" not in drawn


def test_the_enlarged_head_is_picked_in_the_browser():
    rng = np.random.default_rng(0)
    heads = {f"layer 0, head {h}": rng.random((2, 2)) for h in range(3)}
    s = spec(charts.digit_overlays(rng.random((8, 8)), {"rollout": rng.random((2, 2))}, choices=heads))
    (param,) = s["params"]
    assert param["bind"]["input"] == "select" and param["bind"]["options"] == list(heads)
    assert param["value"] == "layer 0, head 2"  # the last head, as before
    picked = [r for r in rows(s) if r["panel"] == "the head picked below"]
    assert len(picked) == 3 * 64 and {r["head"] for r in picked} == set(heads)  # every head's map sent once
    corner = next(r for r in picked if r["head"] == "layer 0, head 1" and r["row"] == 7 and r["col"] == 7)
    assert corner["weight"] == pytest.approx(heads["layer 0, head 1"][1, 1], abs=1e-4)
    assert "datum.head === head" in s["spec"]["transform"][0]["filter"]


def test_large_maps_skip_the_per_cell_screen_reader_text():
    """Vega-Lite writes a description for every cell on every redraw; large maps go without (their title and hover
    keep the values), small ones keep it."""
    small = spec(charts.heatmap_spec(np.eye(6), list("abcdef"), list("abcdef")))
    labels = [f"t{i}" for i in range(20)]
    large = spec(charts.heatmap_spec(np.eye(20), labels, labels))
    assert small["layer"][0]["mark"].get("aria", True) is True and large["layer"][0]["mark"]["aria"] is False
    grid = spec(charts.attention_over_training(np.tril(np.full((2, 1, 2, 3, 3), 0.3)), [0, 5], list("abc"),
                                               list("abc"), what="x"))
    assert grid["spec"]["mark"]["aria"] is False
    assert spec(charts.head_maps_spec(np.full((2, 3, 3), 0.3)))["spec"]["mark"]["aria"] is False


def test_steps_four_and_five_are_one_chart_of_two_panels():
    """Page 2's weighted values and their sum: one chart, each panel its own cells and title (read from its own
    data), the features lined up (the row labels take the same room), one colour scale; canvas when a panel is big."""
    import vl_convert as vlc

    look = {"col_title": "feature", "scheme": "redblue", "domain": (-2, 2), "cell": 26, "max_width": 600}
    weighted = np.array([[0.5, -3.0], [0.25, 1.0]])
    s = charts.heatmaps_spec([(weighted, ["0: a", "1: b"], ["f0", "f1"], dict(look, title="step 4 · for a")),
                              (weighted.sum(0, keepdims=True), ["Σ weighted values"], ["f0", "f1"],
                               dict(look, title="step 5 · output for a"))])
    assert [p["data"]["name"] for p in s["vconcat"]] == ["cells0", "cells1"]
    assert [r["value"] for r in s["datasets"]["cells1"]] == [0.75, -2.0]
    assert s["config"]["axisY"]["minExtent"] == 130 and s["resolve"] == {"scale": {"color": "shared"}}
    svg = vlc.vegalite_to_svg(json.dumps(s))
    assert svg.index("step 4 · for a") < svg.index("step 5 · output for a") and "usermeta" not in s
    # past the domain's end a cell gets the end's colour (clamped), not black; its number keeps the value
    assert s["vconcat"][0]["layer"][0]["encoding"]["color"]["scale"]["clamp"] is True and ">-3.00<" in svg
    big = charts.heatmaps_spec([(np.zeros((12, 64)), [f"t{i}" for i in range(12)], [f"f{j}" for j in range(64)],
                                 look), (np.zeros((1, 64)), ["sum"], [f"f{j}" for j in range(64)], look)])
    assert big["usermeta"] == {"embedOptions": {"renderer": "canvas"}}
