"""A small generated language whose sentences need attention to be read, and a decoder that learns it in seconds.

Two sentence forms, with N1 and N2 two different animals of **different number** (one singular, one plural):

- pronoun: ``the [adj] N1 VERB the [adj] N2 . then PRONOUN SOUND .``,
  e.g. ``the cat chased the dogs . then it meowed .``
  The pronoun refers to N1 or N2 at random: ``it`` for a singular referent, ``they`` for a plural one, and SOUND
  is the referent's own sound. To predict SOUND the model must find the noun that agrees with the pronoun.
- agreement: ``the [adj] N1 PREP the [adj] N2 was|were STATE .``, e.g. ``the cats near the dog were tired .``
  The verb agrees with the head noun N1, not with the nearer N2.

Sentences are generated as token tensors, a whole batch at once (no Python loop per sentence), deterministic per
seed. The model is the package's own causal decoder (``decoder.Decoder``, the same one page 6's sequence model is),
trained as a language model on every next word; ``pronoun_acc`` and ``agreement_acc`` are measured on held-out
sentences that training never sees.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor

from ._seed import seeded
from .decoder import TENSORS, Decoder, DecoderConfig, train_steps
from .lens import next_token_lens

ANIMALS = {"cat": "meowed", "dog": "barked", "bird": "sang", "cow": "mooed", "duck": "quacked", "lion": "roared",
           "frog": "croaked", "horse": "neighed", "owl": "hooted", "bee": "buzzed"}
VERBS = ["chased", "saw", "followed", "liked", "fed", "met"]
ADJECTIVES = ["big", "small", "old", "young", "happy", "hungry"]
PREPOSITIONS = ["near", "behind", "with"]
STATES = ["tired", "happy", "hungry", "asleep"]
PAD = "<pad>"

NOUNS = list(ANIMALS)
PLURALS = [f"{n}s" for n in NOUNS]
SOUNDS = list(ANIMALS.values())
VOCAB: list[str] = list(dict.fromkeys(
    [PAD, "the", ".", "then", "it", "they", "was", "were", *NOUNS, *PLURALS, *SOUNDS, *VERBS, *ADJECTIVES,
     *PREPOSITIONS, *STATES]))
INDEX = {w: i for i, w in enumerate(VOCAB)}
MAX_WORDS = 12  # the longest sentence: the pronoun form with both adjectives
EXAMPLES = ["the cat chased the dogs . then it meowed .", "the cats near the dog were tired .",
            "the big owls saw the small frog . then they hooted ."]
HELD_OUT = 1000  # held-out sentences of each form: 2,000 in all


def encode(text: str) -> Tensor:
    """A sentence of the language -> (1, T) token ids. ValueError naming any word outside the vocabulary."""
    words = text.lower().replace(".", " . ").split()
    unknown = [w for w in dict.fromkeys(words) if w not in INDEX or w == PAD]
    if unknown:
        raise ValueError(f"not in the animal language's vocabulary: {', '.join(repr(w) for w in unknown)}. Its words "
                         "are listed in transformer/language.py (VOCAB), for example: " + EXAMPLES[0])
    if not words:
        raise ValueError("the sentence has no words; try: " + EXAMPLES[0])
    return torch.tensor([[INDEX[w] for w in words]])


def complete(words: list[str]) -> bool:
    """Whether ``words`` end where a sentence of the language ends: its final "." (the pronoun form has two, the
    first after its verb; the agreement form one), or a padding token."""
    if words and words[-1] == PAD:
        return True
    return bool(words) and words[-1] == "." and (words.count(".") >= 2 or not set(words) & set(VERBS))


def grammatical(words: list[str]) -> tuple[bool, str]:
    """(whether ``words`` are a sentence of the language, and if not why, in words). The two forms:
    "the [adj] N1 VERB the [adj] N2 . then it|they SOUND ." and "the [adj] N1 PREP the [adj] N2 was|were STATE .",
    with two different animals, one singular and one plural; the pronoun's number picks its noun, whose sound
    follows; was or were agrees with N1."""
    words = [w for w in words if w != PAD]
    at = 0

    def take(allowed, what: str) -> str:
        nonlocal at
        if at >= len(words):
            raise ValueError(f"it ends too early: {what} expected after '{' '.join(words)}'")
        if words[at] not in allowed:
            raise ValueError(f"'{words[at]}' where {what} should be (word {at + 1})")
        at += 1
        return words[at - 1]

    def noun_phrase(which: str) -> tuple[str, bool]:
        nonlocal at
        take({"the"}, "'the'")
        if at < len(words) and words[at] in ADJECTIVES:
            at += 1
        noun = take(set(NOUNS) | set(PLURALS), f"the {which} noun")
        return noun.removesuffix("s") if noun in PLURALS else noun, noun in PLURALS

    try:
        first, plural1 = noun_phrase("first")
        middle = take(set(VERBS) | set(PREPOSITIONS), "a verb or a preposition")
        second, plural2 = noun_phrase("second")
        if first == second:
            return False, f"the same animal twice ('{first}')"
        if plural1 == plural2:
            return False, f"both nouns are {'plural' if plural1 else 'singular'}: one must be singular, one plural"
        if middle in VERBS:  # the pronoun form
            take({"."}, "'.'")
            take({"then"}, "'then'")
            pronoun = take({"it", "they"}, "'it' or 'they'")
            referent = first if plural1 == (pronoun == "they") else second
            sound = take(set(SOUNDS), "an animal's sound")
            if sound != ANIMALS[referent]:
                heard = next(a for a, s in ANIMALS.items() if s == sound)
                return False, (f"the sound of a {heard} ('{sound}') after '{pronoun}', which refers to the "
                               f"{referent}{'s' if pronoun == 'they' else ''}")
        else:  # the agreement form
            verb = take({"was", "were"}, "'was' or 'were'")
            if (verb == "were") != plural1:
                return False, (f"'{verb}' after a {'plural' if plural1 else 'singular'} subject ('the "
                               f"{first}{'s' if plural1 else ''}')")
            take(set(STATES), "a state (tired, happy, hungry, asleep)")
        take({"."}, "'.'")
    except ValueError as err:
        return False, str(err)
    if at < len(words):
        return False, f"words after the sentence's end: '{' '.join(words[at:])}'"
    return True, ""


def decode(ids) -> list[str]:
    return [VOCAB[int(i)] for i in ids]


@dataclass(frozen=True)
class LanguageConfig(DecoderConfig):
    """Everything that decides a training run of the language model; the defaults were chosen by measurement (see
    the benchmark's *language* rows): both phenomena reach 99% on held-out sentences within a few seconds."""

    lr: float = 3e-3

    kind = "language"

    @property
    def context(self) -> int:
        return MAX_WORDS - 1  # the model reads all but a sentence's last word

    @property
    def vocab(self) -> int:
        return len(VOCAB)

    @property
    def evaluated(self) -> int:
        return 2 * HELD_OUT + 2 * HELD_OUT // 5 + 1  # the held-out sentences, the probes' shares, the example

    def build(self) -> LanguageModel:
        return build_language_model(self)

    def train(self, model: Decoder | None = None) -> Iterator[LanguageRecord]:
        return train_language_model(self, model)


# ------------------------------------------------------------------ the generator
@dataclass(frozen=True)
class Batch:
    """Generated sentences and where their parts stand (positions after the optional adjectives are packed)."""

    tokens: Tensor  # (N, MAX_WORDS) ids, PAD after the end
    pronoun: Tensor  # (N,) bool: the pronoun form (else the agreement form)
    n1: Tensor  # (N,) position of the first noun
    n2: Tensor  # (N,) position of the second noun
    cue: Tensor  # (N,) the position whose next word is the test: the pronoun (-> SOUND) or N2 (-> was/were)
    referent: Tensor  # (N,) position of the noun the cue must find: the pronoun's referent, or N1 for agreement
    other: Tensor  # (N,) position of the other noun


def _pick(options: list[str], idx: Tensor) -> Tensor:
    return torch.tensor([INDEX[w] for w in options])[idx]


def draw_sentences(n: int, generator: torch.Generator) -> Batch:
    """``n`` sentences, half of each form on average, drawn with ``generator``."""
    def draw(high: int) -> Tensor:
        return torch.randint(0, high, (n,), generator=generator)

    pronoun = draw(2).bool()
    a1 = draw(len(NOUNS))
    a2 = (a1 + 1 + draw(len(NOUNS) - 1)) % len(NOUNS)  # a different animal
    plural1 = draw(2).bool()  # N2 has the other number
    refers_first = draw(2).bool()
    has_adj1, has_adj2 = draw(2).bool(), draw(2).bool()
    noun1 = torch.where(plural1, _pick(PLURALS, a1), _pick(NOUNS, a1))
    noun2 = torch.where(plural1, _pick(NOUNS, a2), _pick(PLURALS, a2))
    ref_plural = torch.where(refers_first, plural1, ~plural1)
    sound = _pick(SOUNDS, torch.where(refers_first, a1, a2))
    empty = torch.full((n,), -1)
    the, stop = torch.full((n,), INDEX["the"]), torch.full((n,), INDEX["."])
    adj1 = torch.where(has_adj1, _pick(ADJECTIVES, draw(len(ADJECTIVES))), empty)
    adj2 = torch.where(has_adj2, _pick(ADJECTIVES, draw(len(ADJECTIVES))), empty)
    middle = torch.where(pronoun, _pick(VERBS, draw(len(VERBS))), _pick(PREPOSITIONS, draw(len(PREPOSITIONS))))
    # slots 7-11: ". then PRONOUN SOUND ." for the pronoun form, "was|were STATE . - -" for agreement
    tail_p = torch.stack([stop, torch.full((n,), INDEX["then"]),
                          torch.where(ref_plural, INDEX["they"], INDEX["it"]), sound, stop], 1)  # (n, 5)
    tail_a = torch.stack([torch.where(plural1, INDEX["were"], INDEX["was"]), _pick(STATES, draw(len(STATES))),
                          stop, empty, empty], 1)  # (n, 5)
    slots = torch.cat([torch.stack([the, adj1, noun1, middle, the, adj2, noun2], 1),
                       torch.where(pronoun[:, None], tail_p, tail_a)], 1)  # (n, 12): -1 where a slot is empty
    present = slots >= 0
    position = present.long().cumsum(1) - 1  # (n, 12): each filled slot's place in the packed sentence
    order = torch.argsort((~present).long(), dim=1, stable=True)  # filled slots first, in order
    tokens = slots.gather(1, order).masked_fill(~present.gather(1, order), INDEX[PAD])  # (n, 12)
    n1, n2 = position[:, 2], position[:, 6]
    cue = torch.where(pronoun, position[:, 9], n2)
    referent = torch.where(pronoun & ~refers_first, n2, n1)
    other = torch.where(pronoun & ~refers_first, n1, n2)
    return Batch(tokens, pronoun, n1, n2, cue, referent, other)


SOUND_OF = torch.tensor([INDEX[ANIMALS[w.removesuffix("s")]] if w.removesuffix("s") in ANIMALS else -1
                         for w in VOCAB])  # each noun's (singular or plural) sound id; -1 for other words
OTHER_NUMBER = torch.tensor([INDEX[w + "s"] if w in NOUNS else INDEX[w.removesuffix("s")] if w in PLURALS else i
                             for i, w in enumerate(VOCAB)])  # a noun in the other number; other words unchanged


def other_number(word: str) -> str:
    """A noun in the other number ('cat' <-> 'cats'); any other word as it is (``OTHER_NUMBER``, for words)."""
    return VOCAB[int(OTHER_NUMBER[INDEX[word]])]


def pronoun_pairs(batch: Batch, length: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Activation patching's prompt pairs from the pronoun sentences of ``batch`` whose pronoun is word
    ``length - 1``, each cut after its pronoun: (clean; corrupt: the same with the two animals swapped, each noun
    keeping its number, so the pronoun now refers to the other animal; answer: the clean referent's sound, what the
    clean prompt should be followed by; wrong: the other animal's sound, what the corrupted one should), each
    (n, length) or (n,)."""
    rows = (batch.pronoun & (batch.cue == length - 1)).nonzero()[:, 0]
    clean = batch.tokens[rows, :length]  # (n, length)
    n1, n2 = batch.n1[rows], batch.n2[rows]
    ids = torch.arange(len(rows))
    first, second = clean[ids, n1], clean[ids, n2]  # the two nouns
    corrupt = clean.clone()
    # the other animal in this noun's number: the other noun itself, or it in the other number
    corrupt[ids, n1] = OTHER_NUMBER[second]  # N1 and N2 always differ in number
    corrupt[ids, n2] = OTHER_NUMBER[first]
    answer = batch.tokens[rows, length]  # the sound after the pronoun: its referent's
    wrong = SOUND_OF[batch.tokens[rows, batch.other[rows]]]
    return clean, corrupt, answer, wrong


def held_out(seed: int = 0) -> Batch:
    """The evaluation sentences: ``HELD_OUT`` of each form (drawn with a generator training never uses)."""
    g = torch.Generator().manual_seed(1_000_003 + seed)
    batch = draw_sentences(6 * HELD_OUT, g)
    pick = torch.cat([batch.pronoun.nonzero()[:HELD_OUT, 0], (~batch.pronoun).nonzero()[:HELD_OUT, 0]])
    return Batch(*(getattr(batch, f.name)[pick] for f in fields(Batch)))


# ------------------------------------------------------------------ the model and what it learned
class LanguageModel(Decoder):
    """The package's causal decoder over the language's words (the same class page 6's sequence model is built
    on): ``model(idx)`` gives (B, T, V) next-word logits, ``model.attention_maps(idx)`` the logits and
    (B, layers, heads, T, T)."""

    def __init__(self, config: LanguageConfig):
        super().__init__(config, vocab=len(VOCAB), context=MAX_WORDS)

    def finished(self, ids) -> bool:
        """Whether ``ids`` end a sentence, so that generation stops there (``generate.generate``)."""
        return complete(decode(ids))


def build_language_model(config: LanguageConfig = LanguageConfig()) -> LanguageModel:
    with seeded(config.seed):
        return LanguageModel(config)


@torch.no_grad()
def accuracies(model: Decoder, batch: Batch) -> tuple[float, float]:
    """(pronoun accuracy, agreement accuracy): the share of held-out sentences whose tested word (SOUND after the
    pronoun, was/were after N2) is the model's top prediction."""
    model.eval()
    shares = []
    for form in (batch.pronoun, ~batch.pronoun):
        tokens, cue = batch.tokens[form], batch.cue[form]
        logits = model(tokens[:, : int(cue.max()) + 1])  # (n, T', V): only up to the last tested word
        rows = torch.arange(len(tokens))
        shares.append((logits[rows, cue].argmax(-1) == tokens[rows, cue + 1]).float().mean().item())
    return shares[0], shares[1]


@torch.no_grad()
def head_shares(model: Decoder, batch: Batch) -> dict[str, Tensor]:
    """Per head (layers, heads), averaged over the sentences:

    - ``referent_share``: the pronoun's attention on its referent noun (pronoun sentences);
    - ``other_share``: the pronoun's attention on the other noun;
    - ``agreement_share``: the attention of the position before was/were (N2) on N1 (agreement sentences);
    - ``previous_share``: every position's attention on the position just before it.
    """
    _, maps = model.attention_maps(batch.tokens[:, :-1])  # (N, layers, heads, T, T)
    rows = torch.arange(len(batch.tokens))
    cue_rows = maps[rows, :, :, batch.cue]  # (N, layers, heads, T): each sentence's cue row
    at = cue_rows.gather(-1, batch.referent[:, None, None, None].expand(*cue_rows.shape[:3], 1))[..., 0]
    off = cue_rows.gather(-1, batch.other[:, None, None, None].expand(*cue_rows.shape[:3], 1))[..., 0]
    t = maps.shape[-1]
    previous = maps.diagonal(offset=-1, dim1=-2, dim2=-1)  # (N, layers, heads, T - 1)
    real = (batch.tokens[:, 1:t] != INDEX[PAD])[:, None, None, :]  # positions 1.. that hold a word
    return {"referent_share": at[batch.pronoun].mean(0), "other_share": off[batch.pronoun].mean(0),
            "agreement_share": at[~batch.pronoun].mean(0),
            "previous_share": (previous * real).sum((0, 3)) / real.sum((0, 3)).clamp(min=1)}


@dataclass(frozen=True)
class LanguageRecord:
    step: int
    loss: float  # next-word cross-entropy of the last training batch (held-out at step 0)
    pronoun_acc: float  # held-out pronoun sentences whose SOUND is predicted right
    agreement_acc: float  # held-out agreement sentences whose was/were is predicted right
    seconds: float  # wall-clock time since training started, evaluations included
    cpu_seconds: float  # CPU time this training's thread has used
    attention: Tensor  # (layers, heads, T, T): the fixed example's attention at this step
    shares: dict  # head_shares on the held-out probe sentences at this step, each (layers, heads)
    lens: Tensor | None = None  # (layers + 1, T): the logit lens on the example: each read-out's p(right next word)
    lens_top: Tensor | None = None  # (layers + 1, T): each read-out's likeliest next word

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in TENSORS}


def _loss(model: Decoder, tokens: Tensor) -> Tensor:
    logits = model(tokens[:, :-1])  # (B, T - 1, V)
    return F.cross_entropy(logits.reshape(-1, len(VOCAB)), tokens[:, 1:].reshape(-1), ignore_index=INDEX[PAD])


def train_language_model(config: LanguageConfig = LanguageConfig(), model: Decoder | None = None
                         ) -> Iterator[LanguageRecord]:
    """Train on freshly generated sentences (AdamW, warm-up then cosine decay) and yield a record about 30 times,
    step 0 included. Deterministic per seed (the clocks aside)."""
    model = build_language_model(config) if model is None else model
    evaluation = held_out(config.seed)
    probe = Batch(*(getattr(evaluation, f.name)[::5] for f in fields(Batch)))  # 400 sentences for the shares
    example = encode(EXAMPLES[0])

    def record(step: int, loss: float | None, t0: float, c0: float) -> LanguageRecord:
        pronoun, agreement = accuracies(model, evaluation)
        _, maps = model.attention_maps(example)
        shares = head_shares(model, probe)
        held = _loss(model, evaluation.tokens).item() if loss is None else loss
        return LanguageRecord(step, held, pronoun, agreement, time.perf_counter() - t0, time.thread_time() - c0,
                              maps[0], shares, *next_token_lens(model, example[:, :-1], example[:, 1:]))

    yield from train_steps(config, model, lambda g: _loss(model, draw_sentences(config.batch_size, g).tokens), record)
