"""The "Watch attention learn" page's orchestration, as plain Python: what a press of Train asks for, its
progress, and every sentence that draws a conclusion, built from the numbers measured. No streamlit here."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
import torch

from lab.learned import LanguageRequest
from lab.requests import Bar, ComparedRequest, Progress, progress_of
from transformer.language import LanguageConfig
from transformer.sequence import (
    PROBES,
    SEP,
    TASKS,
    SeqConfig,
    SeqRecord,
    example_prompt,
    full_sequences,
    held_out,
    target_positions,
)

# What the form offers (each list serves the widget and the shareable link), bounded so that no setting can
# exhaust memory or hold a core for long: at the largest (length 12, d_model 128, 4 layers, 1,000 steps) a run
# takes about a minute on one core.
# induction: the package trains it (SeqConfig(task="induction")); the page does not offer it yet
OPTIONS = {"task": [*(t for t in TASKS if t != "induction"), "language"],
           "d_model": [16, 32, 48, 64, 96, 128], "n_heads": [1, 2, 4, 8],
           "n_layers": [1, 2, 3, 4], "steps": [50, 100, 200, 300, 500, 800, 1000]}
LENGTHS = (3, 12)
# each control's label, by its name in the link (and in a teacher's ``only=``)
LABELS = {"task": "task", "length": "digits in the prompt", "steps": "training steps", "d_model": "d_model",
          "n_heads": "heads", "n_layers": "layers", "seed": "seed", "positions": "learned positional embeddings",
          "compare": "also train with positions flipped, to compare"}
WHAT = {"reverse": "the digits backwards", "sort": "the digits in ascending order", "copy": "the digits again",
        "language": "the animal language's next word (the sound after 'it', was or were)"}
TARGET = {"reverse": "the mirrored prompt position (the digit being written)",
          "copy": "the prompt position in the same place (the digit being written)",
          "sort": "the prompt position(s) holding the digit being written"}


def token_name(token: int) -> str:
    return "→" if token == SEP else str(token)


def example_tokens(config: SeqConfig) -> list[int]:
    """The whole sequence of the held-out example whose attention is kept at every record: prompt, →, answer."""
    return full_sequences(config.task, example_prompt(config))[0].tolist()


def request_from(values: dict) -> SeqRequest | LanguageRequest:
    """What the page-6 form asks for: a digit task, or the animal language (the same model sizes, steps, seed and
    positions; the prompt length does not apply). ValueError, in words a student can act on, for settings that
    cannot train."""
    sizes = {k: values[k] for k in ("d_model", "n_heads", "n_layers", "steps", "seed", "positions")}
    if values["task"] == "language":
        return LanguageRequest(LanguageConfig(**sizes), values["compare"])
    return SeqRequest(SeqConfig(task=values["task"], length=values["length"], **sizes), values["compare"])


def parse_digits(typed: str) -> list[int] | None:
    """The digits a student typed ("3 1 4", "3,1,4" or "314"), or None when anything but digits, spaces and commas
    is there. The length is the page's to check (it says how many the model wants)."""
    if not re.fullmatch(r"[\d\s,]*", typed):
        return None
    return [int(d) for d in re.sub(r"[\s,]", "", typed)]


def labels(tokens: list[int]) -> list[str]:
    """'0: 3', '1: 1', ..., '6: →': each token with its position, so a repeated digit keeps its own row."""
    return [f"{i}: {token_name(t)}" for i, t in enumerate(tokens)]


@dataclass(frozen=True)
class SeqRequest(ComparedRequest):
    """One press of Train: a sequence model, and maybe the same model with positions switched the other way."""

    config: SeqConfig
    compare: bool = False
    # what a student can shrink on page 6 when a shared server refuses the request (only controls the page has)
    shrink = "fewer training steps, fewer digits in the prompt, a smaller d_model or fewer layers, or no comparison"

    def snapshot(self, jobs: dict) -> SeqSnapshot:
        records = {c: list(j.records) for c, j in jobs.items()}
        bars = [Bar(f"{c.task}, positions {'on' if c.positions else 'off'}", records[c][-1].step if records[c] else 0,
                    c.steps, unit="step") for c in self.trainings()]
        return SeqSnapshot(**progress_of(jobs, bars), main=records[self.config],
                           other=records[self.other] if self.compare else [])


@dataclass
class SeqSnapshot(Progress):
    main: list[SeqRecord] = field(default_factory=list)  # the requested model's records
    other: list[SeqRecord] = field(default_factory=list)  # positions switched, when compared


def curves(runs: dict[str, list[SeqRecord]]) -> pd.DataFrame:
    """Every record's numbers, a row per (run, step)."""
    return pd.DataFrame([dict(run=name, **r.as_dict()) for name, recs in runs.items() for r in recs])


def first_reaching(records: list[SeqRecord], level: float = 0.99) -> SeqRecord | None:
    return next((r for r in records if r.exact_match >= level), None)


def progress_sentence(records: list[SeqRecord]) -> str:
    last, hit = records[-1], first_reaching(records)
    reached = (f"It first got 99% of them right at step {hit.step}, {hit.seconds:.1f} s into training (evaluations "
               "included)." if hit else "It did not reach 99% in this run: try more steps, or a larger model.")
    return (f"After {last.step} steps the model writes {last.exact_match:.1%} of the held-out prompts' answers "
            f"exactly right and {last.token_acc:.1%} of their tokens. {reached}")


# ------------------------------------------------------------------ what each head does, in numbers
def chance_share(config: SeqConfig) -> float:
    """The share of attention on the target position(s) if a query spread its attention evenly over every token it
    may see (the prompt, the separator and the answer so far): the level a head must beat to show a pattern."""
    digits = held_out(config)[:PROBES]
    n = config.length
    hits = target_positions(config.task, digits).sum(-1).float()  # (N, L): target positions per answer token
    visible = torch.arange(n + 1, 2 * n + 1).float()  # answer token i is written from position n + i
    return float((hits / visible).mean())


def share_frame(records: list[SeqRecord]) -> pd.DataFrame:
    """The pattern share of every head at every record: columns step, head ("layer l, head h"), share."""
    rows = [{"step": r.step, "head": f"layer {layer}, head {h}", "share": float(r.share[layer, h])}
            for r in records for layer in range(r.share.shape[0]) for h in range(r.share.shape[1])]
    return pd.DataFrame(rows)


def head_sentence(records: list[SeqRecord], config: SeqConfig) -> str:
    """Which head does the task's lookup, measured: the best head's share at the start and the end, against chance."""
    first, last, chance = records[0].share, records[-1].share, chance_share(config)
    layer, head = divmod(int(last.argmax()), last.shape[1])
    best = float(last[layer, head])
    times = f"{best / chance:.1f} times the {chance:.0%} that attention spread evenly would give"
    if best > 0.5 and best > 2.5 * chance:
        verdict = f"{times}: this head has learned to look up the digit it writes"
    elif best > 1.5 * chance:
        verdict = f"{times}: a pattern is forming, but no head does the lookup cleanly yet (more steps may help)"
    else:
        verdict = f"{times}: no head has learned the lookup"
    return (f"Measured on {PROBES} held-out prompts: layer {layer}, head {head} puts {best:.0%} of its attention on "
            f"{TARGET[config.task]} after {records[-1].step} steps (it started at {float(first[layer, head]):.0%}), "
            f"{verdict}. " + spread_sentence(last, chance))


SAME_JOB = 0.5  # a head putting at least this share on the target (and 2.5x chance) does the lookup


def spread_sentence(share: torch.Tensor, chance: float) -> str:
    """Whether the heads differ at the end of training, from the final shares (layers, heads)."""
    n = share.numel()
    lo, hi = float(share.min()), float(share.max())
    doing = int(((share >= SAME_JOB) & (share > 2.5 * chance)).sum())
    if n == 1:
        return "With a single head there is nothing to compare: try 2 or more heads."
    if doing == n:
        return (f"The heads do not differ here: all {n} end between {lo:.0%} and {hi:.0%}, each doing the same lookup "
                "side by side, so no single one stands out. Where would heads split the work? Try fewer heads or "
                "layers, or another task (sort, copy), and compare this chart.")
    if doing == 0:
        return f"No head does the lookup on its own: all {n} end between {lo:.0%} and {hi:.0%}."
    return (f"The heads differ: {doing} of the {n} put at least {SAME_JOB:.0%} on it, the others less (from "
            f"{lo:.0%}), so the lookup is the job of some heads, not all.")


def positions_sentence(main: list[SeqRecord], other: list[SeqRecord], config: SeqConfig) -> str:
    """What switching positional embeddings did to this task, from the two runs' final exact-match."""
    on, off = (main, other) if config.positions else (other, main)
    a, b = on[-1].exact_match, off[-1].exact_match
    measured = (f"With positions the model gets {a:.1%} of the held-out answers exactly right after "
                f"{on[-1].step} steps; without them, {b:.1%}.")
    if b >= 0.95:
        why = (" The task still learns without positions" + (": sorting needs only *which* digits the prompt holds, "
               "not where they stand, and the causal mask lets each answer position tell how much it has already "
               "written." if config.task == "sort" else ". The causal mask alone lets a position count the tokens "
               "before it, so order can be recovered without positional embeddings."))
    elif b < a - 0.2 and config.task == "sort":
        why = (" Sorting does not need to know where a digit stands in the prompt, only which digits it holds; but "
               "each answer position must know how many digits it has already written to pick the next one. Without "
               "positional embeddings it can only count that through the causal mask, which this model learns far "
               "more slowly.")
    elif b < a - 0.2:
        why = (f" {config.task.capitalize()} is all about position: answer token i is the prompt's "
               + ("(L-1-i)-th" if config.task == "reverse" else "i-th") + " digit. Without positional embeddings "
               "attention cannot match a query to 'the 3rd digit' by where it stands; the model has to recover "
               "positions by counting through the causal mask (each position sees only the tokens before it), "
               f"which it manages only in part: {b:.1%} against {a:.1%}.")
    else:
        why = " The gap is small here: try more steps or another seed before drawing a conclusion."
    return measured + why


# ------------------------------------------------------------------ knocking heads out (page 6)
NEEDED = 0.30  # a head is needed when removing it costs this much exact-match, or half of what the model had


def knockouts(model, config: SeqConfig, probes: int = 300) -> dict:
    """What the task needs, measured on held-out prompts: exact-match and token accuracy intact and without each
    single head (on every held-out prompt), and, found by search on the first ``probes`` of them, a set of heads
    whose removal breaks the task (exact-match below half of intact) with every head in it needed for the break."""
    from transformer.ablation import without_heads
    from transformer.sequence import evaluate_sequences

    held = held_out(config)
    heads = [(layer, h) for layer in range(config.n_layers) for h in range(config.n_heads)]

    def scores(removed, prompts=held) -> tuple[float, float]:
        _, token, exact = without_heads(model, removed, lambda m: evaluate_sequences(m, prompts))
        return exact, token

    intact = scores([])
    single = {h: scores([h]) for h in heads}
    probe = held[:probes]
    target = 0.5 * scores([], probe)[0]
    chosen: list[tuple[int, int]] = []
    for head in sorted(heads, key=lambda h: single[h][0]):  # the most harmful first
        chosen.append(head)
        if scores(chosen, probe)[0] < target:
            break
    else:
        chosen = []  # even every head removed does not break it
    for head in list(chosen):  # drop every head the break does not need
        rest = [h for h in chosen if h != head]
        if rest and scores(rest, probe)[0] < target:
            chosen = rest
    broken = scores(chosen) if chosen else intact
    return {"intact": intact, "single": single, "breaking": chosen, "broken": broken}


def knockout_frame(result: dict) -> pd.DataFrame:
    """A row per head: exact-match and token accuracy without it (for the chart)."""
    return pd.DataFrame([{"head": f"layer {layer}, head {h}", "exact_match": exact, "token_acc": token}
                         for (layer, h), (exact, token) in result["single"].items()])


def knockout_verdict(result: dict) -> str:
    """Which heads the task needs and which are redundant, from the measured knock-outs."""
    intact = result["intact"][0]
    needed = [h for h, (exact, _) in result["single"].items() if intact - exact >= NEEDED or exact < 0.5 * intact]
    names = ", ".join(f"layer {layer}, head {h}" for layer, h in needed)
    worst_head, (worst, _) = min(result["single"].items(), key=lambda kv: kv[1][0])
    text = (f"Intact, the model writes {intact:.1%} of the held-out answers exactly right. "
            + (f"The task needs {names}: without {'it' if len(needed) == 1 else 'each of them'} exact-match falls "
               f"by {100 * NEEDED:.0f} points or more, or below half. " if needed else
               f"Every single head is redundant: removing any one of them costs at most {intact - worst:.1%} "
               f"(the most, layer {worst_head[0]}, head {worst_head[1]}, leaves {worst:.1%}). "))
    breaking = result["breaking"]
    if breaking and not set(breaking) <= set(needed):
        names = ", ".join(f"layer {layer}, head {h}" for layer, h in breaking)
        text += (f"Removing {names} together breaks it: {result['broken'][0]:.1%} exact-match (a set found by "
                 "search, in which every head is needed for the break).")
    elif breaking:
        text += f"Removed, it leaves {result['broken'][0]:.1%}." if len(needed) == 1 else ""
    else:
        text += "Even every head removed at once leaves it above half of that."
    return text
