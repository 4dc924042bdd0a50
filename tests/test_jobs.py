"""Background training jobs: one training per configuration, shared, kept after it ends."""
import threading

from lab.jobs import TrainingJob, plan
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
