"""Background training jobs: one training per configuration, shared, kept after it ends."""
import threading

import pytest

from lab.analyses.classifier_runs import plan
from lab.server.jobs import TrainingJob
from transformer.train import TrainConfig

TINY = TrainConfig(epochs=2, d_model=8, n_heads=2, n_layers=1)


def test_plan_shares_one_training_with_a_constant_rate():
    configs = plan([10, 30, 50, 30], TINY)
    assert list(configs) == [10, 30, 50] and len(set(configs.values())) == 1 and configs[10].epochs == 50
    cosine = plan([10, 50], TINY.replace(schedule="cosine"))
    assert [c.epochs for c in cosine.values()] == [10, 50]


def test_a_job_trains_once_and_keeps_every_epoch():
    job = TrainingJob(TINY).start()
    job.start()  # a second press does not start a second training
    job.join(120)
    assert job.state == "done" and job.model is not None
    assert [r.epoch for r in job.records] == [1, 2]
    assert job.wait(0, timeout=0.01) == job.records  # finished: returns at once


def test_many_viewers_wait_on_one_job():
    job = TrainingJob(TINY.replace(seed=3))
    seen = []
    viewers = [threading.Thread(target=lambda: seen.append(len(job.wait(1, timeout=60)))) for _ in range(5)]
    for v in viewers:
        v.start()
    job.start()
    for v in viewers:
        v.join(120)
    job.join(120)
    assert len(seen) == 5 and all(n >= 2 for n in seen)  # each woke when a second epoch (or the end) came


def test_a_failing_job_reports_instead_of_raising():
    job = TrainingJob(TINY)
    job.config = None  # breaks the training thread on purpose
    job.start().join(30)
    assert job.state == "failed" and job.error


# ---------------------------------------------------------------- the registry and the page's orchestration
def test_the_registry_shares_a_job_and_never_drops_one_in_progress():
    from lab.server.jobs import JobRegistry

    registry = JobRegistry(keep=1, slots=0)  # no core free: every job stays in progress (waiting) until we say
    first = registry.start(TINY.replace(seed=11))
    assert registry.start(TINY.replace(seed=11)) is first and first.state == "queued"
    second = registry.start(TINY.replace(seed=12))  # over the bound of one kept job while the first is in progress
    assert registry.get(TINY.replace(seed=11)) is first and registry.get(TINY.replace(seed=12)) is second
    registry.slots = 1
    registry.tick()  # a core frees: the first starts, the second follows it
    first.join(120)
    second.join(120)
    assert first.state == second.state == "done" and registry.started == 2
    registry.start(TINY.replace(seed=13)).join(120)
    assert len(registry) == 1 and registry.get(TINY.replace(seed=13)) is not None  # finished ones went first


def test_follow_reports_progress_per_requested_run():
    from lab.analyses.classifier_runs import TrainingRequest, check_difference
    from lab.server.jobs import JobRegistry
    from lab.server.requests import follow

    request = TrainingRequest.from_settings((1, 2, 3), d_model=8, n_heads=2, n_layers=1, seed=4)
    snaps = list(follow(request, JobRegistry(), "s", pace=0))
    last = snaps[-1]
    assert last.finished and not last.error
    assert [(b.label, b.done, b.total) for b in last.bars] == [
        ("1-epoch run", 1, 1), ("2-epoch run", 2, 2), ("3-epoch run", 3, 3),
        ("check: the 1-epoch run trained on its own", 1, 1)]
    assert all(0 <= b.done <= b.total for s in snaps for b in s.bars)  # a bar never runs past its own run
    assert [len(r) for r in last.runs.values()] == [1, 2, 3] and check_difference(last, request) == 0.0


def test_a_request_names_how_it_differs():
    from lab.analyses.classifier_runs import TrainingRequest

    a = TrainingRequest.from_settings((10, 30, 50))
    b = TrainingRequest.from_settings((10, 50, 100), train_fraction=0.05)
    assert a.differences(b) == ["epochs per run: [10, 30, 50] → [10, 50, 100]", "train_fraction: 1.0 → 0.05"]


def test_the_too_high_learning_rate_preset_does_what_it_says():
    """Measured, not promised: after 10 epochs the preset's rate is far below the default on validation."""
    from lab.analyses.classifier_runs import PRESETS
    from transformer.train import TrainConfig, train_classifier

    lr = PRESETS["Learning rate too high"][0]["lr"]
    default = list(train_classifier(TrainConfig(epochs=10)))[-1].val_acc
    high = list(train_classifier(TrainConfig(epochs=10, lr=lr)))[-1].val_acc
    assert high < default - 0.1, (high, default)


# ---------------------------------------------------------------- issue 15: a fair queue, cancelling, estimates
def test_the_queue_is_first_come_first_served_with_places_and_estimates():
    from lab.server.jobs import JobRegistry

    registry = JobRegistry(slots=1)
    a = registry.start(TINY.replace(seed=21, epochs=30), "s1")
    b = registry.start(TINY.replace(seed=22), "s2")
    c = registry.start(TINY.replace(seed=23), "s3")
    assert a.state == "training" and b.state == c.state == "queued"
    (pb, wb), (pc, wc) = registry.place(b), registry.place(c)
    assert (pb, pc) == (1, 2) and 0 < wb < wc  # the wait includes the job ahead
    for job in (a, b, c):
        job.join(120)
    assert [j.state for j in (a, b, c)] == ["done"] * 3 and registry.started == 3
    assert a.started_at < b.started_at < c.started_at


def test_identical_settings_share_one_training():
    from lab.server.jobs import JobRegistry

    registry = JobRegistry()
    jobs = [registry.start(TINY.replace(seed=31), f"student {i}") for i in range(5)]
    assert all(j is jobs[0] for j in jobs) and registry.started == 1 and len(jobs[0].watchers) == 5
    jobs[0].join(120)


def test_cancel_stops_only_what_nobody_else_watches():
    from lab.server.jobs import JobRegistry

    registry = JobRegistry(slots=1)
    running = registry.start(TINY.replace(seed=41, epochs=200), "s1")
    shared = registry.start(TINY.replace(seed=42), "s1")
    registry.start(TINY.replace(seed=42), "s2")  # another student waits for the same settings
    mine = registry.start(TINY.replace(seed=43), "s1")
    registry.cancel("s1", [running.config, shared.config, mine.config])
    running.join(120)
    assert running.state == "cancelled" and 0 < len(running.records) < 200  # stopped after an epoch, records kept
    assert mine.state == "cancelled" and registry.place(mine) is None  # left the queue
    shared.join(120)
    assert shared.state == "done"  # s2 still wanted it


def test_a_job_nobody_watches_stops(monkeypatch):
    import lab.server.jobs
    from lab.server.jobs import JobRegistry

    monkeypatch.setattr(lab.server.jobs, "GRACE_SECONDS", 0.0)
    registry = JobRegistry()
    job = registry.start(TINY.replace(seed=51, epochs=300), "s1")
    job.unwatch("s1")  # the tab was closed
    job.join(120)
    assert job.state == "cancelled" and len(job.records) < 300


def test_estimates_follow_the_settings_and_learn_from_this_machine():
    from lab.server import estimate
    from transformer.sequence import SeqConfig
    from transformer.train import TrainConfig

    base = estimate.estimate_seconds(TrainConfig())
    assert 1 < base < 30  # the default run: a few seconds
    assert estimate.estimate_seconds(TrainConfig(epochs=100)) == pytest.approx(2 * base)
    assert estimate.estimate_seconds(TrainConfig(train_fraction=0.05)) < base / 5
    assert estimate.estimate_seconds(TrainConfig(d_model=64, n_layers=4, patch_size=2)) > 5 * base
    assert estimate.estimate_seconds(SeqConfig(steps=600)) > estimate.estimate_seconds(SeqConfig())
    raw = estimate.estimate_seconds(TrainConfig())  # a fresh estimator (conftest gives each test its own)
    assert raw == pytest.approx(estimate._raw(TrainConfig()))
    estimate.learn(TrainConfig(), 2 * raw)  # this machine turned out twice as slow
    assert estimate.estimate_seconds(TrainConfig()) == pytest.approx(2 * raw)


def test_waits_follow_the_pace_of_the_running_jobs():
    """A running job 2x slower than estimated (a busy server) says so in its remaining time, and the wait of the
    jobs behind it grows to match, instead of reading "starting…" while nothing moves. The arithmetic is
    lab.server.estimate's; the queue only hands it the jobs as they stand."""
    from lab.server import estimate

    running = [(8.0, 0.4, 10.0)]  # 8 s in and 4 of 10 epochs done: 20 s where 10 were estimated
    assert estimate.pace(8.0, 0.4, 10.0) == pytest.approx(2.0)
    assert estimate.remaining(10.0, 8.0, 0.4) == pytest.approx(12.0)  # 6 epochs at 2 s each
    assert estimate.queue_wait([], running, slots=1) == pytest.approx(12.0)  # first in line: until it ends
    assert estimate.queue_wait([10.0], running, slots=1) == pytest.approx(12.0 + 2.0 * 10.0)  # the one ahead, at pace
    assert estimate.queue_wait([], [], slots=2) == 0.0 and estimate.queue_wait([], running, slots=2) == 0.0  # free
    # too early to tell (start-up is in the first epochs): the estimate less the time spent, trusted gradually
    assert estimate.pace(8.0, 0.1, 10.0) is None
    assert estimate.remaining(10.0, 8.0, 0.1) == pytest.approx(0.5 * 72.0 + 0.5 * 2.0)
    assert estimate.remaining(10.0, 8.0, 0.0) == pytest.approx(2.0) and estimate.remaining(10.0, None, 0.0) == 10.0
    # the last job to finish took 3x its estimate: the jobs ahead are expected to as well
    assert estimate.queue_wait([10.0], [(8.0, 0.0, 10.0)], slots=1, last_pace=3.0) == pytest.approx(2.0 + 30.0)


def test_a_finished_job_is_adopted_and_served_an_unfinished_one_is_not():
    from lab.server.jobs import JobRegistry

    config = TrainConfig(epochs=1, d_model=8, n_heads=2, n_layers=1)
    elsewhere = TrainingJob(config)
    with pytest.raises(ValueError, match="only a finished job"):
        JobRegistry().adopt(elsewhere)  # not started: it would report to its own registry
    elsewhere.start().join()
    registry = JobRegistry(keep=1)
    registry.adopt(elsewhere)
    assert registry.start(config, "a session") is elsewhere and registry.started == 0  # served, not trained again
    assert elsewhere.registry is registry and elsewhere.wait(0) == elsewhere.records
