"""Test yourself: random shape questions, answers in the forms students type, and explanations of wrong ones.

The right answers come from the package itself (``self_attention_shapes`` and ``multi_head_attention``, run on
the meta device), never from a table. No streamlit here, so the grading is unit-tested.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

_SEP = r"(?:\s*(?:,|x|×|\*|by)\s*|\s+)"  # a comma, x, ×, * or "by" (spaces around allowed), or spaces alone
SHAPE_PATTERN = re.compile(r"^[\[\(\{]?\s*(\d+(?:" + _SEP + r"\d+)*)\s*[\]\)\}]?$", re.IGNORECASE)


def parse_shape(text: str) -> tuple[int, ...] | None:
    """'768, 6', '[768, 6]', '(768,6)', '768x6', '768 × 6', '768 6' -> (768, 6); anything else -> None."""
    if text is None:
        return None
    m = SHAPE_PATTERN.match(text.strip())
    if not m:
        return None
    return tuple(int(n) for n in re.split(_SEP, m.group(1), flags=re.IGNORECASE))


@dataclass(frozen=True)
class Item:
    name: str  # the tensor asked about
    shape: tuple[int, ...]  # the right answer
    axes: tuple[str, ...]  # what each axis is, e.g. ("d_model", "tokens")
    why: str  # one sentence on where the shape comes from


@dataclass(frozen=True)
class Question:
    setting: str  # the configuration, in words
    items: list[Item]
    sizes: dict[str, int] = field(default_factory=dict)  # named sizes, to recognise a value put on the wrong axis


def placeholder(n_axes: int) -> str:
    """A hint in the answer box with as many numbers as the answer has axes (not the answer itself)."""
    return "e.g. " + ", ".join(str(d) for d in (4, 7, 2, 9, 3, 5)[:n_axes])


@dataclass
class Scoreboard:
    """A session's test-yourself score: one marking per question, so checking the same question twice does not
    count it twice; checking it again with other answers replaces its marking."""

    marks: dict[int, tuple[int, int]] = field(default_factory=dict)  # question seed -> (right, asked)

    def record(self, question: int, right: int, asked: int) -> None:
        self.marks[question] = (right, asked)

    def totals(self) -> tuple[int, int]:
        return sum(r for r, _ in self.marks.values()), sum(a for _, a in self.marks.values())

    @property
    def questions(self) -> int:
        return len(self.marks)


def fmt(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def explain(item: Item, given: tuple[int, ...] | None, sizes: dict[str, int]) -> str | None:
    """None when ``given`` is right; otherwise a sentence saying which axis is wrong and why."""
    if given is None:
        return f"Write the shape as numbers, for example {fmt(item.shape)} or {'x'.join(map(str, item.shape))}."
    if tuple(given) == item.shape:
        return None
    layout = " × ".join(item.axes)
    if len(given) != len(item.shape):
        return (f"{item.name} has {len(item.shape)} axes ({layout}), you gave {len(given)}. {item.why}")
    if tuple(reversed(given)) == item.shape:
        return f"The axes are swapped: {item.name} is {layout} = {fmt(item.shape)}. {item.why}"
    wrong = []
    for i, (g, want, axis) in enumerate(zip(given, item.shape, item.axes, strict=True)):
        if g != want:
            named = [k for k, v in sizes.items() if v == g and k != axis]
            hint = f" ({named[0]} is {g})" if named else ""
            wrong.append(f"axis {i} is {axis} = {want}, you wrote {g}{hint}")
    return f"{item.name} is {layout} = {fmt(item.shape)}: " + "; ".join(wrong) + f". {item.why}"


def shapes_question(seed: int) -> Question:
    """A self-attention shapes question in the coursework's columns layout (X is d_model x tokens)."""
    from transformer.shapes import self_attention_shapes

    rng = random.Random(seed)
    d_model = rng.choice([64, 128, 256, 512, 768, 1024])
    n = rng.choice([3, 4, 5, 6, 7, 8, 10, 12, 16])
    d_k = rng.choice([d_model, d_model, 64, 32])
    s = self_attention_shapes(d_model, n, d_k, "columns")
    items = [
        Item("Q", s["Q"], ("d_k", "tokens"), "Q = W^Q X: [d_k, d_model] × [d_model, tokens]."),
        Item("K", s["K"], ("d_k", "tokens"), "K = W^K X, shaped like Q."),
        Item("scores KᵀQ", s["scores"], ("tokens (keys)", "tokens (queries)"),
             "KᵀQ is [tokens, d_k] × [d_k, tokens]: one score per pair of tokens (QKᵀ here would be d_k × d_k)."),
        Item("Attention(Q, K, V)", s["output"], ("d_v", "tokens"), "V A: [d_v, tokens] × [tokens, tokens]."),
    ]
    setting = f"X is [{d_model}, {n}] (d_model × tokens), W^Q, W^K, W^V are [{d_k}, {d_model}] (so d_k = d_v = {d_k})."
    return Question(setting, items, {"d_model": d_model, "tokens": n, "d_k": d_k})


def multihead_question(seed: int) -> Question:
    """A multi-head shapes question on the coursework's einsum code."""
    import torch

    from transformer.multihead import multi_head_attention

    rng = random.Random(seed)
    batch = rng.choice([1, 2, 4, 8])
    t = rng.choice([3, 5, 7, 10, 16])
    heads = rng.choice([2, 4, 6, 8, 12, 16])
    head_dim = rng.choice([16, 32, 64])
    e = heads * head_dim
    w = torch.empty(e, e, device="meta")
    r = multi_head_attention(torch.empty(batch, t, e, device="meta"), w, w, w, heads)
    items = [
        Item("qis", tuple(r.qis.shape), ("batch", "tokens", "E"),
             "einsum('BSE,EH->BSH'): a projection keeps batch and tokens."),
        Item("qis_mh", tuple(r.qis_mh.shape), ("batch", "tokens", "heads", "head_dim"),
             "view splits E into heads × head_dim, with head_dim = E / heads."),
        Item("attmat_mh", tuple(r.attmat_mh.shape), ("batch", "heads", "query tokens", "key tokens"),
             "einsum('BSCH,BTCH->BCST'): one tokens × tokens matrix per head."),
        Item("zis_mh", tuple(r.zis_mh.shape), ("batch", "tokens", "heads", "head_dim"),
             "einsum('BCST,BTCH->BSCH'): each head's weighted sum, back in the qis_mh layout."),
        Item("zis", tuple(r.zis.shape), ("batch", "tokens", "E"),
             "reshape joins the heads again: heads × head_dim = E."),
    ]
    setting = f"tokens is [{batch}, {t}, {e}] (batch × tokens × E) and there are {heads} heads."
    return Question(setting, items, {"batch": batch, "tokens": t, "E": e, "heads": heads, "head_dim": head_dim})
