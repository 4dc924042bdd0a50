"""Learned attention on words (pages 2 and 3), as plain Python: the one training of the animal language that the
whole server shares, what a page needs from the trained model (a layer's token vectors, a head's W_Q, W_K, W_V),
each head's measured role, and the sentences built from those numbers. No streamlit here.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import pandas as pd
import torch

from lab.server.requests import Bar, ComparedRequest, Progress, head_name, progress_of, steepest_rise
from transformer.language import INDEX, VOCAB, Batch, LanguageConfig, LanguageRecord, accuracies, held_out

SHARES = {"referent_share": "pronoun → the noun it refers to", "other_share": "pronoun → the other noun",
          "agreement_share": "word before was/were → the head noun", "previous_share": "any word → the word before"}


@dataclass(frozen=True)
class LanguageRequest(ComparedRequest):
    """The language model at its defaults: one training, shared by every session that asks for learned mode."""

    config: LanguageConfig = LanguageConfig()
    compare: bool = False  # page 6: the same model with positions flipped as well
    shrink = "fewer training steps, a smaller d_model or fewer layers, or no comparison"

    @property
    def bounded(self) -> bool:
        """The defaults are what pages 2 and 3 stand on: trained once per server, they always run."""
        return self != LanguageRequest()

    def snapshot(self, jobs: dict) -> LanguageSnapshot:
        records = {c: list(j.records) for c, j in jobs.items()}
        bars = [Bar(f"the animal language, positions {'on' if c.positions else 'off'}",
                    records[c][-1].step if records[c] else 0, c.steps, unit="step") for c in self.trainings()]
        return LanguageSnapshot(**progress_of(jobs, bars), records=records[self.config],
                                other=records[self.other] if self.compare else [])


@dataclass
class LanguageSnapshot(Progress):
    records: list[LanguageRecord] = field(default_factory=list)
    other: list[LanguageRecord] = field(default_factory=list)  # positions flipped, when compared


METRICS = {"pronoun_acc": "pronoun → its sound (held-out)", "agreement_acc": "was / were (held-out)"}


def curves(records: list[LanguageRecord], run: str = "animal language") -> pd.DataFrame:
    """Loss, pronoun and agreement accuracy against step (charts.sequence_curves with ``METRICS``)."""
    return pd.DataFrame([{"run": run, **r.as_dict()} for r in records])


def progress_sentence(records: list[LanguageRecord]) -> str:
    """How far the run got, when both phenomena reached 99%, and where the pronoun jump was."""
    last = records[-1]
    hit = next((r for r in records if r.pronoun_acc >= 0.99 and r.agreement_acc >= 0.99), None)
    reached = (f"Both first reached 99% at step {hit.step}, {hit.seconds:.1f} s into training (evaluations "
               "included)." if hit else "It did not reach 99% on both in this run: try more steps.")
    rise = steepest_rise(records, "pronoun_acc")
    jumped = (f" Pronouns are learned in a jump: the steepest rise is by step {rise[0]}, from {rise[1]:.0%} to "
              f"{rise[2]:.0%}." if rise else "")
    return (f"After {last.step} steps the model gets {last.pronoun_acc:.1%} of the held-out pronouns and "
            f"{last.agreement_acc:.1%} of the agreements right. {reached}{jumped}")


@functools.lru_cache(maxsize=4)
def default_chances(seed: int = 0) -> dict[str, float]:
    """``chances`` of the held-out sentences (computed once)."""
    return chances(held_out(seed))


# ------------------------------------------------------------------ what page 2 runs the five steps on
def head_weights(model, layer: int, head: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """W_Q, W_K, W_V of one head: its columns of the layer's [W_Q | W_K | W_V], each (d_model, d_head)."""
    attn = model.blocks[layer].attn
    d_model = attn.w_qkv.shape[0]
    d_head = d_model // attn.n_heads
    cols = slice(head * d_head, (head + 1) * d_head)
    return tuple(w[:, cols].detach() for w in attn.w_qkv.chunk(3, dim=1))


def layer_vectors(model, idx: torch.Tensor, layer: int) -> torch.Tensor:
    """(T, d_model): each token's vector entering ``layer``'s attention, after its LayerNorm."""
    return model.layer_inputs(idx)[layer][0]


def pronoun_position(words: list[str]) -> int | None:
    """Where the sentence's last pronoun ("it" or "they") stands, if it has one."""
    return next((i for i in range(len(words) - 1, -1, -1) if words[i] in ("it", "they")), None)


# ------------------------------------------------------------------ each head's role, measured
def chances(batch: Batch) -> dict[str, float]:
    """What each share would be if every query spread its attention evenly over the words it may see."""
    visible = batch.cue.float() + 1  # a query at position p sees p + 1 words
    lengths = (batch.tokens != INDEX["<pad>"]).sum(1).float()
    previous = torch.cat([1 / torch.arange(2, int(n) + 1).float() for n in lengths]).mean()
    return {"referent_share": float((1 / visible[batch.pronoun]).mean()),
            "other_share": float((1 / visible[batch.pronoun]).mean()),
            "agreement_share": float((1 / visible[~batch.pronoun]).mean()), "previous_share": float(previous)}


def best_head(shares: dict, name: str = "referent_share") -> tuple[int, int, float]:
    """(layer, head, share) of the head with the largest ``name`` share."""
    share = shares[name]
    layer, head = divmod(int(share.argmax()), share.shape[1])
    return layer, head, float(share[layer, head])


def role_table(shares: dict, chance: dict) -> pd.DataFrame:
    """A row per head: each measured share (as a percentage) and its role: the share it beats chance most on, if
    it beats it by 2.5 times and reaches 30%."""
    layers, heads = shares["referent_share"].shape
    rows = []
    for layer in range(layers):
        for head in range(heads):
            row = {"head": head_name(layer, head)}
            lift = {}
            for name, label in SHARES.items():
                value = float(shares[name][layer, head])
                row[label] = f"{value:.0%}"
                lift[name] = value / max(chance[name], 1e-9) if value >= 0.3 and name != "other_share" else 0.0
            top = max(lift, key=lift.get)
            row["role, measured"] = SHARES[top] if lift[top] >= 2.5 else "no clear role"
            rows.append(row)
    return pd.DataFrame(rows)


def head_sentence(shares: dict, chance: dict) -> str:
    """Which head resolves the pronoun, from the shares."""
    layer, head, share = best_head(shares)
    other, even = float(shares["other_share"][layer, head]), chance["referent_share"]
    verdict = ("it has learned to find the noun a pronoun refers to" if share >= 0.5 and share >= 2.5 * even else
               "no head finds the referent yet")
    return (f"{head_name(layer, head)}: puts {share:.0%} of the pronoun's attention on the noun it refers to, and "
            f"{other:.0%} on the other noun (spread evenly, each would get {even:.0%}): {verdict}.")


# ------------------------------------------------------------------ knocking heads out
def knockout(model, heads: list[tuple[int, int]], evaluation: Batch | None = None) -> dict[str, float]:
    """Pronoun and agreement accuracy on the held-out sentences, intact and with ``heads`` removed."""
    from transformer.ablation import without_heads

    evaluation = held_out(model.config.seed) if evaluation is None else evaluation
    intact = accuracies(model, evaluation)
    without = without_heads(model, heads, lambda m: accuracies(m, evaluation))
    return {"pronoun": intact[0], "agreement": intact[1], "pronoun without": without[0],
            "agreement without": without[1]}


def knockout_sentence(result: dict[str, float], heads: list[tuple[int, int]]) -> str:
    """What removing ``heads`` did, in words built from the measured accuracies."""
    if not heads:
        return (f"Nothing removed: the model gets {result['pronoun']:.1%} of the held-out pronouns and "
                f"{result['agreement']:.1%} of the agreements right. Choose heads to knock out.")
    names = ", ".join(head_name(*h) for h in heads)
    them = "it" if len(heads) == 1 else "them"
    lines = []
    for task, what in (("pronoun", "pronouns (the sound after it/they)"), ("agreement", "agreements (was/were)")):
        before, after = result[task], result[f"{task} without"]
        drop = 100 * (before - after)
        verdict = (f"the model needs {them} for this" if drop >= 30 else "a real but partial loss" if drop >= 5 else
                   f"the model does this without {them}")
        change = f"{drop:.1f} points lost" if drop >= 0 else f"{-drop:.1f} points gained"
        lines.append(f"{what}: {before:.1%} → **{after:.1%}** ({change}: {verdict})")
    return f"Without {names}: " + "; ".join(lines) + "."


def vocabulary_note() -> str:
    words = [w for w in VOCAB if w != "<pad>"]
    return f"The language's {len(words)} words: " + ", ".join(words) + "."

