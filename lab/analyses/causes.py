"""Why the language model answers as it does (page 3): a sentence and its corrupted twin, activation patching of
every head and of the residual stream, and the sentences that read the grids. No streamlit here.

The twin changes one thing the answer depends on: a pronoun sentence's 'it' and 'they' swapped (the pronoun now
refers to the other animal, so the other sound becomes likely), or an agreement sentence's two nouns each given
the other number (so 'was' and 'were' swap). The answer is what the clean sentence needs next, the wrong answer
what the twin needs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.server.requests import head_name
from transformer import language
from transformer.patching import head_patch, residual_patch

PAIRS = 200  # held-out pairs the page's general statement is measured on


@dataclass(frozen=True)
class Pair:
    clean: list[str]  # the sentence, cut where the answer comes next
    corrupt: list[str]  # its twin
    answer: str  # what the clean sentence needs next
    wrong: str  # what the twin needs
    change: str  # what the twin changed, in words
    kind: str = "pronoun"  # or "agreement"


def pair_for(words: list[str]) -> Pair:
    """The patching pair a sentence of the language gives, or ValueError saying what sentence would."""
    example = "for example: " + language.EXAMPLES[0] + " or " + language.EXAMPLES[1]
    if "it" in words or "they" in words:
        at = next(i for i, w in enumerate(words) if w in ("it", "they"))
        ok, why = language.grammatical(words[:at + 1] + [language.ANIMALS["cat"], "."])  # well formed up to here?
        if not ok and not why.startswith("the sound of"):
            raise ValueError(f"the words up to the pronoun are not a sentence of the language ({why}); {example}")
        places = [i for i, w in enumerate(words[:at]) if w in language.NOUNS or w in language.PLURALS]
        first, second = (words[i] for i in places)
        plural = words[at] == "they"
        referent, other = (first, second) if (first in language.PLURALS) == plural else (second, first)
        twin = list(words[:at + 1])
        # the other animal in each noun's own number (the two nouns always differ in number)
        twin[places[0]], twin[places[1]] = language.other_number(second), language.other_number(first)
        return Pair(words[:at + 1], twin, language.ANIMALS[referent.removesuffix("s")],
                    language.ANIMALS[other.removesuffix("s")],
                    f"the two animals swapped, each noun keeping its number: '{words[at]}' now refers to the "
                    f"{language.other_number(other)}, not the {referent}")
    verbs = [i for i, w in enumerate(words) if w in ("was", "were")]
    if not verbs:
        raise ValueError(f"patching needs a sentence with 'it' or 'they' (or 'was'/'were') to explain; {example}")
    at = verbs[0]
    ok, why = language.grammatical(words[:at + 1] + [language.STATES[0], "."])
    if not ok and "' after a " not in why:
        raise ValueError(f"the words before '{words[at]}' are not a sentence of the language ({why}); {example}")
    twin = [language.other_number(w) for w in words[:at]]  # each noun in the other number
    first = next(w for w in words[:at] if w in language.NOUNS or w in language.PLURALS)
    plural = first in language.PLURALS
    return Pair(words[:at], twin, "were" if plural else "was", "was" if plural else "were",
                f"each noun given the other number: '{first}' → '{twin[words.index(first)]}', so the verb must "
                f"change too", "agreement")


def patched(model, pair: Pair) -> tuple[torch.Tensor, torch.Tensor]:
    """(layers, heads) and (layers + 1, T): how much of the clean answer each head and each residual restores."""
    answer, wrong = torch.tensor([language.INDEX[pair.answer]]), torch.tensor([language.INDEX[pair.wrong]])
    clean, corrupt = language.encode(" ".join(pair.clean)), language.encode(" ".join(pair.corrupt))
    return head_patch(model, clean, corrupt, answer, wrong), residual_patch(model, clean, corrupt, answer, wrong)


def held_out_heads(model, seed: int = 0) -> tuple[torch.Tensor, int]:
    """Head patching on ``PAIRS`` held-out pronoun pairs of one length (no adjectives), and how many there were."""
    clean, corrupt, answer, wrong = (t[:PAIRS] for t in language.pronoun_pairs(language.held_out(seed), 8))
    return head_patch(model, clean, corrupt, answer, wrong), len(clean)


def residual_rows(layers: int) -> list[str]:
    return [f"entering block {layer}" for layer in range(layers)] + ["entering the final norm"]


ROLES = {"pronoun": ("referent_share", "from the pronoun to its noun"),
         "agreement": ("agreement_share", "from the word before was/were to the first noun")}


def reading(pair: Pair, heads: torch.Tensor, resid: torch.Tensor, shares: dict, general: torch.Tensor,
            n: int) -> str:
    """What the grids show, from their numbers: the head that restores most and whether it is the head whose
    attention does the job (``shares``: each head's measured roles, as the language's records keep them), the top
    head on ``n`` held-out pronoun pairs (``general``), and how the answer reaches the last position."""
    share, job = ROLES[pair.kind]
    role = shares[share]  # (layers, heads)
    layer, head = divmod(int(heads.argmax()), heads.shape[1])
    r_layer, r_head = divmod(int(role.argmax()), role.shape[1])
    g_layer, g_head = divmod(int(general.argmax()), general.shape[1])
    text = (f"Patched alone, **{head_name(layer, head)}** restores the most of '{pair.answer}' against "
            f"'{pair.wrong}': {float(heads.max()):.2f} of the way from the twin's answer back to the sentence's. "
            + (f"It is the head whose attention goes {job} ({float(role.max()):.0%} of it on held-out sentences)."
               if (layer, head) == (r_layer, r_head) else
               f"The head whose attention goes most {job} is {head_name(r_layer, r_head)} ({float(role.max()):.0%} "
               f"on held-out sentences); patched alone here it restores {float(heads[r_layer, r_head]):.2f}."))
    text += (f" On {n} held-out pronoun pairs of our own (animals swapped) the top head is "
             f"{head_name(g_layer, g_head)} ({float(general.max()):.2f}).")
    last = resid.shape[1] - 1
    changed = [t for t, (a, b) in enumerate(zip(pair.clean, pair.corrupt, strict=True)) if a != b]
    along = ", ".join(f"{float(resid[row, last]):.2f} {name}"
                      for row, name in enumerate(residual_rows(resid.shape[0] - 1)))
    if last in changed:
        return text + (f" In the residual stream the last word is itself one the twin changed, so patching its own "
                       f"position restores most of the answer from the start: {along}.")
    at_words = ", ".join(f"'{t}: {pair.clean[t]}' {float(resid[0, t]):.2f}" for t in changed)
    text += (f" In the residual stream, patched one position at a time: entering block 0 the difference sits where "
             f"the twin changed words ({at_words}); at the last position, where the answer is read out, patching "
             f"restores {along}.")
    arrived = next((row for row in range(resid.shape[0]) if float(resid[row, last]) > 0.5), None)
    if arrived:  # only attention moves anything between positions: the block before that row carried it
        text += f" Only attention moves anything between positions: block {arrived - 1} carried the answer there."
    return text


def lens_rows(layers: int) -> list[str]:
    """The logit lens's read-outs, top to bottom."""
    return ["the embedding"] + [f"after block {layer}" for layer in range(layers)]


def lens_sentence(right: torch.Tensor, step: int) -> str:
    """Where the right next tokens appear, from the lens at one record (``right``: (layers + 1, T) probabilities):
    at how many positions each read-out already gives the right token more than half the probability."""
    rows = lens_rows(right.shape[0] - 1)
    counts = [int((right[row] > 0.5).sum()) for row in range(right.shape[0])]
    said = ", ".join(f"{c} {name}" for c, name in zip(counts, rows, strict=True))
    first = next((name for c, name in zip(counts, rows, strict=True) if c == counts[-1] and c > 0), None)
    return (f"At step {step}, the right next token gets more than half the probability at {said} (of "
            f"{right.shape[1]} positions; the last read-out is the model's own output)"
            + (f": as many as at the output are already there {first}." if first and first != rows[-1] else "."))
