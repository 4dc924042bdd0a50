"""Background training jobs: one training per configuration, shared, kept after it ends."""
import threading

from lab.jobs import TrainingJob
from lab.runs import plan
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
    from lab.jobs import JobRegistry

    registry = JobRegistry(keep=1)
    first = registry.start(TINY.replace(seed=11))
    assert registry.start(TINY.replace(seed=11)) is first and registry.started == 1
    second = registry.start(TINY.replace(seed=12))  # over the bound while the first may still train
    assert registry.get(TINY.replace(seed=11)) is first or first.done  # only a finished job can be dropped
    first.join(120)
    second.join(120)
    registry.start(TINY.replace(seed=13)).join(120)
    assert len(registry) == 1 and registry.get(TINY.replace(seed=13)) is not None


def test_follow_reports_progress_per_requested_run():
    from lab.jobs import JobRegistry
    from lab.runs import TrainingRequest, check_difference, follow

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
    from lab.runs import TrainingRequest

    a = TrainingRequest.from_settings((10, 30, 50))
    b = TrainingRequest.from_settings((10, 50, 100), train_fraction=0.05)
    assert a.differences(b) == ["epochs per run: [10, 30, 50] → [10, 50, 100]", "train_fraction: 1.0 → 0.05"]


def test_the_too_high_learning_rate_preset_does_what_it_says():
    """Measured, not promised: after 10 epochs the preset's rate is far below the default on validation."""
    from lab.runs import PRESETS
    from transformer.train import TrainConfig, train_classifier

    lr = PRESETS["Learning rate too high"][0]["lr"]
    default = list(train_classifier(TrainConfig(epochs=10)))[-1].val_acc
    high = list(train_classifier(TrainConfig(epochs=10, lr=lr)))[-1].val_acc
    assert high < default - 0.1, (high, default)
