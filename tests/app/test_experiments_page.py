"""Issue 42 in the pages: pin a run, compare the pins, unpin; a link with pins opens the same comparison in a new
session; a fifth pin is refused with the reason; the take-home downloads are there."""
from conftest import open_page, settle

TINY = {"epochs_a": "1", "epochs_b": "2", "epochs_c": "3", "n_layers": "1", "fraction": "0.25"}


def click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return settle(at)


def param(at, name: str):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_pin_compare_and_unpin_on_page_4():
    at = open_page("training", TINY)
    click(at, "Train")
    click(at, "Pin this run")
    assert param(at, "pins") == "epochs:3,n_layers:1,fraction:0.25"
    assert next(b for b in at.button if b.label == "Pin this run").disabled  # this run is pinned already
    at.select_slider(key="lr").set_value(0.01)
    click(at, "Train")
    click(at, "Pin this run")
    assert param(at, "pins") == "epochs:3,n_layers:1,fraction:0.25|epochs:3,lr:0.01,n_layers:1,fraction:0.25"
    table = at.dataframe[-1].value
    assert list(table["run"]) == ["lr 0.005", "lr 0.01"] and "lr ≠" in table.columns and "d_model" in table.columns
    sentence = next(i.value for i in at.info if "ends with the highest validation accuracy" in i.value)
    finals = [float(v.rstrip("%")) for v in table["validation accuracy"]]
    best = table["run"][finals.index(max(finals))]
    assert sentence.startswith(f"**{best}** ends with the highest")
    click(at, "Remove lr 0.005")
    assert param(at, "pins") == "epochs:3,lr:0.01,n_layers:1,fraction:0.25"
    assert at.dataframe[-1].value["run"].tolist() == ["run 1"]  # one pin left


def test_a_link_with_pins_opens_the_same_comparison():
    pins = "epochs:2,n_layers:1,fraction:0.25|epochs:2,n_layers:1,fraction:0.25,seed:1"
    at = open_page("training", {"pins": pins})  # a new session, no Train pressed: the pins are trained (or served)
    table = at.dataframe[-1].value
    assert list(table["run"]) == ["seed 0", "seed 1"]
    sentence = next(i.value for i in at.info if "ends with the highest" in i.value)
    assert "seeds alone moved it (between your pinned runs that differ only in their seed)" in sentence


def test_a_fifth_pin_is_refused_with_the_reason():
    pins = "|".join(f"epochs:2,n_layers:1,fraction:0.25,seed:{s}" for s in range(4))
    at = open_page("training", {**TINY, "pins": pins})
    click(at, "Train")
    button = next(b for b in at.button if b.label == "Pin this run")
    assert button.disabled
    assert any("4 runs are pinned, the most a comparison holds" in c.value for c in at.caption)


def test_a_link_with_bad_pins_says_so():
    at = open_page("training", {"pins": "lr:7"})
    assert any("pins='lr:7'" in w.value for w in at.warning)


def test_pins_on_page_6_and_the_downloads():
    small = {"task": "reverse", "length": "3", "steps": "50", "d_model": "16", "n_heads": "2", "n_layers": "1"}
    at = open_page("attention_learns", small)
    click(at, "Train")
    click(at, "Pin this run")
    assert param(at, "seq_pins") == "length:3,steps:50,d_model:16,n_heads:2,n_layers:1"
    labels = [d.label for d in at.get("download_button")]
    assert "Download as a script" in labels and "Download the records (CSV)" in labels
    assert at.dataframe[-1].value["run"].tolist() == ["run 1"]


def test_draw_a_digit_clear_and_start_from_a_test_image():
    at = open_page("training", TINY)
    click(at, "Train")
    assert any("Ink at least 3 cells" in i.value for i in at.info)  # an empty canvas: a friendly message
    click(at, "Start from a test image")
    reading = next(m.value for m in at.markdown if "reads your drawing" in m.value)
    assert reading.startswith("The model reads your drawing as **")
    click(at, "Clear")
    assert not [m for m in at.markdown if "reads your drawing" in m.value]
    assert any("Ink at least 3 cells" in i.value for i in at.info)
