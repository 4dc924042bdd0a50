"""Issue 41: lessons over the real pages. Every step of every lesson opens its page with its settings; the panel asks
for a prediction and reveals the answer computed from the page's numbers (which follows the page when a setting
moves); a link resumes a lesson; the teacher sees the class's split; a broken lesson file is named, not raised."""
import pytest

from lab.analyses import lessons
from lab.ui import page_fields

from conftest import open_page, settle


def all_lessons():
    return [lesson.id for lesson in lessons.load(page_fields.parsers())]


def find(lesson_id: str):
    return next(lesson for lesson in lessons.load(page_fields.parsers()) if lesson.id == lesson_id)


def button(at, key: str):
    return next(b for b in at.button if b.key == key)


def follow(at):
    """AppTest runs its own current page again after a script's st.switch_page; a browser follows the new address.
    Follow it here: run the click, then open the page the lesson's current step is on (if it is another)."""
    settle(at)
    where = at.session_state["_lesson"]
    lesson = find(where["lesson"])
    index = int(where["step"]) - 1
    if index < len(lesson.steps) and at.session_state["_lesson_last_page"] != lesson.steps[index].page:
        at.switch_page(page_fields.SCRIPTS[lesson.steps[index].page])
        settle(at)
    return at


def param(at, name: str) -> str | None:
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def panel_text(at) -> str:
    return " ".join(e.value for kind in ("markdown", "success", "error", "info", "warning") for e in getattr(at, kind))


@pytest.mark.parametrize("lesson_id", all_lessons())
def test_every_step_opens_its_page_with_its_settings(lesson_id, language_served):
    """Started from the Lessons page and walked with Next: every step runs its page without an exception, the
    page's controls show the step's settings (the others their defaults), and the panel shows the step and its
    question; Finish shows the summary."""
    at = open_page("lessons")
    button(at, f"start_{lesson_id}").click()
    follow(at)
    lesson = find(lesson_id)
    for index, step in enumerate(lesson.steps):
        assert param(at, "step") == str(index + 1)
        fields = page_fields.fields(step.page)
        kept = at.session_state[f"_link_{step.page}"]
        for name, f in fields.items():
            want = f.parse(step.settings[name]) if name in step.settings else f.default
            if name in step.settings or name in ("d_model", "n_tokens", "tokens", "heads", "embdim", "task"):
                assert kept[name] == want, (index, name)
        assert f"step {index + 1} of" in panel_text(at)
        if step.ask:
            assert step.ask in panel_text(at)
        assert not [w.value for w in at.warning if "cannot be used" in w.value]
        button(at, "lesson_next").click()
        follow(at)
    assert "predictions right" in panel_text(at)


def test_a_lesson_walked_with_next_and_back():
    at = open_page("lessons")
    button(at, "start_shapes").click()
    follow(at)
    assert param(at, "lesson") == "shapes" and param(at, "step") == "1"
    at.text_input(key="p_shapes_0").input("768, 768")
    next(b for b in at.button if b.label == "Check my prediction").click()
    settle(at)
    assert "You predicted [768, 768]" in at.error[0].value and "The page computes [768, 6]" in at.error[0].value
    for _ in range(3):
        button(at, "lesson_next").click()
        follow(at)
    assert at.slider(key="n_tokens").value == 12 and param(at, "step") == "4"  # the step's settings
    button(at, "lesson_back").click()
    follow(at)
    assert at.slider(key="n_tokens").value == 6 and param(at, "step") == "3"


def test_the_reveal_follows_the_page_numbers():
    """The right answer is the page's own: move a setting after predicting and the reveal changes with it."""
    at = open_page("shapes", {"lesson": "shapes", "step": "2"})
    at.text_input(key="p_shapes_1").input("6, 6")
    next(b for b in at.button if b.label == "Check my prediction").click()
    settle(at)
    assert "right" in at.success[0].value and "[6, 6]" in at.success[0].value
    at.slider(key="n_tokens").set_value(9)
    settle(at)
    assert not at.success and "The page computes [9, 9]" in at.error[0].value


def test_a_question_about_a_training_waits_for_it_then_reads_its_runs():
    at = open_page("training", {"lesson": "training", "step": "1"})
    at.radio(key="p_training_0").set_value("the longest run")
    next(b for b in at.button if b.label == "Check my prediction").click()
    settle(at)
    assert "Press **Train**" in at.info[0].value or any("Press **Train**" in i.value for i in at.info)
    for key, value in {"epochs_a": 1, "epochs_b": 2, "epochs_c": 3}.items():  # tiny runs: this is about the code
        at.number_input(key=key).set_value(value)
    next(b for b in at.button if b.label == "Train").click()
    settle(at)
    runs = at.session_state["train_result"][1].runs
    finals = {n: r[n - 1]["val_acc"] for n, r in runs.items()}
    best = max(finals, key=finals.get)
    said = panel_text(at)
    assert "Final validation accuracy: 1 epochs" in said
    assert ("right" in said) == (best == 3)


def test_the_summary_lists_every_prediction():
    at = open_page("multi_head", {"lesson": "multi_head", "step": "8"})
    at.text_input(key="p_multi_head_7").input("4, 4, 10, 10")
    next(b for b in at.button if b.label == "Check my prediction").click()
    settle(at)
    button(at, "lesson_next").click()  # Finish
    settle(at)
    assert param(at, "step") == "9"
    rows = at.dataframe[0].value
    assert len(rows) == find("multi_head").questions
    assert rows.iloc[-1]["marked"] == "right" and (rows["marked"] == "not answered").sum() == len(rows) - 1
    assert "1 of 8 predictions right, 0 wrong" in panel_text(at)


def test_the_teacher_sees_how_the_class_split():
    from lab.server.class_answers import CLASSROOM

    CLASSROOM.clear()
    for answer in ("768, 768", "768 x 768", "6, 6"):  # three students
        at = open_page("shapes", {"lesson": "shapes", "step": "2"})
        at.text_input(key="p_shapes_1").input(answer)
        next(b for b in at.button if b.label == "Check my prediction").click()
        settle(at)
    teacher = open_page("lessons", {"teacher": "1"})
    table = teacher.dataframe[0].value
    row = table[table["step"] == 2].iloc[0]
    assert row["sessions"] == 3 and row["commonest predictions"] == "[768, 768]: 67%; [6, 6]: 33%"
    CLASSROOM.clear()


def test_a_broken_lesson_file_is_named_on_the_lessons_page(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text('title = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\n'
                                        'settings = { n_tokens = 0 }')
    monkeypatch.setattr(lessons, "FOLDER", tmp_path)
    at = open_page("lessons")
    assert "mine.toml, step 1: n_tokens = 0 cannot be used on page 'shapes'" in at.error[0].value
    assert not [b for b in at.button if b.label == "Start"]


def test_leave_closes_the_panel():
    at = open_page("shapes", {"lesson": "shapes", "step": "3"})
    button(at, "lesson_leave").click()
    settle(at)
    assert "lesson" not in at.query_params and "Lesson:" not in panel_text(at)


def test_a_link_into_a_lesson_opens_the_step_page_with_its_settings():
    """A hand-written link on the home page (no page settings): the step's page opens with the step's settings."""
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT, TIMEOUT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({"lesson": "shapes", "step": "4"})
    settle(at)
    assert at.slider(key="n_tokens").value == 12 and "step 4 of" in panel_text(at)


def test_the_pronoun_and_knockout_questions_read_the_trained_model(language_served):
    """Inside a trained model: the pronoun question's options are the sentence's words and its answer is the pronoun
    head's own row; the knock-out question is measured on the held-out sentences once this session has the model."""
    at = open_page("self_attention", {"lesson": "inside", "step": "1"})
    options = at.radio(key="p_inside_0").options
    assert options == ["the", "cat", "chased", "dogs", ".", "then", "it"]
    at.radio(key="p_inside_0").set_value("dogs")
    next(b for b in at.button if b.label == "Check my prediction").click()
    settle(at)
    said = panel_text(at)
    assert "the head that resolves pronouns best" in said and "of 'it's attention on" in said
    assert ("right" in said) == ("attention on 'dogs'" in said)
    for _ in range(2):
        button(at, "lesson_next").click()
        follow(at)  # then step 3, on page 3: the session trained (was served) the model on page 2
    at.radio(key="p_inside_2").set_value("less often")
    next(b for b in at.button if b.label == "Check my prediction").click()
    settle(at)
    assert "Pronoun accuracy on the held-out sentences:" in panel_text(at)


def test_the_teacher_view_says_where_results_are_kept(monkeypatch):
    """A store that cannot be used (here: a read-only folder) leaves the server in memory; the teacher sees it."""
    from lab.server import archive, store

    monkeypatch.setattr(archive.ARCHIVE, "backend", store.Memory("/srv/lab could not be used: attempt to write a "
                                                                  "readonly database"))
    at = open_page("lessons", {"teacher": "1"})
    assert any("results kept in this server's memory only (/srv/lab could not be used" in c.value for c in at.caption)
