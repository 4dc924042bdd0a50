"""The classifier's training speed: the package against a naive ViT and the same model built from
nn.TransformerEncoderLayer, in the same run; two trainings at once, fused and per-parameter AdamW."""
from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time

from benchmarks.report import Report


def bench_training(report: Report, repeats: int = 3) -> None:
    add, check = report.add, report.check
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.reference import naive_vit, torch_layer_vit, train_reference
    from transformer.train import TrainConfig, build_model, train_classifier, training_data

    torch.set_num_threads(os.cpu_count() or 1)
    config = TrainConfig()

    def ours():
        t0 = time.perf_counter()
        records = list(train_classifier(config))
        return time.perf_counter() - t0, records[-1].val_acc

    def naive():
        torch.manual_seed(0)
        return train_reference(naive_vit(), epochs=50, batch=64, lr=3e-3, patch=2)

    def layer():
        torch.manual_seed(config.seed)
        return train_reference(torch_layer_vit(config.d_model, config.n_heads, config.n_layers, config.mlp_ratio,
                                               config.patch_size), epochs=config.epochs, batch=config.batch_size,
                               lr=config.lr, patch=config.patch_size, fused=True)

    runs: dict[str, list] = {"ours": [], "naive": [], "layer": []}
    for _ in range(repeats):  # in turn, so that drift in the machine's speed hits all three alike
        for name, fn in (("ours", ours), ("naive", naive), ("layer", layer)):
            runs[name].append(fn())
    results = {name: (min(t for t, _ in r), r[-1][1]) for name, r in runs.items()}
    t_ours, acc = results["ours"]
    t_naive, acc_naive = results["naive"]
    t_layer, acc_layer = results["layer"]
    add("training", "default 50-epoch run (package, fused attention)", f"{t_ours:.2f} s", "", "")
    add(
        "training",
        "validation accuracy after 50 epochs",
        f"{acc:.2%}",
        f"naive {acc_naive:.2%}",
        check("validation_accuracy", acc),
    )
    add(
        "training",
        "time vs naive ViT (2x2 patches, d64, 4 heads, batch 64)",
        f"{t_ours / t_naive:.2f}×",
        f"naive {t_naive:.2f} s",
        check("training_vs_naive_vit", t_ours / t_naive),
    )
    add(
        "training",
        "time vs same model from nn.TransformerEncoderLayer",
        f"{t_ours / t_layer:.2f}×",
        f"layer {t_layer:.2f} s (acc {acc_layer:.1%})",
        check("training_vs_torch_layer", t_ours / t_layer),
    )

    side_by_side(report)

    # work done: count the FLOPs of one optimiser step, times the steps of the run
    model = build_model(config)
    x, y, _, _ = training_data(config)
    with FlopCounterMode(display=False) as counter:
        loss = F.cross_entropy(model(x[: config.batch_size]), y[: config.batch_size])
        loss.backward()
    steps = -(-len(y) // config.batch_size) * config.epochs
    flops = counter.get_total_flops() * steps
    a = torch.randn(1024, 1024)
    a @ a
    t0 = time.perf_counter()
    for _ in range(20):
        a @ a
    peak = 20 * 2 * 1024**3 / (time.perf_counter() - t0)
    add(
        "training",
        "achieved matmul FLOP/s (FLOPs counted / time)",
        f"{flops / t_ours / 1e9:.2f} GFLOP/s",
        f"1024² matmul {peak / 1e9:.1f} GFLOP/s",
        f"{flops / t_ours / peak:.1%} of the machine's matmul rate",
    )


@contextlib.contextmanager
def per_parameter_adamw():
    """torch's default AdamW, a Python loop over the parameters, in place of the package's fused one."""
    import torch

    original = torch.optim.AdamW
    torch.optim.AdamW = lambda params, fused=None, **settings: original(params, **settings)
    try:
        yield
    finally:
        torch.optim.AdamW = original


def side_by_side(report: Report, rounds: int = 4, epochs: int = 30) -> None:
    """Two trainings at once in threads of one process, as the server's jobs run (one per core, one torch thread
    each), against one alone: the wall time for both over the time for one. Two cores make 1.0× the ideal; Python's
    lock, which the threads share, is what stands in the way. Alone and pair, fused and not, alternate, so drift in
    the machine's speed hits every figure alike."""
    add, check = report.add, report.check
    import torch

    from transformer.train import TrainConfig, train_classifier

    def train(seed: int) -> None:
        for _ in train_classifier(TrainConfig(epochs=epochs, seed=seed)):
            pass

    def timed(*seeds: int) -> float:
        threads = [threading.Thread(target=train, args=(s,)) for s in seeds]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    train(0)  # warm-up
    variants = {"fused AdamW (the package)": contextlib.nullcontext,
                "per-parameter AdamW (torch's default)": per_parameter_adamw}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for r in range(rounds):  # every round measures both variants, alone then as a pair
        for name, patch in variants.items():
            with patch():
                times[name].append((timed(r + 1), timed(10 + r, 20 + r)))
    pairs = {}
    for name, measured in times.items():
        alone, pairs[name] = (statistics.median(t) for t in zip(*measured, strict=True))
        add("training", f"two {epochs}-epoch trainings at once (threads, 1 torch thread each), {name}: wall time "
            "for both vs one alone", f"{pairs[name] / alone:.2f}×", f"alone {alone:.2f} s, median of {rounds}", "")
    fused, loop = pairs.values()
    verdict = check("fused_vs_loop_adamw", fused / loop)
    add("training", "two trainings at once: wall time with fused AdamW vs with torch's per-parameter AdamW",
        f"{fused / loop:.2f}×", f"{fused:.2f} s against {loop:.2f} s", verdict)
    torch.set_num_threads(threads_before)
