"""The decoders learning live, each against its budget: the digit tasks against a plain GPT written in
benchmarks/reference.py, the animal language and the induction task with their heads' measured roles; and
generation with the KV cache against without it."""
from __future__ import annotations

import time

from benchmarks import warmed_up
from benchmarks.report import Report


def bench_language(report: Report) -> None:
    """The language model at its defaults on one torch thread: time until both held-out accuracies reach 99%
    (evaluations included, by the trainer's own clock), the best referent head's share, and what knocking it out
    costs the pronouns."""
    add, check = report.add, report.check
    import torch

    from lab.analyses.learned_heads import best_head, knockout
    from transformer.language import LanguageConfig, build_language_model, train_language_model

    torch.set_num_threads(1)
    warmed_up()
    config = LanguageConfig()
    model = build_language_model(config)
    records = list(train_language_model(config, model))
    hit = next((r for r in records if r.pronoun_acc >= 0.99 and r.agreement_acc >= 0.99), None)
    seconds = hit.seconds if hit else float("inf")
    add("language", "defaults: time to 99% on both pronouns and agreement (held-out, evaluations included)",
        f"{seconds:.2f} s ({hit.step if hit else '-'} steps)", f"whole run {records[-1].seconds:.2f} s",
        check("language_seconds_to_99", seconds))
    layer, head, share = best_head(records[-1].shares)
    result = knockout(model, [(layer, head)])
    drop = 100 * (result["pronoun"] - result["pronoun without"])
    add("language", f"best referent head (layer {layer}, head {head}) knocked out: pronoun accuracy lost",
        f"{drop:.1f} points", f"its referent share {share:.0%}; {result['pronoun']:.1%} → "
        f"{result['pronoun without']:.1%}",
        check("language_referent_knockout", drop))


def bench_induction(report: Report) -> None:
    """InductionConfig at its defaults on one torch thread: time until accuracy on the repeated tokens
    reaches 90% (evaluations included), the best layer-1 head's prefix-matching score, and what removing the
    induction heads (layer-1 heads scoring 0.5 or more, together) and the best previous-token head costs."""
    add, check = report.add, report.check
    import torch

    from transformer import induction
    from transformer.ablation import without_heads

    torch.set_num_threads(1)
    warmed_up()
    config = induction.InductionConfig()
    model = config.build()
    records = list(config.train(model))
    hit = next((r for r in records if r.token_acc >= 0.9), None)
    seconds = hit.seconds if hit else float("inf")
    add("induction", "defaults: time to 90% on the repeated tokens (held-out, evaluations included)",
        f"{seconds:.2f} s ({hit.step if hit else '-'} steps)",
        f"final {records[-1].token_acc:.1%} at step {records[-1].step}, {records[-1].seconds:.1f} s",
        check("induction_seconds_to_90", seconds))
    share = records[-1].share
    best = float(share[1].max())
    add("induction", "best layer-1 head's prefix-matching score (held-out)", f"{best:.2f}",
        "per head: " + ", ".join(f"{v:.2f}" for v in share.flatten().tolist()),
        check("induction_prefix_score", best))
    evaluation = induction.held_out(config.seed)
    _, maps = model.attention_maps(evaluation.tokens[:100, :-1])
    previous = induction.previous_token(maps)
    heads = [(1, h) for h in range(config.n_heads) if float(share[1, h]) >= 0.5]
    prev_head = divmod(int(previous.argmax()), config.n_heads)

    def accuracy(m) -> float:
        return induction.evaluate(m, evaluation)[1]

    intact = accuracy(model)
    for removed, what in ((heads, "the induction heads together"), ([prev_head], "the previous-token head")):
        left = without_heads(model, removed, accuracy)
        names = ", ".join(f"layer {layer}, head {h}" for layer, h in removed)
        add("induction", f"accuracy on the repeat without {what} ({names})", f"{100 * (intact - left):.1f} points",
            f"{intact:.1%} → {left:.1%}",
            check("induction_knockout", 100 * (intact - left))
            if removed is heads else "")


def bench_sequence(report: Report) -> None:
    """Time until the page would report 99% exact-match on the held-out prompts, at the SeqConfig defaults, for
    reverse and sort: the package's decoder against a plain GPT written in benchmarks/reference.py. Both on one
    torch thread, as the app trains."""
    add, check = report.add, report.check
    import torch

    from benchmarks.reference import naive_time_to
    from transformer.sequence import SeqConfig, train_sequence_model

    torch.set_num_threads(1)
    warmed_up()
    for task in ("reverse", "sort"):
        config = SeqConfig(task=task)
        reached = next(((r.seconds, r.step) for r in train_sequence_model(config) if r.exact_match >= 0.99), None)
        ours, steps = reached if reached else (float("inf"), config.steps)
        naive, naive_steps = naive_time_to(task, config.length)
        add("sequence", f"{task}, length {config.length}: time to 99% exact-match (defaults, evaluations included)",
            f"{ours:.2f} s ({steps} steps)", "", check("sequence_seconds_to_99", ours))
        add("sequence", f"{task}: time to 99% vs a plain GPT (explicit attention, Adam 1e-3, generated answers)",
            f"{ours / naive:.2f}×", f"naive {naive:.2f} s ({naive_steps} steps)",
            check("sequence_vs_naive_gpt", ours / naive))


def bench_generate(report: Report, new: int = 512) -> None:
    """``new`` tokens from a decoder of d_model 256, 4 layers, 4 heads (random weights, one torch thread), with the
    KV cache against without it (the whole sequence again every step), in the same run; the same tokens either
    way, and the multiply-adds each way computed from the model's sizes."""
    add, check = report.add, report.check
    import torch

    from transformer.decoder import Decoder, DecoderConfig
    from transformer.generate import generate, multiply_adds

    torch.set_num_threads(1)
    warmed_up()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = Decoder(DecoderConfig(d_model=256, n_heads=4, n_layers=4), vocab=64, context=new + 1).eval()
    prompt = torch.tensor([[1]])
    timed = {}
    for cache in (True, False):
        t0 = time.perf_counter()
        made = generate(model, prompt, new, temperature=1.0, seed=0, cache=cache)
        timed[cache] = (time.perf_counter() - t0, made.tokens)
    (cached, tokens), (plain, again) = timed[True], timed[False]
    if tokens != again:
        raise RuntimeError("generation with and without the cache wrote different tokens")
    work = [sum(multiply_adds(model, n, cache) for n in range(1, new + 1)) for cache in (True, False)]
    add("generate", f"{new} new tokens, d_model 256, 4 layers: with the KV cache vs without (the same tokens)",
        f"{cached / plain:.3f}×", f"cached {cached:.2f} s, uncached {plain:.2f} s",
        check("generate_cached_vs_uncached", cached / plain))
    add("generate", "multiply-adds of the whole generation, computed from the sizes: cached / uncached",
        f"{work[0] / 1e9:.2f} / {work[1] / 1e9:.2f} G", f"{work[0] / work[1]:.3f}×", "")
