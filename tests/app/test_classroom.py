"""Issue 6 in the pages: shareable links, presets, self-check and exports."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import open_page, settle

# (page, widget kind, key, value to set, text in the URL)
ROUND_TRIPS = [
    ("shapes", "slider", "d_model", 100, "100"),
    ("shapes", "slider", "n_tokens", 512, "512"),
    ("self_attention", "slider", "d_k", 9, "9"),
    ("self_attention", "text_input", "sentence", "attention is all you need", "attention is all you need"),
    ("self_attention", "toggle", "causal", True, "1"),
    ("multi_head", "slider", "heads", 6, "6"),
    ("multi_head", "slider", "tokens", 17, "17"),
    ("why_attention", "select_slider", "kernel", 7, "7"),
    ("why_attention", "slider", "layers", 3, "3"),
    ("training", "number_input", "epochs_c", 3, "3"),
    ("training", "select_slider", "d_model", 16, "16"),
]


@pytest.mark.parametrize("page,kind,key,value,text", ROUND_TRIPS)
def test_url_round_trip(page, kind, key, value, text):
    at = open_page(page)
    widget = getattr(at, kind)(key=key)
    widget.input(value) if kind == "text_input" else widget.set_value(value)
    if page == "training":  # form widgets count once the form is submitted: a tiny run, not 10/30/50 epochs
        for k, v in {"epochs_a": 1, "epochs_b": 2, "epochs_c": 3}.items():
            if k != key:
                at.number_input(key=k).set_value(v)
        at.select_slider(key="n_layers").set_value(1)
        next(b for b in at.button if b.label == "Train").click()
    at.run()
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params[key] == text
    shared = params
    again = open_page(page, shared)  # a new session opening the link
    assert getattr(again, kind)(key=key).value == value
    assert not again.warning or "cannot be used" not in again.warning[0].value


@pytest.mark.parametrize("page,params", [
    ("shapes", {"d_model": "99999", "n_tokens": "abc", "layout": "diagonal"}),
    ("self_attention", {"d_k": "-3", "causal": "maybe", "sentence": "x" * 400}),
    ("multi_head", {"heads": "0", "batch": "1e9"}),
    ("training", {"lr": "7", "epochs_a": "1000", "fraction": "2"}),
    ("why_attention", {"kernel": "4"}),
])
def test_bad_links_fall_back_to_defaults_with_a_warning(page, params):
    at = open_page(page, params)
    assert at.warning and "cannot be used" in at.warning[0].value
    for key in params:
        assert key in at.warning[0].value


def test_good_link_is_applied_and_defaults_stay_out_of_the_url():
    at = open_page("shapes", {"d_model": "512", "n_tokens": "10"})
    assert at.slider(key="d_model").value == 512 and at.slider(key="n_tokens").value == 10
    table = at.dataframe[0].value.set_index("tensor")["shape"]
    assert table["X"] == "[512, 10]"
    fresh = open_page("shapes")
    assert dict(fresh.query_params) == {}


def test_presets():
    at = open_page("shapes", {"d_model": "64", "n_tokens": "3"})
    next(b for b in at.button if b.label == "Coursework Q1").click()
    at.run()
    assert at.slider(key="d_model").value == 768 and at.slider(key="n_tokens").value == 6
    mh = open_page("multi_head", {"heads": "5", "embdim": "96"})
    next(b for b in mh.button if b.label == "Coursework Q3.1").click()
    mh.run()
    shapes = mh.dataframe[0].value.set_index("variable")["shape"]
    assert shapes["qis_mh"] == "[1, 5, 12, 64]" and not mh.error
    tr = open_page("training")
    assert any("coursework's comparison" in c.value for c in tr.caption)  # the default preset, described
    next(b for b in tr.button if b.label == "Overfitting").click()
    tr.run()
    assert tr.select_slider(key="fraction").value == 0.05 and tr.number_input(key="epochs_c").value == 100
    assert any("memorises" in c.value for c in tr.caption)


@pytest.mark.parametrize("page,prefix", [("shapes", "shapes"), ("multi_head", "multihead")])
def test_self_check_marks_and_explains(page, prefix):
    at = open_page(page)
    boxes = [t for t in at.text_input if t.key.startswith(f"{prefix}_q0_")]
    assert len(boxes) >= 4
    boxes[0].input("1, 2")  # wrong
    boxes[1].input("not a shape")
    check = next(b for b in at.button if b.label == "Check my answers")
    check.click()
    at.run()
    assert len(at.error) >= 2 and ("axis" in at.error[0].value or "axes" in at.error[0].value)
    assert any("Write the shape as numbers" in e.value for e in at.error)
    assert any("Your score this session: 0 of" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "New question").click()
    at.run()
    assert [t for t in at.text_input if t.key.startswith(f"{prefix}_q1_")]


def score_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Your score"))


def test_self_check_right_answers_score_once():
    from lab.analyses import quiz

    at = open_page("shapes")
    question = quiz.shapes_question(0)
    n = len(question.items)
    for item, box in zip(question.items, [t for t in at.text_input if t.key.startswith("shapes_q0_")], strict=True):
        box.input(" ".join(map(str, item.shape)))  # space-separated, as students also type it
    next(b for b in at.button if b.label == "Check my answers").click()
    at.run()
    assert len(at.success) == n and not at.error
    assert f"{n} of {n} shapes right" in score_caption(at)
    next(b for b in at.button if b.label == "Check my answers").click()  # the same answers again
    at.run()
    assert f"{n} of {n} shapes right" in score_caption(at)  # counted once, not "8 of 8"


def test_answer_boxes_hint_the_number_of_axes():
    at = open_page("multi_head")
    boxes = [t for t in at.text_input if t.key.startswith("multihead_q0_")]
    hints = {t.label: t.proto.placeholder for t in boxes}
    assert hints["shape of qis_mh"] == "e.g. 4, 7, 2, 9"  # four numbers for a 4-D tensor, not "768, 6"
    assert hints["shape of zis"] == "e.g. 4, 7, 2"


def test_export_buttons_on_the_pages():
    at = open_page("self_attention")
    assert [d.proto.label for d in at.get("download_button")] == ["PNG", "SVG"]
    mh = open_page("multi_head")
    assert [d.proto.label for d in mh.get("download_button")] == ["PNG", "SVG"]


# ---------------------------------------------------------------- issue 15: a class on one server
def test_the_estimate_sits_next_to_train():
    from lab.analyses.classifier_runs import DEFAULTS, TrainingRequest
    from lab.server.requests import request_estimate

    at = open_page("training")
    note = next(c.value for c in at.caption if c.value.startswith("Estimated training time"))
    seconds = request_estimate(TrainingRequest.from_form(DEFAULTS))  # the default form's request, as estimated
    assert note.startswith(f"Estimated training time: about {seconds:.0f} s of this server's cores")


def test_a_request_over_the_bound_is_refused_on_a_shared_server(monkeypatch):
    from lab.server.jobs import REGISTRY

    monkeypatch.setenv("LAB_SHARED", "1")
    link = {"epochs_a": "98", "epochs_b": "99", "epochs_c": "100", "schedule": "cosine", "d_model": "64",
            "n_heads": "8", "n_layers": "4", "patch": "2", "batch_size": "16", "cnn": "1"}
    at = open_page("training", link)  # the 397-epoch link
    started = REGISTRY.started
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert any("On a shared server each request may take at most 30 s" in e.value for e in at.error)
    assert REGISTRY.started == started and "train_request" not in at.session_state  # nothing was queued
    monkeypatch.setenv("LAB_SHARED", "0")  # the same link on a laptop used alone: no bound
    at = open_page("training", link)
    assert not any("at most 30 s" in e.value for e in at.error)


def test_teacher_mode_fixes_settings():
    at = open_page("training", {"only": "lr", "d_model": "16"})
    assert not at.select_slider(key="lr").disabled
    assert at.select_slider(key="d_model").disabled and at.select_slider(key="d_model").value == 16
    assert at.number_input(key="epochs_c").disabled and at.checkbox(key="cnn").disabled
    assert all(b.disabled for b in at.button if b.label in ("Overfitting", "Learning rate too high"))
    assert any("leaves you this control to change: **learning rate**. The greyed-out" in c.value for c in at.caption)
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params["only"] == "lr" and params["d_model"] == "16"  # the flags stay in the link
    presets = open_page("training", {"only": "presets"})
    assert not next(b for b in presets.button if b.label == "Overfitting").disabled
    assert presets.select_slider(key="lr").disabled


def test_teacher_mode_on_page_6():
    at = open_page("attention_learns", {"task": "sort", "only": "positions,compare"})
    assert at.selectbox(key="task").disabled and at.selectbox(key="task").value == "sort"
    assert not at.toggle(key="positions").disabled and not at.checkbox(key="compare").disabled
    assert at.select_slider(key="d_model").disabled
    assert any("leaves you these controls to change: **learned positional embeddings** and **also train with "
               "positions flipped, to compare**. The greyed" in c.value for c in at.caption)


def test_teacher_mode_names_what_it_cannot_use():
    typo = open_page("training", {"only": "lr,lrr"})
    assert not typo.select_slider(key="lr").disabled
    note = next(c.value for c in typo.caption if "teacher's link" in c.value)
    assert "Ignored, as this page has no such setting: lrr." in note
    nothing = open_page("training", {"only": "none"})
    assert nothing.select_slider(key="lr").disabled and nothing.number_input(key="seed").disabled
    assert any("fixes every setting" in c.value for c in nothing.caption)
    assert nothing.query_params["only"] in ("none", ["none"])  # and stays in the link


# ---------------------------------------------------------------- what a class hits (issue 19)
SMALL_SEQ = {"length": "3", "steps": "50", "d_model": "16", "n_heads": "2", "n_layers": "1"}


def press_train(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_shared_server_serves_what_it_trained_and_refuses_in_the_page_s_own_words(monkeypatch):
    monkeypatch.setenv("LAB_SHARED", "0")
    first = press_train(open_page("attention_learns", SMALL_SEQ))  # a laptop alone: no bound
    assert any(s.value.startswith("Learning to reverse") for s in first.subheader)
    monkeypatch.setenv("LAB_SHARED", "1")
    monkeypatch.setenv("LAB_MAX_TRAIN_SECONDS", "0.001")
    second = open_page("attention_learns", SMALL_SEQ)
    assert any("Already trained (or training) on this server" in c.value for c in second.caption)
    press_train(second)  # the same settings on a shared server, far over the bound: served, not refused
    assert not second.error and any(s.value.startswith("Learning to reverse") for s in second.subheader)
    other = press_train(open_page("attention_learns", {**SMALL_SEQ, "seed": "7"}))
    refusal = other.error[0].value
    assert "fewer training steps" in refusal and "images" not in refusal and "epochs" not in refusal


def test_the_sidebar_counts_the_trainings():
    at = press_train(open_page("training", {"epochs_a": "1", "epochs_b": "2", "epochs_c": "2", "d_model": "8",
                                            "n_heads": "2", "n_layers": "1"}))
    assert any(c.value == "done: 2 of 2 trainings finished" for c in at.sidebar.caption), [
        c.value for c in at.sidebar.caption]  # the 2-epoch run and the 1-epoch check: 3 bars, 2 trainings


def test_a_locked_task_is_not_offered_as_a_choice():
    at = open_page("attention_learns", {"only": "positions"})
    prompt = next(i.value for i in at.info if "**Train**" in i.value)
    assert prompt.startswith("Press **Train**") and "Choose a task" not in prompt


def test_one_word_tests_no_claim_and_the_derivation_has_one_format():
    import re

    at = open_page("self_attention", {"sentence": "cat"})
    at.session_state["claims_open"] = True  # the claim's section computes only while open
    text = " ".join(m.value for m in settle(at).markdown)
    assert "of rows" not in text and "one word tests nothing" in text
    full = open_page("self_attention")
    panel = next(m.value for m in full.markdown if m.value.startswith("**Weight of key"))
    header, *rows = panel.split("```text\n")[1].split("\n```")[0].splitlines()  # q, k and their products
    assert header.split() == ["f0", "f1", "f2", "f3"] and [r.split()[0] for r in rows] == ["q_0", "k_0", "q"]
    cells = [c for r in rows for c in r.split()[-4:]]
    assert len(cells) == 12 and all(re.fullmatch(r"-?\d+\.\d{4}", v) for v in cells), cells


# ---------------------------------------------------------------- learned attention on words (issue 21)
def test_learned_mode_on_pages_2_and_3():
    """One training of the language serves both pages: page 2 runs the five steps on the trained head, page 3
    shows every head's role and knocks the pronoun head out."""
    from lab.analyses.learned_heads import LanguageRequest, best_head
    from lab.server.jobs import REGISTRY
    from lab.server.requests import head_name

    at = open_page("self_attention", {"mode": "learned"})
    assert at.text_input(key="sentence").value == "the cat chased the dogs . then it meowed ."
    query = next(s for s in at.selectbox if s.label.startswith("token being"))
    assert query.format_func(query.value) == "7: it"  # the pronoun is the query
    record = REGISTRY.get(LanguageRequest().config).records[-1]
    layer, head, share = best_head(record.shares)
    note = next(c.value for c in at.caption if c.value.startswith("The head that resolves pronouns best"))
    assert f"{head_name(layer, head)}: puts {share:.0%} of the pronoun's attention" in note  # built from the numbers
    assert at.selectbox(key="head").value == layer * 4 + head
    key = next(s for s in at.selectbox if s.label.startswith("Where does one weight"))
    assert key.value == 1  # starts on 1: cat, the row's top
    derivation = " ".join(m.value for m in at.markdown)
    assert "**Weight of key 1\\: cat for query 7\\: it**" in derivation and "the cell you chose" in derivation
    at.text_input(key="sentence").input("the zebra chased the cat").run()
    assert "'zebra'" in at.error[0].value and any("The language's 54 words" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "the cats near the dog were tired .").click().run()
    assert not at.error and at.text_input(key="sentence").value == "the cats near the dog were tired ."
    at.switch_page("views/multi_head.py")
    at.run()
    at.toggle(key="learned_heads").set_value(True).run()
    assert not at.exception
    roles = at.dataframe[-1].value.set_index("head")
    assert len(roles) == 8 and roles.loc[head_name(layer, head), "role, measured"].startswith("pronoun")
    knocked = next(m.value for m in at.markdown if m.value.startswith("Without"))
    assert knocked.startswith(f"Without {head_name(layer, head)}: pronouns") and "needs it for this" in knocked


def test_each_mode_keeps_its_own_sentence(language_served):
    """Switching page 2 to learned mode with a sentence the model cannot read shows the language's example (not a
    stop), and switching back brings the random sentence back; a sentence typed in learned mode stays."""
    from transformer.language import EXAMPLES

    def query(at):
        box = next(s for s in at.selectbox if s.label.startswith("token being"))
        return box, box.format_func(box.value)

    words = " ".join(f"w{i}" for i in range(12))
    at = open_page("self_attention", {"sentence": words})
    query(at)[0].set_value(11).run()
    at.radio(key="mode").set_value("learned").run()
    assert not at.error and at.text_input(key="sentence").value == EXAMPLES[0]
    assert query(at)[1] == "7: it"  # the five steps on the example, from the pronoun (not query 11 of the other)
    at.radio(key="mode").set_value("random").run()
    assert at.text_input(key="sentence").value == words and not at.exception and query(at)[1] == "0: w0"
    at.radio(key="mode").set_value("learned").run()
    at.text_input(key="sentence").input("the cats near the dog were tired .").run()
    at.radio(key="mode").set_value("random").run()
    assert at.text_input(key="sentence").value == "the cats near the dog were tired ."
    at.radio(key="mode").set_value("learned").run()  # a sentence of the language stays when switching either way
    assert at.text_input(key="sentence").value == "the cats near the dog were tired ." and not at.error


def test_the_mode_switch_keeps_page_2s_chart_specs(language_served):
    """Switching page 2 between random and learned mode changes the charts' numbers, not their specs (which the
    browser compares to decide between swapping the data in and building the chart anew), at the defaults (d_k 4,
    cells of their own size) and at the largest d_k (64: Q, K, V and steps 4-5 fill their width, and so do the
    learned head's 16 features)."""
    words = "+".join(f"w{i}" for i in range(12))
    for settings in ({}, {"d_model": "64", "d_k": "64", "sentence": words}):
        at = open_page("self_attention", settings)
        random = [c.proto.spec for c in at.get("vega_lite_chart")]
        at.radio(key="mode").set_value("learned").run()
        learned = [c.proto.spec for c in at.get("vega_lite_chart")]
        assert not at.exception and len(random) == len(learned) == 4
        assert random == learned, settings
        width = json.loads(random[0])["width"]  # Q, K, V: filling the width at d_k 64 only
        assert width == (600 if settings else {"step": 34}), width


def test_learned_mode_keeps_random_modes_controls_hidden(language_served):
    """In learned mode page 2's six random-mode controls stay in the page, hidden, with their settings (the browser
    keeps the widgets for the switch back); in random mode they show."""
    from lab.ui.explain import hiding

    def hidden(at):
        return any(hiding("random_controls") in h.proto.body for h in at.get("html"))

    at = open_page("self_attention", {"d_model": "12", "causal": "true"})
    assert not hidden(at)
    at.radio(key="mode").set_value("learned").run()
    assert hidden(at) and at.slider(key="d_model").value == 12 and at.toggle(key="causal").value
    at.radio(key="mode").set_value("random").run()
    assert not hidden(at) and at.slider(key="d_model").value == 12 and not at.exception
