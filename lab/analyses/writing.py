"""The Generate page as plain Python: a trained decoder as something that writes (how its prompt is typed and its
tokens named), what each step of a generation drew and why, the cost of writing with and without a KV cache, and
the temperature study on the animal language with the sentences that read its numbers. No streamlit here.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

import torch

from lab.analyses.sequence_runs import LETTERS, example_tokens, parse_digits, parse_letters, token_name
from lab.server.requests import head_name
from transformer import generate as gen
from transformer import induction, language
from transformer.decoder import check_ids
from transformer.sequence import SEP

TEMPERATURES = (0.0, 0.5, 1.0, 1.5)  # the study's temperatures
SENTENCES = 200  # sentences sampled at each
TOP = 10  # next-token bars drawn per step


@dataclass(frozen=True)
class Writer:
    """A decoder's training settings, how a student types its prompt and reads its tokens, and the trained model
    (None until it is needed: the language model trains the first time anyone on the server asks it to write)."""

    config: object  # the training's config (a DecoderConfig)
    context: int  # tokens the model reads at once
    kind: str  # "language", "reverse", "sort", "copy" or "induction"
    names: list[str]  # each token id's name
    default_prompt: str
    hint: str  # what a prompt is, for the text box's label
    model: object = None  # the trained transformer.decoder.Decoder

    def parse(self, typed: str) -> torch.Tensor:
        """The prompt as (1, T) ids, or ValueError saying what to type instead."""
        if self.kind == "language":
            ids = language.encode(typed)
        elif self.kind == "induction":
            tokens = parse_letters(typed)
            if not tokens:
                raise ValueError(f"type letters from a to x, for example {self.default_prompt}; got {typed[:40]!r}.")
            ids = torch.tensor([tokens])
        else:
            digits, length = parse_digits(typed), self.config.length
            if digits is None or len(digits) != length:
                raise ValueError(f"type exactly {length} digits (0-9), for example {self.default_prompt}; the model "
                                 f"was trained on prompts of {length} and writes its answer after them; got "
                                 f"{typed[:40]!r}.")
            ids = torch.tensor([digits + [SEP]])  # the separator says: now write the answer
        check_ids(ids, len(self.names), self.context)
        return ids

    def show(self, ids) -> list[str]:
        return [self.names[int(i)] for i in ids]


def language_writer(model=None, config=None) -> Writer:
    """The language model as a writer: trained (``model``) or not yet (its ``config``, the defaults if None)."""
    config = model.config if model is not None else config or language.LanguageConfig()
    return Writer(config, language.MAX_WORDS, "language", list(language.VOCAB), "the cat chased the dogs . then",
                  "the start of a sentence in the animal language", model)


def writer(model) -> Writer:
    """What the page needs to let ``model`` (any trained decoder of the package) write."""
    config = model.config
    if config.kind == "language":
        return language_writer(model)
    if config.kind == "induction":
        example = induction.held_out(config.seed)
        # a held-out sequence whose repeat starts early and runs long, cut two tokens into the repeat: the model
        # should copy the rest of the run
        row = int(((example.second <= 14) & (example.run >= 9)).int().argmax())
        cut = int(example.second[row]) + 2
        start = "".join(LETTERS[int(t)] for t in example.tokens[row, :cut])
        return Writer(config, model.context, "induction", list(LETTERS), start,
                      "letters a–x (repeat a run to see it copied)", model)
    start = "".join(str(d) for d in example_tokens(config)[:config.length])  # page 6's held-out example
    return Writer(config, model.context, config.task, [token_name(t) for t in range(config.vocab)], start,
                  f"{config.length} digits (the model writes the answer after →)", model)


# ------------------------------------------------------------------ one generation, step by step
SHORT = {"the token drawn": "drawn", "removed: temperature 0 keeps only the likeliest": "removed: T = 0",
         "removed by top-k": "removed: top-k", "removed by top-p": "removed: top-p"}


def why_removed(rank: int, top_k: int | None, temperature: float) -> str:
    if temperature == 0:
        return "removed: temperature 0 keeps only the likeliest"
    if top_k is not None and rank >= top_k:
        return f"removed by top-k (only the {top_k} likeliest stay)"
    return "removed by top-p (the likelier tokens already reach p)"


def step_rows(w: Writer, made: gen.Generation, temperature: float, top_k: int | None, top_p: float | None) -> dict:
    """Everything the step explorer draws, as rows: the text (``tokens``: each token, the step that wrote it and
    its probability), each step's ``bars`` (the ``TOP`` likeliest next tokens after the temperature, each drawn,
    kept or removed with the reason), the new token's ``attention`` per head over the tokens before it, and the
    ``cache`` (keys and values per layer and position: already cached, added this step, or not yet)."""
    names = w.show(made.tokens)
    labels = [f"{i}: {n}" for i, n in enumerate(names)]
    tokens = [{"position": i, "label": labels[i], "word": n, "step": -1, "p": None, "rank": None}
              for i, n in enumerate(names[:made.prompt_len])]
    bars, attention, cache = [], [], []
    layers, heads = made.steps[0].attention.shape[:2] if made.steps else (0, 0)
    for s, st in enumerate(made.steps):
        read = made.prompt_len + s  # tokens read before this step's token was drawn
        tempered = torch.softmax(st.logits / (temperature or 1.0), -1)
        order = tempered.argsort(descending=True)
        rank = int((order == st.token).nonzero()[0, 0])
        tokens.append({"position": read, "label": labels[read], "word": names[read], "step": s,
                       "p": round(float(st.probs[st.token]), 4), "rank": rank + 1})
        for r, t in enumerate(order[:TOP].tolist()):
            kept = float(st.probs[t]) > 0
            status = "drawn" if t == st.token else "kept" if kept else "removed"
            why = {"drawn": "the token drawn", "kept": "could have been drawn"}.get(status) or why_removed(
                r, top_k, temperature)
            bars.append({"step": s, "token": w.names[t], "order": r, "p": round(float(tempered[t]), 4),
                         "drawn from": round(float(st.probs[t]), 4), "status": status, "why": why,
                         "mark": f"{float(tempered[t]):.0%} " + SHORT.get(why.split(" (")[0], status)})
        for layer in range(layers):
            for h in range(heads):
                for k in range(read):
                    attention.append({"step": s, "head": head_name(layer, h), "key": labels[k],
                                      "weight": round(float(st.attention[layer, h, k]), 4)})
            for part in ("keys", "values"):
                for k in range(len(made.tokens) - 1):
                    state = "cached" if k < read - 1 else "added this step" if k == read - 1 else "not yet"
                    cache.append({"step": s, "row": f"L{layer} {part}", "position": k, "label": labels[k],
                                  "state": state})
    return {"tokens": tokens, "bars": bars, "attention": attention, "cache": cache}


def table(w: Writer, made: gen.Generation) -> list[dict]:
    """One row per new token: what was drawn, the probability it was drawn with, how many tokens could have been
    drawn, and how many keys its query read."""
    return [{"step": s, "token": w.names[st.token], "probability": float(st.probs[st.token]),
             "tokens it was drawn from": int((st.probs > 0).sum()), "keys its query read": st.attention.shape[-1]}
            for s, st in enumerate(made.steps)]


def pronoun_step(w: Writer, made: gen.Generation) -> int | None:
    """The first step that writes right after 'it' or 'they' (the model must find the referent to pick the sound),
    or None."""
    if w.kind == "language":
        for s in range(len(made.steps)):
            if w.names[made.tokens[made.prompt_len + s - 1]] in ("it", "they"):
                return s
    return None


def default_step(w: Writer, made: gen.Generation) -> int:
    """The step to open the explorer on: the pronoun's (``pronoun_step``), else the last."""
    found = pronoun_step(w, made)
    return found if found is not None else max(0, len(made.steps) - 1)


def cost_rows(model, made: gen.Generation, uncached: gen.Generation) -> list[dict]:
    """Per step, with and without the cache: multiply-adds (from the model's sizes), their running total, and the
    measured time of the step's forward pass (ms). The first step reads the whole prompt either way (the cache is
    empty: it is filled by that step)."""
    rows = []
    for way, steps, cache in (("with the KV cache", made.steps, True), ("without (all again)", uncached.steps, False)):
        total = 0
        for s, st in enumerate(steps):
            macs = gen.multiply_adds(model, made.prompt_len + s, cache and s > 0)
            total += macs
            rows.append({"step": s, "way": way, "multiply-adds": macs, "total": total, "ms": st.seconds * 1000})
    return rows


def cost_sentence(rows: list[dict]) -> str:
    """What the cache saved here, in multiply-adds and in measured time, and whether the time agrees."""
    by = {way: [r for r in rows if r["way"] == way] for way in dict.fromkeys(r["way"] for r in rows)}
    cached, plain = by["with the KV cache"], by["without (all again)"]
    if not cached:
        return "No token was written, so there is nothing to compare."
    macs = cached[-1]["total"] / plain[-1]["total"]
    later = slice(1, None) if len(cached) > 1 else slice(None)  # the first step reads the whole prompt either way
    t_c = statistics.median(r["ms"] for r in cached[later])
    t_p = statistics.median(r["ms"] for r in plain[later])
    timing = (f"Measured here, a step after the first took {t_c:.2f} ms with the cache and {t_p:.2f} ms without "
              f"(medians), {t_c / t_p:.2f}× the time")
    if t_c / t_p < 0.8:
        timing += ": the cache saves time as well as arithmetic."
    else:
        timing += (": at this length and size the fixed cost of a step (starting each layer's operations) "
                   "outweighs the arithmetic saved, so the cache does not save time here; on long texts it does "
                   "(`python -m benchmarks generate`: 512 tokens).")
    return (f"Over these {len(cached)} steps the cache needs {cached[-1]['total']:,} multiply-adds against "
            f"{plain[-1]['total']:,} without it ({macs:.2f}×): without a cache every step reads the whole text "
            f"again, so the total grows with the square of the length; with one, each step reads one token. "
            + timing)


# ------------------------------------------------------------------ how temperature changes the text
ERRORS = [  # (start of language.grammatical's reason, the error's name)
    ("the same animal", "the same animal twice"),
    ("both nouns", "both nouns singular or both plural"),
    ("the sound of", "a sound that does not fit the pronoun's referent"),
    ("it ends too early", "the sentence breaks off"),
    ("words after", "words after the sentence's end"),
]


def error_name(why: str) -> str:
    """The kind of error ``language.grammatical``'s reason names, without the sentence's own words."""
    if "' after a " in why and why.startswith(("'was'", "'were'")):
        return "was/were against the subject"
    if wrong := re.match(r"'[^']*' where (.*) should be", why):
        return f"a wrong word where {wrong.group(1)} should be"
    return next((name for start, name in ERRORS if why.startswith(start)), why)


def sound_fits(words: list[str]) -> bool | None:
    """For a pronoun sentence, whether the sound after the pronoun is its referent's; None when the sentence breaks
    before the sound (no referent to fit)."""
    at = next((i for i, w in enumerate(words[:-1]) if w in ("it", "they") and words[i + 1] in language.SOUNDS), None)
    if at is None:
        return None
    ok, why = language.grammatical(words[:at + 2] + ["."])
    return True if ok else False if why.startswith("the sound of") else None


@dataclass(frozen=True)
class TemperatureRow:
    temperature: float
    sentences: int
    grammatical: float  # share of the sentences
    distinct: int  # different sentences among them
    pronoun: int  # pronoun sentences that reach their sound
    fits: float | None  # of those, the share whose sound is the referent's
    errors: list[tuple[str, int, str]]  # (error, count, an example), commonest first


def temperature_study(model, temperatures=TEMPERATURES, n: int = SENTENCES, seed: int = 0) -> list[TemperatureRow]:
    """``n`` sentences of the language model at each temperature, from "the", each checked by
    ``language.grammatical``; pronoun sentences also by whether the sound fits the referent."""
    rows = []
    for i, t in enumerate(temperatures):
        texts = [language.decode(ids) for ids in gen.sample_many(model, language.encode("the"), n, t, seed + i)]
        checked = [language.grammatical(words) for words in texts]
        fits = [f for words in texts if (f := sound_fits(words)) is not None]
        errors = Counter()
        examples = {}
        for words, (ok, why) in zip(texts, checked, strict=True):
            if not ok:
                errors[error_name(why)] += 1
                examples.setdefault(error_name(why), " ".join(words))
        rows.append(TemperatureRow(t, n, sum(ok for ok, _ in checked) / n, len({" ".join(w) for w in texts}),
                                   len(fits), sum(fits) / len(fits) if fits else None,
                                   [(e, c, examples[e]) for e, c in errors.most_common()]))
    return rows


def study_frame(rows: list[TemperatureRow]) -> list[dict]:
    """The study's shares as rows for its chart: one per temperature and measure."""
    out = []
    for r in rows:
        out.append({"temperature": r.temperature, "measure": "grammatical", "share": r.grammatical,
                    "of": f"{r.sentences} sentences"})
        if r.fits is not None:
            out.append({"temperature": r.temperature, "measure": "sound fits the referent", "share": r.fits,
                        "of": f"{r.pronoun} pronoun sentences"})
    return out


def study_sentence(rows: list[TemperatureRow]) -> str:
    """What the study shows, read from its numbers: how the share of grammatical sentences moves with the
    temperature, what greedy decoding does, and the commonest error where the model is hottest."""
    cold, hot = rows[0], rows[-1]
    best = max(rows, key=lambda r: r.grammatical)
    if hot.grammatical < best.grammatical - 0.02:
        trend = (f"The hotter the sampling, the more mistakes: {best.grammatical:.0%} of the sentences are "
                 f"grammatical at temperature {best.temperature:g}, {hot.grammatical:.0%} at {hot.temperature:g}")
    else:
        trend = (f"Here temperature barely changes grammaticality: from {min(r.grammatical for r in rows):.0%} to "
                 f"{max(r.grammatical for r in rows):.0%} across temperatures {rows[0].temperature:g} to "
                 f"{hot.temperature:g}")
    greedy = (f" At temperature {cold.temperature:g} (greedy) the model writes {cold.distinct} different "
              f"sentence{'s' if cold.distinct != 1 else ''} in {cold.sentences}: always the likeliest word, so no "
              f"variety." if cold.temperature == 0 else "")
    err = (f" At {hot.temperature:g} the commonest error is {hot.errors[0][0]} ({hot.errors[0][1]} of "
           f"{hot.sentences}), for example “{hot.errors[0][2]}”." if hot.errors else "")
    fit = [r for r in rows if r.fits is not None]
    fits = (f" Among pronoun sentences the sound fits the referent in {fit[0].fits:.0%} at {fit[0].temperature:g} "
            f"and {fit[-1].fits:.0%} at {fit[-1].temperature:g}." if len(fit) > 1 else "")
    return trend + "." + greedy + fits + err


def pronoun_sentence(w: Writer, made: gen.Generation) -> str:
    """At the step after a pronoun, which head put the most attention on the pronoun's referent (the earlier noun
    of its number), and how much; "" when there is no such step or no single referent."""
    s = pronoun_step(w, made)
    if s is None:
        return ""
    words = w.show(made.tokens[:made.prompt_len + s])  # what the step read; its last word is the pronoun
    plural = words[-1] == "they"
    nouns = [i for i, x in enumerate(words) if x in (language.PLURALS if plural else language.NOUNS)]
    if len(nouns) != 1:
        return ""
    at = made.steps[s].attention[:, :, nouns[0]]  # (layers, heads): each head's weight on the referent
    layer, head = divmod(int(at.argmax()), at.shape[1])
    return (f"At step {s} the model had to pick the sound after '{words[-1]}', which refers to '{words[nouns[0]]}' "
            f"(the only {'plural' if plural else 'singular'} noun): {head_name(layer, head)} put "
            f"{float(at[layer, head]):.0%} of its attention on it, the most of any head; it drew "
            f"'{w.names[made.steps[s].token]}'.")
