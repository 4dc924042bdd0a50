"""The data-efficiency study: its trainings through the shared jobs, its table, and a reading built from numbers."""

from lab.analyses.study import StudyRequest, conclusion, summary, table
from lab.server.jobs import JobRegistry
from lab.server.requests import follow

from conftest import study_results


def test_the_study_trains_each_model_share_and_seed_once():
    request = StudyRequest(seeds=2, epochs=1, shares=(0.05, 0.1))
    assert len(request.trainings()) == len(set(request.trainings())) == 2 * 2 * 2
    last = list(follow(request, JobRegistry(), "s", pace=0))[-1]
    assert last.finished and not last.error and len(last.results) == 8
    assert [(b.label, b.done, b.total) for b in last.bars] == [("transformer runs", 4, 4), ("CNN runs", 4, 4)]
    s = summary(last.results)
    assert set(s["runs"]) == {2} and (s["low"] <= s["mean"]).all() and (s["mean"] <= s["high"]).all()


def test_table_gives_mean_range_and_lead():
    t = table(study_results(0.82, 0.97)).set_index("training images")
    assert t.loc["5%", "CNN"] == "82.0% (81.0%–83.0%)" and t.loc["5%", "CNN lead (points)"] == "+12.0"
    assert t.loc["100%", "CNN lead (points)"] == "+1.0"


def test_the_reading_follows_the_numbers():
    textbook = conclusion(study_results(0.82, 0.97))
    assert textbook.startswith("Measured: with 5% of the images the CNN leads by 12.0 points; with 100% of the "
                               "images the CNN leads by 1.0 points.")
    assert "As the textbook expects" in textbook
    against = conclusion(study_results(0.65, 0.97))
    assert "the transformer leads by 5.0 points" in against and "disagrees with the textbook" in against
    widening = conclusion(study_results(0.71, 0.99))
    assert "does not" in widening and "As the textbook expects" not in widening
