"""Page 5's study through the app's job machinery, and its claims measured on the study's models."""
from __future__ import annotations

import re
import time

import pandas as pd

from benchmarks.report import Report


def bench_study(report: Report) -> None:
    """Page 5's study as a student starts it (3 seeds, both models, 5 shares) through the app's job machinery, one
    torch thread per job and one job per core; then the plain CNN of the issue on the same runs, for comparison."""
    add, check = report.add, report.check
    import torch

    from benchmarks.reference import PlainCNN
    from lab.analyses.study import StudyRequest, summary
    from lab.server.jobs import JobRegistry
    from lab.server.requests import follow
    from transformer.train import train_classifier

    torch.set_num_threads(1)
    request = StudyRequest()
    t0 = time.perf_counter()
    last = list(follow(request, JobRegistry(), "benchmark", pace=0.5))[-1]
    took = time.perf_counter() - t0
    add("study", f"data-efficiency study, {len(request.trainings())} trainings (page 5's defaults)", f"{took:.1f} s",
        "", check("study_seconds", took))
    plain = []
    for config in request.trainings():
        if config.model == "cnn":
            torch.manual_seed(config.seed)  # seeded like the package's models, so the comparison repeats
            record = list(train_classifier(config, PlainCNN()))[-1]
            plain.append({"model": "plain CNN", "share": config.train_fraction, "seed": config.seed,
                          "val_acc": record.val_acc, "cpu_seconds": record.cpu_seconds})
    table = summary(pd.concat([last.results, pd.DataFrame(plain)])).set_index(["share", "model"])
    worst = min(100 * (table.loc[(s, "CNN"), "mean"] - table.loc[(s, "plain CNN"), "mean"]) for s in request.shares)
    for share in request.shares:
        cells = [f"{m} {table.loc[(share, m), 'mean']:.1%} ({table.loc[(share, m), 'low']:.1%}–"
                 f"{table.loc[(share, m), 'high']:.1%})" for m in ("transformer", "CNN", "plain CNN")]
        add("study", f"{share:.0%} of the training images: mean (lowest–highest) of 3 seeds", " · ".join(cells[:2]),
            cells[2], "")
    add("study", "CNN baseline minus plain CNN, at its worst share", f"{worst:+.1f} points", "",
        check("cnn_minus_plain_cnn", worst))


def bench_robust(report: Report) -> None:
    """The study's six models on all the images (3 seeds x 2 models, 50 epochs) trained first, as page 5 finds them;
    then, on one torch thread, the time for every perturbation curve (3 kinds x 5 strengths x 3 seeds x 2 models),
    and the other measurements with their verdicts, as the page shows them."""
    add, check = report.add, report.check
    import torch

    from lab.analyses import claims
    from lab.analyses.study import StudyRequest
    from transformer.data import VAL_IMAGES
    from transformer.timing import layer_times
    from transformer.train import build_model, train_classifier

    def plain(text: str) -> str:
        return re.sub(r"\*\*", "", text)

    torch.set_num_threads(1)
    models = {}
    for config in StudyRequest().trainings():
        if config.train_fraction == 1.0:
            models[config] = build_model(config)
            list(train_classifier(config, models[config]))
    pairs = claims.trained_pairs(models)
    t0 = time.process_time()
    table = claims.perturbation_table(pairs)
    took = time.process_time() - t0
    add("robust", "every perturbation curve: 3 kinds x 5 strengths x 3 seeds x 2 models, CPU seconds (one thread)",
        f"{took:.2f} s", f"{len(table)} accuracies on {VAL_IMAGES} validation digits",
        check("claims_perturbation_seconds", took))
    lost = claims.losses(table)
    add("robust", "points lost on average over the perturbed strengths (transformer / CNN)", " · ".join(
        f"{r.kind} {r.transformer:.1f} / {r.CNN:.1f}" for r in lost.itertuples()), "", "")
    add("robust", "verdict on robustness", plain(claims.robustness_verdict(table)).split(".")[0], "", "")
    t0 = time.process_time()
    after, before, area = claims.attention_share(pairs["transformer"])
    shifts, sizes = claims.shift_table(pairs), claims.size_table(pairs)
    errors = {name: claims.runs_as_trained(ms[0], claims.CANVAS) for name, ms in pairs.items()}
    rest = time.process_time() - t0
    add("robust", "attention share on the occluded area: with the square / clean / area", f"{after:.0%} / {before:.0%}"
        f" / {area:.0%}", plain(claims.attention_verdict(after, before, area)).split(":")[0], "")
    shift = plain(claims.shift_verdict(shifts))
    add("robust", "verdict on shifts", shift.split(":")[0], shift.split("directions: ")[1], "")
    add("robust", "verdict on sizes (12x12 canvas)", plain(claims.size_verdict(sizes, errors)).split(".")[0],
        f"shifts, sizes and attention: {rest:.2f} CPU s", "")
    times = layer_times()
    add("robust", "one layer's time against tokens (fitted from 1,024 up)", plain(claims.cost_verdict(times)).split(
        ":")[1].split(";")[0].strip(), f"attention at 4,096 tokens {1000 * times.attention[-1]:.1f} ms, convolution "
        f"{1000 * times.convolution[-1]:.2f} ms", "")
