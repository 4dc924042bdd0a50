"""The "Watch attention learn" page's orchestration, as plain Python: what a press of Train asks for, its
progress, and every sentence that draws a conclusion, built from the numbers measured. No streamlit here."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
import torch

from lab.analyses import comparison
from lab.analyses.learned_heads import LanguageRequest
from lab.server.requests import Bar, ComparedRequest, Progress, head_name, progress_of, steepest_rise
from transformer.decoder import SeqRecord
from transformer.induction import InductionConfig
from transformer.language import LanguageConfig
from transformer.sequence import (
    PROBES,
    SEP,
    TASKS,
    SeqConfig,
    example_prompt,
    full_sequences,
    held_out,
    target_positions,
)

# What the form offers (each list serves the widget and the shareable link), bounded so that no setting can
# exhaust memory or hold a core for long: at the largest (length 12, d_model 128, 4 layers, 1,000 steps) a run
# takes about a minute on one core.
OPTIONS = {"task": [*TASKS, "induction", "language"], "d_model": [16, 32, 48, 64, 96, 128], "n_heads": [1, 2, 4, 8],
           "n_layers": [1, 2, 3, 4], "steps": [50, 100, 200, 300, 500, 600, 800, 1000]}
LENGTHS = (3, 12)
# each control's label, by its name in the link (and in a teacher's ``only=``)
LABELS = {"task": "task", "length": "digits in the prompt", "steps": "training steps", "d_model": "d_model",
          "n_heads": "heads", "n_layers": "layers", "seed": "seed", "positions": "learned positional embeddings",
          "compare": "also train with positions flipped, to compare"}
WHAT = {"reverse": "the digits backwards", "sort": "the digits in ascending order", "copy": "the digits again",
        "language": "the animal language's next word (the sound after 'it', was or were)",
        "induction": "the repeat of a random run (copy what came after this token last time)"}
TARGET = {"reverse": "the mirrored prompt position (the digit being written)",
          "copy": "the prompt position in the same place (the digit being written)",
          "sort": "the prompt position(s) holding the digit being written"}


def token_name(token: int) -> str:
    return "→" if token == SEP else str(token)


def example_tokens(config: SeqConfig) -> list[int]:
    """The whole sequence of the held-out example whose attention is kept at every record: prompt, →, answer."""
    return full_sequences(config.task, example_prompt(config))[0].tolist()


# each task's training: a digit task's, or the induction task's own (more steps and a higher rate for its circuit)
CONFIGS = {**{task: SeqConfig for task in TASKS}, "induction": InductionConfig, "language": LanguageConfig}


def task_steps(state) -> None:
    """When the task changes, the steps go to that task's default (induction needs more to form its circuit)."""
    state["steps"] = CONFIGS.get(state.get("task"), SeqConfig)().steps


def request_from(values: dict) -> SeqRequest | LanguageRequest:
    """What the page-6 form asks for: a digit task, or the animal language (the same model sizes, steps, seed and
    positions; the prompt length does not apply). ValueError, in words a student can act on, for settings that
    cannot train."""
    sizes = {k: values[k] for k in ("d_model", "n_heads", "n_layers", "steps", "seed", "positions")}
    task = values["task"]
    if task == "language":
        return LanguageRequest(LanguageConfig(**sizes), values["compare"])
    if task == "induction":
        return SeqRequest(InductionConfig(**sizes), values["compare"])
    return SeqRequest(SeqConfig(task=task, length=values["length"], **sizes), values["compare"])


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
    """One press of Train: a sequence model (a digit task, or induction), and maybe the same model with positions
    switched the other way."""

    config: SeqConfig | InductionConfig
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


def measured(config: SeqConfig) -> tuple:
    """(held-out data, measure(model, data) -> (main score, second score), their labels): exact-match and token
    accuracy for the digit tasks; for induction, accuracy on the repeated tokens and the share of sequences with
    every repeated token right."""
    from transformer import induction
    from transformer.sequence import evaluate_sequences

    if config.task == "induction":
        held = induction.held_out(config.seed)
        return held, lambda m, data: induction.evaluate(m, data)[1:], ("accuracy on the repeated tokens",
                                                                         "every repeated token right")
    return held_out(config), lambda m, data: evaluate_sequences(m, data)[:0:-1], ("exact-match", "token accuracy")


def score_without(model, config: SeqConfig, heads) -> tuple[float, float]:
    """The task's two scores on every held-out example, with ``heads`` removed."""
    from transformer.ablation import without_heads

    held, measure, _ = measured(config)
    return without_heads(model, list(heads), lambda m: measure(m, held))


def knockouts(model, config: SeqConfig, probes: int = 100) -> dict:
    """What the task needs, measured on held-out examples: its main score (``measured``) intact and without each
    single head (on every held-out example), and, found by search on the first ``probes`` of them, a set of heads
    whose removal breaks the task (the score below half of intact) with every head in it needed for the break."""
    from transformer.ablation import without_heads

    held, measure, labels = measured(config)
    heads = [(layer, h) for layer in range(config.n_layers) for h in range(config.n_heads)]

    def scores(removed, prompts=held) -> tuple[float, float]:
        return without_heads(model, removed, lambda m: measure(m, prompts))

    intact = scores([])
    single = {h: scores([h]) for h in heads}
    probe = held[:probes]  # the first prompts (a tensor's rows, or an induction batch's sequences)
    target = 0.5 * scores([], probe)[0]
    chosen, smallest = _breaking_set(heads, single, lambda removed: scores(removed, probe)[0] < target)
    broken = scores(chosen) if chosen else intact
    return {"intact": intact, "single": single, "breaking": chosen, "broken": broken, "labels": labels,
            "smallest": smallest}


SEARCH = 300  # sets of heads tried at most for the smallest breaking set; beyond, a greedy search


def _breaking_set(heads: list, single: dict, breaks) -> tuple[list, bool]:
    """(a set of heads whose removal ``breaks`` the task, whether it is the smallest such set). Every set is tried,
    smallest first, while there are at most ``SEARCH`` of them up to the size reached; otherwise heads are added
    most harmful first and then dropped again while the break holds (every head left is needed for it)."""
    from itertools import combinations
    from math import comb

    tried = 0
    for size in range(1, len(heads) + 1):
        tried += comb(len(heads), size)
        if tried > SEARCH:
            break
        for removed in combinations(heads, size):
            if breaks(list(removed)):
                return list(removed), True
    else:
        return [], True  # even every head removed together does not break it
    chosen: list = []
    for head in sorted(heads, key=lambda h: single[h][0]):  # the most harmful first
        chosen.append(head)
        if breaks(chosen):
            break
    else:
        return [], False
    for head in list(chosen):  # drop every head the break does not need
        rest = [h for h in chosen if h != head]
        if rest and breaks(rest):
            chosen = rest
    return chosen, False


def knockout_frame(result: dict) -> pd.DataFrame:
    """A row per head: the task's two scores without it (for the chart)."""
    return pd.DataFrame([{"head": head_name(layer, h), "score": main, "other": second}
                         for (layer, h), (main, second) in result["single"].items()])


def knockout_verdict(result: dict) -> str:
    """Which heads the task needs and which are redundant, from the measured knock-outs."""
    intact, label = result["intact"][0], result.get("labels", ("exact-match",))[0]
    needed = [h for h, (exact, _) in result["single"].items() if intact - exact >= NEEDED or exact < 0.5 * intact]
    names = ", ".join(head_name(layer, h) for layer, h in needed)
    worst_head, (worst, _) = min(result["single"].items(), key=lambda kv: kv[1][0])
    text = (f"Intact, the model's {label} on the held-out examples is {intact:.1%}. "
            + (f"The task needs {names}: without {'it' if len(needed) == 1 else 'each of them'} its {label} falls "
               f"by {100 * NEEDED:.0f} points or more, or below half. " if needed else
               f"Every single head is redundant: removing any one of them costs at most {intact - worst:.1%} "
               f"(the most, layer {worst_head[0]}, head {worst_head[1]}, leaves {worst:.1%}). "))
    breaking = result["breaking"]
    if breaking and not set(breaking) <= set(needed):
        names = ", ".join(head_name(layer, h) for layer, h in breaking)
        how = ("the smallest set that does, found by trying every set from the smallest up" if result.get("smallest")
               else "a set found by search, in which every head is needed for the break")
        text += f"Removing {names} together breaks it: {result['broken'][0]:.1%} {label} ({how})."
    elif breaking:
        text += f"Removed, it leaves {result['broken'][0]:.1%}." if len(needed) == 1 else ""
    else:
        text += "Even every head removed at once leaves it above half of that."
    return text


# ------------------------------------------------------------------ the induction task (page 6)
INDUCTION_METRICS = {"token_acc": "repeated tokens right (held-out)", "exact_match": "every repeated token right"}
LETTERS = "abcdefghijklmnopqrstuvwx"  # the induction task's 24 symbols, as letters


def letters(tokens) -> list[str]:
    """'0: q', '1: c', …: each induction token as a letter, with its position."""
    return [f"{i}: {LETTERS[int(t)]}" for i, t in enumerate(tokens)]


def parse_letters(typed: str) -> list[int] | None:
    """The tokens of a typed sequence of the letters a-x (spaces and commas ignored), or None if anything else."""
    text = re.sub(r"[\s,]", "", typed.lower())
    return [LETTERS.index(c) for c in text] if all(c in LETTERS for c in text) else None


def prefix_chance(config: SeqConfig) -> float:
    """The prefix-matching score attention spread evenly would give: 1 / (visible positions), averaged over the
    held-out positions inside a repeat."""
    from transformer import induction

    batch = induction.held_out(config.seed)
    visible = (torch.arange(induction.LENGTH - 1) + 1).float()[None].expand_as(batch.counted)
    return float((1 / visible)[batch.counted].mean())


def induction_progress(records: list[SeqRecord]) -> str:
    last, hit = records[-1], next((r for r in records if r.token_acc >= 0.9), None)
    rise = steepest_rise(records, "token_acc")
    reached = (f"It first got 90% of them right at step {hit.step}, {hit.seconds:.1f} s into training (evaluations "
               "included)." if hit else "It did not reach 90% in this run: try more steps.")
    jumped = (f" The steepest rise is by step {rise[0]}, from {rise[1]:.0%} to {rise[2]:.0%} (the dashed line): the "
              "induction circuit forming." if rise else "")
    return (f"After {last.step} steps the model predicts {last.token_acc:.1%} of the held-out repeated tokens and "
            f"gets {last.exact_match:.1%} of the sequences' repeats entirely right. {reached}{jumped}")


def induction_heads(prefix: torch.Tensor, previous: torch.Tensor, chance: float) -> tuple[list, tuple[int, int]]:
    """(the induction heads: heads after layer 0 scoring 0.5 or more on prefix matching, the best previous-token head
    of layer 0)."""
    heads = [(layer, h) for layer in range(1, prefix.shape[0]) for h in range(prefix.shape[1])
             if float(prefix[layer, h]) >= 0.5 and float(prefix[layer, h]) > 2.5 * chance]
    return heads, (0, int(previous[0].argmax()))


def induction_sentence(prefix: torch.Tensor, previous: torch.Tensor, chance: float) -> str:
    """Which heads form the circuit, from their measured scores."""
    heads, (pl, ph) = induction_heads(prefix, previous, chance)
    prev = (f"Layer {pl}, head {ph} is the previous-token head: {float(previous[pl, ph]):.0%} of each position's "
            "attention goes to the position just before it.")
    if not heads:
        return (f"No head scores 50% on prefix matching yet (the best: {float(prefix.max()):.0%}; attention spread "
                f"evenly would give {chance:.0%}). " + prev)
    names = ", ".join(f"{head_name(layer, h)} ({float(prefix[layer, h]):.0%})" for layer, h in heads)
    return (f"Induction head{'s' if len(heads) > 1 else ''}: {names} of the attention from a repeated token goes to "
            f"the position right after its earlier occurrence, against {chance:.0%} spread evenly. {prev} Together "
            "they copy what came after this token last time.")


def phase_change(records: list[SeqRecord]) -> tuple[str, tuple[int, int] | None]:
    """The circuit forming, read from the records: the head whose score rose most over training, the steps between
    which it covered most of its rise (from 10% to 90% of the way), its scores and the held-out loss at those two
    steps; and that window (None when no head rose by 0.2 or more)."""
    first, last = records[0].share, records[-1].share
    rise = last - first  # (layers, heads)
    layer, head = divmod(int(rise.argmax()), rise.shape[1])
    lo, hi = float(first[layer, head]), float(last[layer, head])
    if hi - lo < 0.2:
        return (f"No head's score rose by 0.2 or more in {records[-1].step} steps (the most: "
                f"{head_name(layer, head)}, {lo:.2f} → {hi:.2f}): the circuit has not formed yet; train longer."), None
    values = [float(r.share[layer, head]) for r in records]
    a = max(i for i, v in enumerate(values) if v <= lo + 0.1 * (hi - lo))
    b = next(i for i, v in enumerate(values) if v >= lo + 0.9 * (hi - lo) and i > a)
    ra, rb = records[a], records[b]
    loss = "fell" if rb.loss < ra.loss else "went"
    return (f"{head_name(layer, head).capitalize()}'s prefix matching rose from {values[a]:.2f} to {values[b]:.2f} "
            f"between steps {ra.step} and {rb.step}; the loss {loss} from {ra.loss:.2f} to {rb.loss:.2f} over the same "
            "steps (shaded)."), (ra.step, rb.step)


# ------------------------------------------------------------------ pinned runs (lab.analyses.comparison)
SEQ_PIN_KEYS = ("task", "length", "steps", "d_model", "n_heads", "n_layers", "seed", "positions")


def pin_of(request) -> dict:
    """What a pin keeps of a finished page-6 request: its model and training (not the positions comparison)."""
    c = request.config
    return {"task": getattr(c, "task", c.kind), "length": getattr(c, "length", SeqConfig().length), "steps": c.steps,
            "d_model": c.d_model, "n_heads": c.n_heads, "n_layers": c.n_layers, "seed": c.seed,
            "positions": c.positions}


def pin_config(pin: dict):
    return request_from({**pin, "compare": False}).config


def pin_accuracy(record) -> float:
    """A page-6 record's accuracy: exact match on held-out prompts; for the animal language, pronoun accuracy."""
    return record.pronoun_acc if hasattr(record, "pronoun_acc") else record.exact_match


_D = SeqConfig()
SEQ_PINS = comparison.PinSpec(
    defaults={"task": _D.task, "length": _D.length, "steps": _D.steps, "d_model": _D.d_model, "n_heads": _D.n_heads,
              "n_layers": _D.n_layers, "seed": _D.seed, "positions": True},
    parsers={"task": comparison.choice(OPTIONS["task"]), "length": comparison.integer(*LENGTHS),
             "seed": comparison.integer(0, 9999), "positions": comparison.boolean,
             **{k: comparison.choice(OPTIONS[k]) for k in ("steps", "d_model", "n_heads", "n_layers")}},
    names={"task": "task", "length": "digits", "steps": "steps", "d_model": "d_model", "n_heads": "heads",
           "n_layers": "layers", "seed": "seed", "positions": "positions"},
    config=pin_config, x="step", accuracy=pin_accuracy, loss=lambda r: r.loss,
    accuracy_name="held-out accuracy", loss_name="training loss")
