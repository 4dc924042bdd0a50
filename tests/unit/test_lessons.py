"""Lessons as data (lab.analyses.lessons) and the answers they are checked against (lab.analyses.predictions): every
shipped lesson loads, a malformed one is named by file and step, every answer is recomputed from the settings (and
changes when they do), and a prediction is marked with the numbers that decide it."""
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from lab.analyses import lessons, predictions
from lab.analyses.lessons import LessonError, judge, parse_lesson
from lab.analyses.predictions import ANSWERS
from lab.ui import page_fields


@pytest.fixture(scope="module")
def pages():
    return page_fields.parsers()


def settings(page: str, **overrides) -> dict:
    """The page's settings at their defaults, with ``overrides`` (as a page's link holds them)."""
    return {name: f.default for name, f in page_fields.fields(page).items()} | overrides


def test_the_shipped_lessons_load_and_cover_the_coursework_in_order(pages):
    loaded = lessons.load(pages)
    assert len(loaded) >= 4 and sum(len(lesson.steps) for lesson in loaded) >= 30
    first_pages = [lesson.steps[0].page for lesson in loaded]
    assert first_pages[:4] == ["shapes", "self_attention", "multi_head", "training"]  # the coursework's order
    assert {"learned.pronoun", "learned.knockout", "learned.circuit"} <= {s.answer for lesson in loaded
                                                                        for s in lesson.steps}
    for lesson in loaded:
        assert lesson.questions >= 4, lesson.id


def test_every_step_names_settings_its_page_can_use(pages):
    for lesson in lessons.load(pages):
        for step in lesson.steps:
            fields = page_fields.fields(step.page)
            for name, text in step.settings.items():
                fields[name].parse(text)  # raises if the page would refuse it


BAD = [
    ("title = ", "not valid TOML"),
    ('summary = "x"\n[[steps]]\npage = "shapes"\ntext = "t"', "needs a title"),
    ('title = "t"', "at least one step"),
    ('title = "t"\n[[steps]]\npage = "nowhere"\ntext = "t"', "step 1: page 'nowhere' is not one of"),
    ('title = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\n'
     'settings = { d_model = 99999 }', "step 2: d_model = 99999 cannot be used on page 'shapes' (outside 1..4096)"),
    ('title = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\nsettings = { heads = 3 }', "has no setting 'heads'"),
    ('title = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\nask = "q?"', "needs both ask"),
    ('title = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\nask = "q?"\nanswer = "shapes.nothing"',
     "answer 'shapes.nothing' is not one the app computes"),
    ('title = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\nask = "q?"\nanswer = "multi_head.zis"',
     "reads page 'multi_head''s settings; this step is on page 'shapes'"),
    ('title = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\nanswr = "x"', "step 1: unknown key(s) answr"),
    ('title = "t"\n[[steps]]\npage = "shapes"', "step 1: the step needs a text"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_a_malformed_lesson_is_named_by_file_and_step(pages, text, message):
    with pytest.raises(LessonError) as err:
        parse_lesson(Path("mine.toml"), text, pages)
    assert str(err.value).startswith("mine.toml") and message in str(err.value)


def test_load_names_the_bad_file_among_good_ones(pages, tmp_path):
    (tmp_path / "good.toml").write_text('title = "g"\n[[steps]]\npage = "shapes"\ntext = "t"')
    (tmp_path / "typo.toml").write_text('title = "t"\n[[steps]]\npage = "shapes"\ntext = "t"\n[[steps]]\n'
                                        'page = "shape"\ntext = "t"')
    with pytest.raises(LessonError, match=r"^typo.toml, step 2: page 'shape'"):
        lessons.load(pages, tmp_path)
    (tmp_path / "typo.toml").unlink()
    assert [lesson.id for lesson in lessons.load(pages, tmp_path)] == ["good"]


# ------------------------------------------------------------------ answers follow the settings
def test_shape_answers_follow_the_page_settings():
    s = settings("shapes")
    assert ANSWERS["shapes.weights"].compute(s, {}).right == (6, 6)
    assert ANSWERS["shapes.weights"].compute(s | {"n_tokens": 12}, {}).right == (12, 12)
    assert ANSWERS["shapes.Q"].compute(s, {}).right == (768, 6)
    assert ANSWERS["shapes.Q"].compute(s | {"tie_dk": False, "d_k": 64}, {}).right == (64, 6)
    assert ANSWERS["shapes.Q"].compute(s | {"layout": page_fields.LAYOUTS[1]}, {}).right == (6, 768)
    assert ANSWERS["shapes.output"].compute(s | {"d_model": 512, "n_tokens": 10}, {}).right == (512, 10)


def test_which_cost_is_bigger_depends_on_the_sizes():
    s = settings("shapes")
    assert ANSWERS["shapes.bigger_cost"].compute(s, {}).right == predictions.BIGGER[0]
    assert ANSWERS["shapes.bigger_cost"].compute(s | {"d_model": 64, "n_tokens": 512}, {}).right == \
        predictions.BIGGER[1]
    assert ANSWERS["shapes.score_growth"].compute(s, {}).right == "×4"


def test_the_qkt_slip_is_named():
    reveal = ANSWERS["shapes.weights"].compute(settings("shapes"), {})
    verdict = judge("shape", "768 x 768", reveal)
    assert verdict.right is False and "QKᵀ" in verdict.text and "feature with feature" in verdict.text
    assert judge("shape", "[6, 6]", reveal).right is True
    assert judge("shape", "six by six", reveal).right is None  # unreadable: not marked


def test_page_two_answers_follow_the_sentence_and_sizes():
    s = settings("self_attention")
    assert ANSWERS["steps.tokens"].compute(s, {}).right == 6
    assert ANSWERS["steps.tokens"].compute(s | {"sentence": "attention is all you need ."}, {}).right == 6
    assert ANSWERS["steps.tokens"].compute(s | {"sentence": "a b c"}, {}).right == 3
    assert ANSWERS["steps.q"].compute(s | {"d_k": 9}, {}).right == (6, 9)
    assert ANSWERS["steps.masked_zeros"].compute(s, {}).right == 15  # 6 tokens: 6 * 5 / 2
    assert ANSWERS["steps.masked_zeros"].compute(s | {"sentence": "a b c d"}, {}).right == 6
    assert ANSWERS["steps.sums"].compute(s, {}).right == predictions.SUMS[0]
    assert ANSWERS["steps.q"].compute(s | {"sentence": "  "}, {}).right is None  # no words: nothing to reveal


def test_without_scaling_is_measured_not_assumed():
    s = settings("self_attention")
    big = ANSWERS["steps.without_scaling"].compute(s | {"d_model": 64, "d_k": 64}, {})
    assert big.right == predictions.SHARPER[0] and "bits" in big.said
    assert ANSWERS["steps.without_scaling"].compute(s | {"d_k": 1}, {}).right == predictions.SHARPER[2]


def test_multi_head_answers_follow_the_heads():
    s = settings("multi_head")
    assert ANSWERS["multi_head.qis_mh"].compute(s, {}).right == (1, 5, 12, 64)
    assert ANSWERS["multi_head.attmat_mh"].compute(s, {}).right == (1, 12, 5, 5)
    assert ANSWERS["multi_head.zis"].compute(s, {}).right == (1, 5, 768)
    assert ANSWERS["multi_head.qis_mh"].compute(s | {"heads": 8}, {}).right == (1, 5, 8, 96)
    assert ANSWERS["multi_head.qis_mh"].compute(s | {"heads": 7}, {}).right is None  # 768 does not split in 7
    assert ANSWERS["multi_head.params"].compute(s | {"heads": 8}, {}).right == "the same"
    slip = judge("shape", "1, 12, 5, 64", ANSWERS["multi_head.qis_mh"].compute(s, {}))
    assert slip.right is False and "tokens before heads" in slip.text


def test_receptive_field_answer_is_the_measured_depth():
    s = settings("why_attention")
    assert ANSWERS["why.conv_layers"].compute(s | {"n_tokens": 64, "kernel": 3}, {}).right == 32
    assert ANSWERS["why.conv_layers"].compute(s | {"n_tokens": 64, "kernel": 9}, {}).right == 8


def run_records(val_losses, val_accs=None) -> list[dict]:
    val_accs = val_accs or [0.5] * len(val_losses)
    return [{"val_loss": v, "val_acc": a} for v, a in zip(val_losses, val_accs, strict=True)]


def test_training_answers_wait_for_the_runs_then_read_them():
    s = settings("training")
    waiting = ANSWERS["training.best_run"].compute(s, {"train": None})
    assert waiting.right is None and "Train" in waiting.waiting
    runs = {1: run_records([1.0], [0.6]), 2: run_records([1.0, 0.9], [0.6, 0.8]),
            3: run_records([1.0, 0.8, 0.7], [0.6, 0.7, 0.75])}
    found = {"train": (None, SimpleNamespace(runs=runs), {})}
    assert ANSWERS["training.best_run"].compute(s, found).right == "the middle run"
    runs[3][-1]["val_acc"] = 0.9
    assert ANSWERS["training.best_run"].compute(s, found).right == "the longest run"
    assert ANSWERS["training.overfits"].compute(s, found).right == "no"
    runs[3][-1]["val_loss"] = 1.2  # lowest 0.8 at epoch 2, then up by half
    assert ANSWERS["training.overfits"].compute(s, found).right == "yes"


def study(t_acc, c_acc) -> dict:
    rows = [{"model": m, "share": 0.05, "seed": k, "val_acc": a + 0.01 * k, "cpu_seconds": 1.0}
            for m, a in (("transformer", t_acc), ("CNN", c_acc)) for k in range(3)]
    return {"study": (None, SimpleNamespace(results=pd.DataFrame(rows)), {})}


def test_the_study_answer_uses_the_seeds_spread():
    s = settings("why_attention")
    assert ANSWERS["why.small_data"].compute(s, {}).right is None
    assert ANSWERS["why.small_data"].compute(s, study(0.80, 0.90)).right == "the CNN"
    assert ANSWERS["why.small_data"].compute(s, study(0.90, 0.80)).right == "the transformer"
    assert ANSWERS["why.small_data"].compute(s, study(0.80, 0.81)).right == predictions.WHO[2]


def test_choice_feedback_names_the_numbers():
    reveal = ANSWERS["shapes.bigger_cost"].compute(settings("shapes"), {})
    wrong = judge("choice", predictions.BIGGER[1], reveal)
    assert wrong.right is False and "10,616,832" in wrong.text and predictions.BIGGER[0] in wrong.text


def test_a_number_is_marked_with_its_tolerance():
    reveal = ANSWERS["steps.masked_zeros"].compute(settings("self_attention"), {})
    assert judge("number", "15", reveal).right is True and judge("number", "15.0", reveal).right is True
    assert judge("number", "21", reveal).right is False
    assert judge("number", "many", reveal).right is None


def test_the_summary_counts_each_question_once():
    lesson = lessons.load(page_fields.parsers())[0]
    reveal = ANSWERS["shapes.Q"].compute(settings("shapes"), {})
    rows = lessons.summary_rows(lesson, {0: "768, 6", 1: "768, 768"},
                                {0: judge("shape", "768, 6", reveal), 1: judge("shape", "768, 768", reveal)})
    assert len(rows) == lesson.questions
    assert [r["marked"] for r in rows[:3]] == ["right", "wrong", "not answered"]
    assert lessons.tally(rows).startswith(f"1 of {lesson.questions} predictions right, 1 wrong")


def test_the_class_counts_each_session_once():
    from lab.server.class_answers import Classroom

    room = Classroom()
    room.record("shapes", 1, "a", "[768, 768]")
    room.record("shapes", 1, "b", "[6, 6]")
    room.record("shapes", 1, "a", "[6, 6]")  # a changed its mind: counted once, with the new answer
    assert room.split("shapes", 1) == {"[6, 6]": 2}
    room.clear("shapes")
    assert not room.split("shapes", 1)
