"""The estimate shown next to Train against the time the training then takes, for every kind of
training (``transformer.protocol.Trainable``): on a fresh server and after ten trainings."""
from __future__ import annotations

import time

from benchmarks import warmed_up
from benchmarks.report import Report


def estimated() -> dict:
    """The settings whose estimates are checked: every kind of training, page 4's and page 6's defaults and two
    other settings each (from small to the largest), and the defaults of induction and of the language model."""
    from transformer.induction import InductionConfig
    from transformer.language import LanguageConfig
    from transformer.sequence import SeqConfig
    from transformer.train import TrainConfig

    return {
        "page 4, defaults": TrainConfig(),
        "page 4, CNN baseline": TrainConfig(model="cnn"),
        "page 4, d_model 64, 4 layers, 30 epochs, batch 32": TrainConfig(d_model=64, n_layers=4, epochs=30,
                                                                          batch_size=32),
        "page 6, defaults": SeqConfig(),
        "page 6, length 3, d_model 16, 1 layer, 100 steps": SeqConfig(length=3, d_model=16, n_layers=1, steps=100),
        "page 6, length 10, d_model 128, 500 steps": SeqConfig(length=10, d_model=128, steps=500),
        "page 6, induction, defaults": InductionConfig(),
        "page 6, the animal language, defaults": LanguageConfig(),
    }


def bench_estimates(report: Report) -> None:
    """The estimate shown next to Train against the time the training then takes on an idle core, for each setting
    ``estimated()`` gives: on a fresh server (no training finished yet) and after ten trainings, run two at a time as a
    busy class runs them (each finished one corrects later estimates)."""
    add, check = report.add, report.check
    import torch

    from lab.server import estimate
    from lab.server.jobs import TrainingJob
    from transformer.sequence import SeqConfig
    from transformer.train import TrainConfig

    torch.set_num_threads(1)
    warmed_up()  # a fresh server has run its warm-up before the first student trains
    estimate._factors.clear()
    configs = estimated()
    fresh = {name: estimate.estimate_seconds(c) for name, c in configs.items()}
    measured = {}
    for name, config in configs.items():
        job = TrainingJob(config)
        t0 = time.perf_counter()
        job.start().join()
        measured[name] = time.perf_counter() - t0
    estimate._factors.clear()  # those were measurements; the server's own history starts now
    for seed in range(1, 6):  # ten trainings, two at a time: a page-6 and a page-4 default each round
        pair = [TrainingJob(SeqConfig(seed=seed)), TrainingJob(TrainConfig(seed=seed))]
        for job in pair:
            job.start()
        for job in pair:
            job.join()
    after = {name: estimate.estimate_seconds(c) for name, c in configs.items()}
    for name in configs:
        for when, est in (("fresh server", fresh[name]), ("after ten runs", after[name])):
            ratio = est / measured[name]
            add("estimates", f"{name}: estimate / measured, {when}", f"{ratio:.2f}×",
                f"{est:.1f} s est., {measured[name]:.1f} s measured",
                check("estimate_vs_measured", max(ratio, 1 / ratio)))
