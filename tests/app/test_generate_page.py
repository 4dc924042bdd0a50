"""The Generate page in AppTest: it writes with the language model and with a page-6 model, its step explorer and
cost follow the generation, bad input is a message, and a link writes the same text again."""
import json

from lab.analyses import writing

from conftest import open_page, settle


def press(at, label: str = "Generate"):
    next(b for b in at.button if b.label == label).click()
    return settle(at)


def explorer(at) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                if any(p.get("name") == "step" for p in json.loads(c.proto.spec).get("params", [])))


def written(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**"))


def test_it_waits_for_generate_then_writes_and_explains_every_step(language_served):
    at = open_page("generate")
    assert any("Press **Generate**" in i.value for i in at.info)
    press(at)
    text = written(at)
    assert text.startswith("**the cat chased the dogs \\. then**") and "meowed" in text  # 'it' is the cat
    steps = at.dataframe[0].value
    assert list(steps["token"]) == ["it", "meowed", "."]
    spec = explorer(at)
    step = next(p for p in spec["params"] if p["name"] == "step")
    assert step["bind"]["max"] == len(steps) - 1 and step["value"] == 1  # opened on the sound after 'it'
    body = "\n".join(m.value for m in at.markdown)
    assert "here the same tokens both ways" in body and "Over these 3 steps the cache needs" in body
    assert at.query_params["run"] == "1"
    # the temperature study's reading is the one its own numbers give
    from lab.server.jobs import REGISTRY
    from transformer.language import LanguageConfig

    rows = writing.temperature_study(REGISTRY.get(LanguageConfig()).model)
    assert writing.study_sentence(rows) in body
    again = settle(at)  # a rerun shows the same text without writing it again
    assert written(again) == text


def test_a_link_writes_the_same_text_and_bad_settings_are_messages(language_served):
    at = open_page("generate", {"temperature": "1.5", "seed": "7", "top_k": "5", "run": "1"})
    text = written(at)
    assert at.slider(key="temperature").value == 1.5 and at.number_input(key="top_k").value == 5
    same = open_page("generate", {"temperature": "1.5", "seed": "7", "top_k": "5", "run": "1"})
    assert written(same) == text
    assert written(open_page("generate", {"prompt": "the owls saw", "run": "1"})).startswith("**the owls saw**")
    bad = open_page("generate", {"temperature": "-1", "top_p": "nan"})
    assert "cannot be used" in bad.warning[0].value and bad.slider(key="temperature").value == 1.0
    for prompt, message in (("the zebra chased", "not in the animal language's vocabulary: 'zebra'"),
                            ("the cat " * 7, "more than the 12 this model reads at once"),
                            ("", "the sentence has no words")):
        at.text_input(key="prompt_language").input(prompt)
        settle(at)
        assert any(message in e.value for e in at.error), prompt
    at.text_input(key="prompt_language").input("the cat chased the dogs . then it meowed .")
    press(at)
    assert any("Nothing was written" in i.value for i in at.info)


def test_page6_models_write_their_own_tokens():
    at = open_page("generate", {"model": "page6"})  # (the language model is never trained here)
    assert any("No page-6 model in this session" in i.value for i in at.info)
    for task, prompt in (("reverse", "3 1 4 1 5 9"),):  # (induction's prompts: test_writing.py)
        at.switch_page("views/attention_learns.py")
        settle(at)
        for key, value in {"task": task, "steps": 50, "d_model": 16, "n_heads": 2, "n_layers": 2}.items():
            (at.selectbox if key == "task" else at.select_slider)(key=key).set_value(value)
        press(at, "Train")
        at.switch_page("views/generate.py")
        settle(at)
        assert at.radio(key="model").value == "page6"
        assert any(f"Your page-6 model: {task}" in c.value for c in at.caption)
        if prompt:
            at.text_input(key="prompt_reverse").input("12")
            settle(at)
            assert any("type exactly 6 digits" in e.value for e in at.error)
            at.text_input(key="prompt_reverse").input(prompt)
        press(at)
        text = written(at)
        start = at.text_input(key=f"prompt_{task}").value
        assert start == (prompt or writing.writer(at.session_state["seq_result"][2][
            at.session_state["seq_result"][0].config]).default_prompt)  # induction: its own example, not digits
        assert text.startswith("**3 1 4 1 5 9 →**" if prompt else "**" + " ".join(start))
        new = at.dataframe[0].value
        assert len(new) == (6 if prompt else len(new)) and len(new) >= 1
        assert any("choose the language model above" in i.value for i in at.info)  # the study needs the language


def test_a_page6_training_still_running_is_waited_for_then_writes():
    from lab.analyses.sequence_runs import SeqRequest
    from transformer.sequence import SeqConfig

    at = open_page("generate", {"model": "page6"})
    at.session_state["seq_request"] = SeqRequest(SeqConfig(task="sort", length=4, steps=30, d_model=16, n_heads=2,
                                                           n_layers=1))  # asked for on page 6, not yet finished
    settle(at)
    assert any("Your page-6 model: sort" in c.value for c in at.caption)
    assert not any("has not finished" in i.value for i in at.info)  # said while it trained, gone once it is done
    assert at.session_state["seq_result"][0] == at.session_state["seq_request"]  # page 6 shows the same run
    press(at)
    assert written(at).startswith("**")


def test_the_language_model_trains_when_first_asked_to_write_not_when_the_page_opens(language_job, monkeypatch):
    from lab.ui import learned_panel

    asked = []  # the shared training (learned_panel.trained_model), stood in for by the session's trained model
    monkeypatch.setattr(learned_panel, "trained_model", lambda: asked.append(1) or (language_job.model, None))
    at = open_page("generate", {"max_new": "3"})
    assert asked == [] and any("Press **Generate**" in i.value for i in at.info)  # opening the page trains nothing
    press(at)
    assert asked == [1] and written(at).startswith("**the cat chased")
