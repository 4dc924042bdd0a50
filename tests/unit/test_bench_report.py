"""The benchmarks' command line and report, without running a benchmark: every budget is named once and used,
every benchmark is registered, and a verdict says PASS or FAIL by its budget's direction."""
import re

from conftest import ROOT


def test_every_budget_is_checked_by_name_and_every_name_has_a_budget():
    from benchmarks.report import BUDGETS

    code = "\n".join(p.read_text() for p in (ROOT / "benchmarks").glob("*.py"))
    used = set(re.findall(r"check\(\s*\"(\w+)\"", code))
    assert used == set(BUDGETS)  # no budget left unmeasured, no check against a budget that is not there


def test_every_benchmark_is_registered():
    from benchmarks.__main__ import BENCHMARKS

    code = "\n".join(p.read_text() for p in (ROOT / "benchmarks").glob("*.py"))
    defined = set(re.findall(r"^def (bench_\w+)\(report", code, re.M))
    assert {fn.__name__ for _, fn in BENCHMARKS.values()} == defined
    assert len({section for section, _ in BENCHMARKS.values()}) == len(BENCHMARKS)  # a partial rerun's rows


def test_a_verdict_follows_its_budget():
    from benchmarks.report import Report

    report = Report(quiet=True)
    assert report.check("training_vs_naive_vit", 0.4) == "≤ 0.5×: PASS"
    assert report.check("validation_accuracy", 0.9) == "≥ 0.95: FAIL"
    assert report.check("induction_seconds_to_90", 20.0) == "≤ 20 s: PASS"  # the limit itself passes
    assert len(report.missed) == 1 and report.missed[0].startswith("validation_accuracy")
    report.add("training", "a measure", "1 s")
    assert report.rows == [("training", "a measure", "1 s", "", "")]
