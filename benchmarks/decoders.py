"""The decoders learning live, each against its budget: the digit tasks against a plain GPT written in
benchmarks/reference.py, the animal language and the induction task with their heads' measured roles;
generation with the KV cache against without it; activation patching and the logit lens."""
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


def bench_patching(report: Report, pairs: int = 200) -> None:
    """On the language model trained at its defaults (one torch thread): head and residual patching of one pair and
    of ``pairs`` pairs (the two animals swapped), the logit lens of one sentence, each against one forward pass of
    the same prompts in the same run; whether the top patched head is the pronoun head (its referent share
    measured on the held-out sentences), and whether the final residual at the last position restores exactly 1."""
    add, check = report.add, report.check
    import statistics

    import torch

    from transformer.language import (
        LanguageConfig,
        build_language_model,
        encode,
        head_shares,
        held_out,
        pronoun_pairs,
        train_language_model,
    )
    from transformer.lens import logit_lens
    from transformer.patching import head_patch, residual_patch

    torch.set_num_threads(1)
    warmed_up()
    config = LanguageConfig()
    model = build_language_model(config)
    for _ in train_language_model(config, model):
        pass
    clean, corrupt, answer, wrong = (t[:pairs] for t in pronoun_pairs(held_out(config.seed), 8))

    def timed(f, n: int = 5) -> float:
        f()  # warm: the first call pays for allocations
        return statistics.median(_once(f) for _ in range(n))

    def both(n: int):
        return head_patch(model, clean[:n], corrupt[:n], answer[:n], wrong[:n]), residual_patch(
            model, clean[:n], corrupt[:n], answer[:n], wrong[:n])

    with torch.no_grad():
        forward = {n: timed(lambda n=n: model(clean[:n])) for n in (1, len(clean))}
    one = timed(lambda: both(1))
    add("patching", "head and residual patching of one pair (8 words), both grids",
        f"{one * 1000:.1f} ms", f"one forward pass {forward[1] * 1000:.2f} ms", check("patching_pair_seconds", one))
    many = timed(lambda: both(len(clean)), 3)
    add("patching", f"the same for {len(clean)} pairs at once", f"{many * 1000:.0f} ms",
        f"one forward pass of them {forward[len(clean)] * 1000:.1f} ms", "")
    sentence = encode("the cat chased the dogs . then it meowed")
    lens = timed(lambda: logit_lens(model, sentence), 20)
    add("patching", "logit lens of one sentence (9 words)", f"{lens * 1000:.2f} ms", "", check("lens_ms", lens * 1000))
    heads, resid = both(len(clean))
    share = head_shares(model, held_out(config.seed))["referent_share"]
    top, pronoun = divmod(int(heads.argmax()), heads.shape[1]), divmod(int(share.argmax()), share.shape[1])
    add("patching", f"top patched head on {len(clean)} pairs vs the pronoun head (highest referent share)",
        f"L{top[0]}H{top[1]}: {float(heads.max()):.2f}", f"pronoun head L{pronoun[0]}H{pronoun[1]} "
        f"({float(share.max()):.0%} on the referent)", "PASS" if top == pronoun else "FAIL")
    add("patching", "final residual patched at the last position", f"{float(resid[-1, -1]):.6f}", "exactly 1 expected",
        "PASS" if abs(float(resid[-1, -1]) - 1) < 1e-5 else "FAIL")


def _once(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0
