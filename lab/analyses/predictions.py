"""What a lesson's questions are checked against: each answer is a function of a page's settings and of the results
this session has on screen, never a value written in a lesson. No streamlit here, so every answer is unit-tested.

A lesson's question names one entry of ``ANSWERS``. Its ``compute(settings, found)`` returns a ``Reveal``: the right
answer, worked out now from the package (the same functions, sizes and seeds the page uses), and a sentence built
from those numbers. ``settings`` are the page's settings as its link holds them; ``found`` holds what the session's
trainings produced (``"train"``, ``"study"``, ``"language"``, ``"sequence"``: each the page's (request, snapshot,
models)). A question about a training not yet run reveals nothing but what to press.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

SHAPE, CHOICE, NUMBER = "shape", "choice", "number"


@dataclass(frozen=True)
class Reveal:
    right: object  # a tuple (shape), one of the options (choice) or a number; None: not computed yet
    said: str  # what the numbers show, in words built from them
    waiting: str = ""  # when ``right`` is None: what the student does for the page to compute it
    slips: dict = field(default_factory=dict)  # a known wrong answer -> its name and why it is wrong
    tolerance: float = 0.0  # a number within this of ``right`` is right


@dataclass(frozen=True)
class Answer:
    kind: str  # SHAPE, CHOICE or NUMBER
    page: str  # the page whose settings it reads (a link's name: "shapes", "self_attention", ...)
    compute: Callable[[dict, dict], Reveal]
    options: Callable[[dict], list[str]] | None = None  # a choice question's options, from the settings


def fmt(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


# ------------------------------------------------------------------ page 1: shapes
def _shape_settings(s: dict) -> tuple[int, int, int, str]:
    d_model, n = int(s["d_model"]), int(s["n_tokens"])
    d_k = d_model if s["tie_dk"] else int(s["d_k"])
    return d_model, n, d_k, "columns" if str(s["layout"]).startswith("columns") else "rows"


def _shape_of(name: str) -> Callable[[dict, dict], Reveal]:
    def compute(s: dict, found: dict) -> Reveal:
        from transformer.shapes import common_slip_shape, self_attention_shapes

        d_model, n, d_k, layout = _shape_settings(s)
        shapes = self_attention_shapes(d_model, n, d_k, layout)
        shape = tuple(shapes[name])
        slips = {}
        if name in ("scores", "weights") and layout == "columns":
            slip = tuple(common_slip_shape(d_model, n, d_k))
            if slip != shape:
                slips[slip] = (f"{fmt(slip)} is QKᵀ in the columns layout: it sums over the {n} tokens and compares "
                               f"feature with feature ({d_k} × {d_k}). Attention compares token with token: KᵀQ.")
        return Reveal(shape, f"{shapes[name].formula} = {fmt(shape)} ({shapes[name].meaning}), with X "
                             f"{fmt(shapes['X'])} in the {layout} layout and d_k = {d_k}.", slips=slips)

    return compute


GROWTH = ["×2", "×4", "×8"]


def _score_growth(s: dict, found: dict) -> Reveal:
    from transformer.shapes import attention_cost

    d_model, n, d_k, _ = _shape_settings(s)
    a, b = attention_cost(d_model, n, d_k), attention_cost(d_model, 2 * n, d_k)
    ratio = b.quadratic_macs / a.quadratic_macs
    return Reveal(_nearest(GROWTH, ratio), f"The scores and the weighted sum take {a.quadratic_macs:,} multiply-adds "
                  f"at {n} tokens and {b.quadratic_macs:,} at {2 * n}: ×{ratio:g}, as tokens × tokens grows with the "
                  f"square (the projections grow ×{b.linear_macs / a.linear_macs:g}).")


BIGGER = ["the projections (W^Q, W^K, W^V)", "the scores and the weighted sum (KᵀQ, VA)"]


def _bigger_cost(s: dict, found: dict) -> Reveal:
    from transformer.shapes import attention_cost

    d_model, n, d_k, _ = _shape_settings(s)
    c = attention_cost(d_model, n, d_k)
    right = BIGGER[0] if c.linear_macs >= c.quadratic_macs else BIGGER[1]
    return Reveal(right, f"At d_model {d_model}, d_k {d_k} and {n} tokens the projections take {c.linear_macs:,} "
                  f"multiply-adds (3 × d_model × d_k × tokens) and the scores with the weighted sum "
                  f"{c.quadratic_macs:,} (2 × tokens² × d_k).")


def _nearest(options: list[str], ratio: float) -> str:
    return min(options, key=lambda o: abs(float(o[1:]) - ratio))


# ------------------------------------------------------------------ page 2: the five steps (random mode)
def _steps(s: dict, scale: bool | None = None, causal: bool | None = None):
    from transformer.attention import self_attention_steps
    from transformer.text import embed, projections, sinusoidal_positions, tokenize

    tokens = tokenize(s["sentence"], 12).tokens
    if not tokens:
        return tokens, None
    d_model, d_k, seed = int(s["d_model"]), int(s["d_k"]), int(s["seed"])
    x = embed(tokens, d_model, seed) + (sinusoidal_positions(len(tokens), d_model) if s["positions"] else 0)
    return tokens, self_attention_steps(x, *projections(d_model, d_k, seed),
                                        causal=s["causal"] if causal is None else causal,
                                        scale=s["scale"] if scale is None else scale)


def _no_words() -> Reveal:
    return Reveal(None, "", waiting="Type a sentence with at least one word on the page.")


def _token_count(s: dict, found: dict) -> Reveal:
    tokens, _ = _steps(s)
    return Reveal(len(tokens), f"The sentence splits into {len(tokens)} tokens: " + ", ".join(
        f"'{t}'" for t in tokens) + " (words and punctuation marks; at most 12 are used).")


def _step_shape(name: str) -> Callable[[dict, dict], Reveal]:
    def compute(s: dict, found: dict) -> Reveal:
        tokens, steps = _steps(s)
        if steps is None:
            return _no_words()
        shape = tuple(getattr(steps, name).shape)
        t, d_k = len(tokens), int(s["d_k"])
        slips = {(d_k, d_k): f"{fmt((d_k, d_k))} would compare feature with feature; here rows are tokens, so QKᵀ "
                             f"is tokens × tokens."} if name in ("scores", "weights") and d_k != t else {}
        return Reveal(shape, f"{name} is {fmt(shape)} for {t} tokens with d_k = {d_k} (rows layout: a row per "
                             f"token{', a column per key' if name in ('scores', 'weights') else ''}).", slips=slips)

    return compute


SUMS = ["each row (a query's weights over the keys)", "each column (a key's weights over the queries)"]


def _sums_to_one(s: dict, found: dict) -> Reveal:
    tokens, steps = _steps(s)
    if steps is None:
        return _no_words()
    rows, cols = steps.weights.sum(1), steps.weights.sum(0)
    right = SUMS[0] if bool((rows - 1).abs().max() < 1e-5) else SUMS[1]
    return Reveal(right, "Row sums of the weights: " + ", ".join(f"{v:.3f}" for v in rows.tolist()) + "; column "
                  "sums: " + ", ".join(f"{v:.2f}" for v in cols.tolist()) + ". The softmax runs over the keys, so "
                  "each query's row is a distribution.")


SHARPER = ["sharper (more weight on one key)", "flatter (weight spread more evenly)", "no change"]


def entropy_bits(weights) -> float:
    """Mean over the queries of the row's entropy, in bits (0: all weight on one key)."""
    import torch

    p = weights.clamp_min(1e-12)
    return float(-(weights * torch.log2(p)).sum(-1).mean())


def _without_scaling(s: dict, found: dict) -> Reveal:
    _, scaled = _steps(s, scale=True)
    if scaled is None:
        return _no_words()
    _, raw = _steps(s, scale=False)
    a, b = entropy_bits(scaled.weights), entropy_bits(raw.weights)
    right = SHARPER[2] if abs(a - b) < 0.01 else SHARPER[0] if b < a else SHARPER[1]
    d_k = int(s["d_k"])
    return Reveal(right, f"Mean row entropy with ÷√d_k: {a:.2f} bits; without: {b:.2f} bits (d_k = {d_k}, so the "
                  f"scores are {math.sqrt(d_k):.1f}× larger without it, and a softmax of larger numbers is peakier).")


def _masked_zeros(s: dict, found: dict) -> Reveal:
    tokens, steps = _steps(s, causal=True)
    if steps is None:
        return _no_words()
    zeros, t = int((steps.weights == 0).sum()), len(tokens)
    return Reveal(zeros, f"With the causal mask {zeros} of the {t * t} weights are exactly 0: every key after its "
                  f"query, above the diagonal, t(t − 1)/2 = {t}·{t - 1}/2.")


# ------------------------------------------------------------------ page 3: multi-head attention
def _multi_head(s: dict):
    import torch

    from transformer.multihead import multi_head_attention

    b, t, e, h = int(s["batch"]), int(s["tokens"]), int(s["embdim"]), int(s["heads"])
    w = torch.empty(e, e, device="meta")
    return multi_head_attention(torch.empty(b, t, e, device="meta"), w, w, w, h), b, t, e, h


def _mh_shape(name: str) -> Callable[[dict, dict], Reveal]:
    def compute(s: dict, found: dict) -> Reveal:
        try:
            steps, b, t, e, h = _multi_head(s)
        except ValueError as err:
            return Reveal(None, "", waiting=f"Pick heads that divide the embedding size ({err})")
        shape = tuple(getattr(steps, name).shape) if name != "tokens" else (b, t, e)
        slips = {(b, h, t, e // h): "That is batch × heads × tokens × head_dim, the layout inside many libraries; "
                                    "the coursework's view keeps tokens before heads."} if name.endswith("_mh") else {}
        return Reveal(shape, f"{name} is {fmt(shape)}: batch {b}, {t} tokens, E = {e} split into {h} heads of "
                             f"head_dim {e // h}.", slips=slips)

    return compute


SAME = ["more", "fewer", "the same"]


def _params_with_heads(s: dict, found: dict) -> Reveal:
    from transformer.multihead import check_heads

    e, h = int(s["embdim"]), int(s["heads"])
    try:
        check_heads(e, h)
    except ValueError as err:
        return Reveal(None, "", waiting=str(err))
    # W_Q is E x E whatever the split: heads only reshape its output, so the count is E² either way
    one, many = e * e, h * e * (e // h)
    right = SAME[2] if one == many else SAME[0] if many > one else SAME[1]
    return Reveal(right, f"W_Q holds E × E = {one:,} numbers with 1 head and {h} × {e} × {e // h} = {many:,} with "
                  f"{h} heads: splitting cuts its output into heads, it adds no weights.")


# ------------------------------------------------------------------ page 4: the classifier's runs
def _train_runs(found: dict):
    kept = found.get("train")
    return None if kept is None else kept[1].runs


def _waiting_for(what: str) -> Reveal:
    return Reveal(None, "", waiting=what)


RUNS = ["the shortest run", "the middle run", "the longest run"]


def _best_run(s: dict, found: dict) -> Reveal:
    runs = _train_runs(found)
    if not runs:
        return _waiting_for("Press **Train** on the page; the answer is read from the runs it shows.")
    finals = sorted((n, r[n - 1]["val_acc"]) for n, r in runs.items())
    best = max(range(len(finals)), key=lambda i: finals[i][1])
    right = RUNS[0] if best == 0 else RUNS[-1] if best == len(finals) - 1 else RUNS[1]
    return Reveal(right, "Final validation accuracy: " + ", ".join(f"{n} epochs {a:.1%}" for n, a in finals) + ".")


YES_NO = ["yes", "no"]


def _overfits(s: dict, found: dict) -> Reveal:
    runs = _train_runs(found)
    if not runs:
        return _waiting_for("Press **Train** on the page; the answer is read from the runs it shows.")
    n = max(runs)
    losses = [r["val_loss"] for r in runs[n][:n]]
    low = min(range(len(losses)), key=losses.__getitem__)
    rise = losses[-1] - losses[low]
    right = YES_NO[0] if rise > 0.05 * losses[low] else YES_NO[1]
    return Reveal(right, f"The {n}-epoch run's validation loss was lowest at epoch {low + 1} ({losses[low]:.3f}) and "
                  f"ends at {losses[-1]:.3f} ({'+' if rise >= 0 else ''}{rise:.3f}); a rise of more than 5% counts "
                  "as overfitting here.")


# ------------------------------------------------------------------ page 5: receptive field and the study
def _conv_layers(s: dict, found: dict) -> Reveal:
    from transformer.receptive import receptive_fields

    n, k = int(s["n_tokens"]), int(s["kernel"])
    depth = -(-(n - 1) // (k - 1)) + 1  # one layer past 1 + (k - 1) per layer, so the measurement can disagree
    measured = receptive_fields("conv", n, depth, k)  # tokens reached from the middle output, by gradients
    needed = next(d for d, c in enumerate(measured, 1) if c >= n) if measured[-1] >= n else None
    if needed is None:
        return Reveal(None, "", waiting=f"{depth} layers reach only {measured[-1]} of {n} tokens.")
    layers = f"{needed} convolution layer{'s' * (needed > 1)}"
    return Reveal(needed, f"Measured by gradients from the middle token: {layers} of kernel {k} "
                  f"reach {measured[needed - 1]} of {n} tokens" + (f", {needed - 1} reach {measured[needed - 2]}"
                  if needed > 1 else "") + f" (1 + {k - 1} per layer). One attention layer reaches all {n}.")


WHO = ["the transformer", "the CNN", "neither: within the seeds' spread"]


def _small_data(s: dict, found: dict) -> Reveal:
    kept = found.get("study")
    if kept is None or not len(kept[1].results):
        return _waiting_for("Press **Run the study** on the page; the answer is read from what it measures.")
    from lab.analyses.study import summary

    table = summary(kept[1].results)
    share = table["share"].min()
    rows = table[table.share == share].set_index("model")
    if len(rows) < 2:
        return _waiting_for("The study is still running: the answer comes when both models have finished.")
    t, c = rows.loc["transformer"], rows.loc["CNN"]
    overlap = t["low"] <= c["high"] and c["low"] <= t["high"]
    right = WHO[2] if overlap else WHO[0] if t["mean"] > c["mean"] else WHO[1]
    return Reveal(right, f"With {share:.0%} of the training images: transformer {t['mean']:.1%} ({t['low']:.1%}–"
                  f"{t['high']:.1%}), CNN {c['mean']:.1%} ({c['low']:.1%}–{c['high']:.1%}) over the seeds"
                  + (": the ranges overlap." if overlap else "."))


# ------------------------------------------------------------------ inside the trained models
def _language(found: dict):
    kept = found.get("language")
    return None if kept is None else (kept[2][kept[0].config], kept[1].records[-1])


def _pronoun_words(s: dict) -> list[str]:
    from lab.analyses.learned_heads import pronoun_position
    from transformer.language import encode

    try:
        words = s["sentence"].lower().replace(".", " . ").split()
        encode(s["sentence"])
    except ValueError:
        return []
    p = pronoun_position(words)
    # every token the pronoun may attend to (itself and the full stop too), so the head's choice is always an option
    return [] if p is None else list(dict.fromkeys(words[:p + 1]))


def _pronoun_target(s: dict, found: dict) -> Reveal:
    got = _language(found)
    words = _pronoun_words(s)
    if not words:
        return _waiting_for("Use a sentence of the animal language with 'it' or 'they' in it.")
    if got is None:
        return _waiting_for("Switch the page to **learned** mode: the model trains once (about ten seconds).")
    from lab.analyses import learned_heads
    from transformer.attention import self_attention_steps
    from transformer.language import encode

    model, record = got
    idx = encode(s["sentence"])
    sentence = s["sentence"].lower().replace(".", " . ").split()
    p = learned_heads.pronoun_position(sentence)
    layer, head, _ = learned_heads.best_head(record.shares)
    x = learned_heads.layer_vectors(model, idx, layer)
    row = self_attention_steps(x, *learned_heads.head_weights(model, layer, head), causal=True).weights[p]
    order = row.argsort(descending=True).tolist()
    top = order[0]
    return Reveal(sentence[top], f"Layer {layer}, head {head} (the head that resolves pronouns best) puts "
                  f"{float(row[top]):.0%} of '{sentence[p]}'s attention on '{sentence[top]}'"
                  + (f", then {float(row[order[1]]):.0%} on '{sentence[order[1]]}'" if len(order) > 1 else "") + ".")


KEEPS = ["yes, about as often (within 5 points)", "less often", "no better than guessing"]


def _knockout(s: dict, found: dict) -> Reveal:
    got = _language(found)
    if got is None:
        return _waiting_for("Open page 3's learned heads (or page 2 in learned mode): the model trains once.")
    from lab.analyses import learned_heads

    model, record = got
    layer, head, _ = learned_heads.best_head(record.shares)
    result = learned_heads.knockout(model, [(layer, head)])
    before, after = result["pronoun"], result["pronoun without"]
    chance = 0.5  # two sounds fit a pronoun's place: the referent's and the other animal's
    right = KEEPS[0] if before - after < 0.05 else KEEPS[2] if after < chance + 0.1 else KEEPS[1]
    return Reveal(right, f"Pronoun accuracy on the held-out sentences: {before:.1%} intact, {after:.1%} without "
                  f"layer {layer}, head {head} (guessing between the two animals' sounds: {chance:.0%}).")


SPEED = ["gradually, over most of training", "suddenly, in a short stretch of training"]


def _circuit(s: dict, found: dict) -> Reveal:
    kept = found.get("sequence")
    if kept is None or kept[0].config.kind != "induction":
        return _waiting_for("Train the induction task on the page (task: induction, then **Train**).")
    from lab.analyses.sequence_runs import phase_change

    records = kept[1].main
    said, window = phase_change(records)
    if window is None:
        return Reveal(None, said, waiting="Train for more steps: the circuit has not formed yet.")
    width, total = window[1] - window[0], records[-1].step
    right = SPEED[1] if width <= 0.25 * total else SPEED[0]
    return Reveal(right, f"{said} That is {width} of {total} steps ({width / total:.0%}); a quarter or less "
                  "counts as sudden.")


MORE = ["more", "fewer", "about the same (within 5 points)"]


def _temperature(s: dict, found: dict) -> Reveal:
    got = _language(found)
    if got is None:
        return _waiting_for("Press **Generate** on the page: the language model trains once, then writes.")
    from lab.analyses.writing import temperature_study

    rows = {r.temperature: r for r in temperature_study(got[0])}
    hot, cool = rows[1.5].grammatical, rows[0.5].grammatical
    right = MORE[2] if abs(hot - cool) < 0.05 else MORE[0] if hot > cool else MORE[1]
    return Reveal(right, f"Of {rows[1.5].sentences} sentences written from 'the': {hot:.0%} grammatical at "
                  f"temperature 1.5, {cool:.0%} at 0.5. Dividing the logits by a larger temperature flattens the "
                  "choice, so unlikely (often wrong) words are drawn more often.")


def _static(options: list[str]) -> Callable[[dict], list[str]]:
    return lambda s: list(options)


ANSWERS: dict[str, Answer] = {
    **{f"shapes.{n}": Answer(SHAPE, "shapes", _shape_of(n)) for n in ("Q", "K", "V", "scores", "weights", "output")},
    "shapes.score_growth": Answer(CHOICE, "shapes", _score_growth, _static(GROWTH)),
    "shapes.bigger_cost": Answer(CHOICE, "shapes", _bigger_cost, _static(BIGGER)),
    "steps.tokens": Answer(NUMBER, "self_attention", _token_count),
    **{f"steps.{n}": Answer(SHAPE, "self_attention", _step_shape(n)) for n in ("q", "scores", "weights", "output")},
    "steps.sums": Answer(CHOICE, "self_attention", _sums_to_one, _static(SUMS)),
    "steps.without_scaling": Answer(CHOICE, "self_attention", _without_scaling, _static(SHARPER)),
    "steps.masked_zeros": Answer(NUMBER, "self_attention", _masked_zeros),
    **{f"multi_head.{n}": Answer(SHAPE, "multi_head", _mh_shape(n))
       for n in ("tokens", "qis_mh", "kis_mh", "vis_mh", "attmat_mh", "zis_mh", "zis")},
    "multi_head.params": Answer(CHOICE, "multi_head", _params_with_heads, _static(SAME)),
    "training.best_run": Answer(CHOICE, "training", _best_run, _static(RUNS)),
    "training.overfits": Answer(CHOICE, "training", _overfits, _static(YES_NO)),
    "why.conv_layers": Answer(NUMBER, "why_attention", _conv_layers),
    "why.small_data": Answer(CHOICE, "why_attention", _small_data, _static(WHO)),
    "learned.pronoun": Answer(CHOICE, "self_attention", _pronoun_target, _pronoun_words),
    "learned.knockout": Answer(CHOICE, "multi_head", _knockout, _static(KEEPS)),
    "learned.circuit": Answer(CHOICE, "attention_learns", _circuit, _static(SPEED)),
    "generate.temperature": Answer(CHOICE, "generate", _temperature, _static(MORE)),
}
