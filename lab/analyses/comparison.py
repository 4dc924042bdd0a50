"""Pinned runs compared (pages 4 and 6), as plain Python: a pin is a run's settings; pins travel in the URL as text;
each is trained again or served from the server's finished jobs; the comparison's curves, table and sentence are
built from their records. No streamlit here.

A page describes its pins with a ``PinSpec``: which settings a pin keeps (their defaults and parsers), how a pin
becomes a config, and how to read a record (x, accuracy, loss).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from lab.server.requests import Bar, Progress, changes, progress_of

MAX_PINS = 4


@dataclass(frozen=True)
class PinSpec:
    defaults: dict  # setting -> default (the page's)
    parsers: dict  # setting -> parser of the URL's text (ValueError for a value the page cannot use)
    names: dict  # setting -> its words in a label ("d_model", "learning rate", ...)
    config: Callable[[dict], object]  # a pin's settings -> the config that trains it
    x: str  # the records' x field: "epoch" or "step"
    accuracy: Callable[[object], float]  # a record -> its accuracy, 0..1
    loss: Callable[[object], float]  # a record -> its loss
    accuracy_name: str  # "validation accuracy", ...
    loss_name: str
    formats: dict = field(default_factory=dict)  # setting -> how its value is shown (a share as a percentage, ...)

    def show(self, name: str, value) -> str:
        return self.formats[name](value) if name in self.formats else _text(value)


def integer(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not lo <= value <= hi:
            raise ValueError(f"outside {lo}..{hi}")
        return value

    return parse


def choice(options) -> Callable[[str], object]:
    by_text = {_text(o): o for o in options}

    def parse(raw: str):
        if raw not in by_text:
            raise ValueError(f"{raw[:20]!r} is not one of the choices")
        return by_text[raw]

    return parse


def boolean(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError("not 0 or 1")
    return raw == "1"


def encode(spec: PinSpec, pins: list[dict]) -> str:
    """Pins as URL text: each its settings that differ from the defaults as ``name:value`` joined by commas ("-" for
    none), pins joined by "|"."""
    def one(pin: dict) -> str:
        return ",".join(f"{k}:{_text(v)}" for k, v in pin.items() if v != spec.defaults[k]) or "-"

    return "|".join(one(p) for p in pins)


def _text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return f"{value:g}" if isinstance(value, float) else str(value)


def decode(spec: PinSpec, text: str) -> list[dict]:
    """URL text -> pins (each with every setting). ValueError, naming what is wrong, for anything the page cannot
    use or for more than ``MAX_PINS`` pins."""
    if not text:
        return []
    parts = text.split("|")
    if len(parts) > MAX_PINS:
        raise ValueError(f"{len(parts)} pins; at most {MAX_PINS}")
    pins = []
    for part in parts:
        pin = dict(spec.defaults)
        for item in ([] if part == "-" else part.split(",")):
            name, sep, raw = item.partition(":")
            if not sep or name not in spec.parsers:
                raise ValueError(f"{item[:30]!r} is not a setting a pin keeps")
            pin[name] = spec.parsers[name](raw)
        pins.append(pin)
    return pins


def differing(pins: list[dict]) -> list[str]:
    """The settings whose value is not the same in every pin, in the settings' order."""
    return [k for k in pins[0] if len({repr(p[k]) for p in pins}) > 1] if pins else []


def labels(spec: PinSpec, pins: list[dict]) -> list[str]:
    """Each pin named by what differs from the others ("d_model 32", "d_model 64"); pins that differ in nothing
    are numbered."""
    keys = differing(pins)
    if not keys:
        return [f"run {i + 1}" for i in range(len(pins))]
    return [", ".join(f"{spec.names.get(k, k)} {spec.show(k, p[k])}" for k in keys) for p in pins]


@dataclass(frozen=True)
class PinsRequest:
    """The pinned runs' trainings: each trained once (or served from the finished jobs the server keeps)."""

    configs: tuple
    shrink = "fewer pins"

    @property
    def bounded(self) -> bool:  # each pin was a run the page allowed; four at most
        return False

    def trainings(self) -> list:
        return list(dict.fromkeys(self.configs))

    def settings(self) -> dict:
        return {f"pin {i + 1}": repr(c) for i, c in enumerate(self.configs)}

    def differences(self, other) -> list[str]:
        return changes(self.settings(), other.settings())

    def snapshot(self, jobs: dict) -> PinsSnapshot:
        records = {c: list(j.records) for c, j in jobs.items()}
        bars = [Bar(f"pinned run {i + 1}", *_progress(c, records.get(c, []))) for i, c in enumerate(self.trainings())]
        return PinsSnapshot(**progress_of(jobs, bars), records=records)


def _progress(config, records: list) -> tuple[int, int, str]:
    """(done, total, unit) of one pinned training: epochs for the classifier, steps for a decoder."""
    if hasattr(config, "epochs"):
        return len(records), config.epochs, "epoch"
    return (records[-1].step if records else 0), config.steps, "step"


@dataclass
class PinsSnapshot(Progress):
    records: dict = field(default_factory=dict)  # config -> its records


def frame(spec: PinSpec, names: list[str], records: list[list]) -> pd.DataFrame:
    """Every pin's curves: a row per (pin, record) with its accuracy and loss."""
    rows = [{"run": name, spec.x: getattr(r, spec.x), "accuracy": spec.accuracy(r), "loss": spec.loss(r)}
            for name, recs in zip(names, records, strict=True) for r in recs]
    return pd.DataFrame(rows, columns=["run", spec.x, "accuracy", "loss"])


DIFFERS = " ≠"  # marks the heading of a setting that differs between the pins (besides its colour)


def table(spec: PinSpec, pins: list[dict], names: list[str], records: list[list]) -> pd.DataFrame:
    """A row per pin: every setting (a setting that differs between the pins has ``DIFFERS`` after its name), the
    final accuracy and loss, and the CPU time its training took."""
    keys = set(differing(pins))
    rows = []
    for pin, name, recs in zip(pins, names, records, strict=True):
        last = recs[-1]
        rows.append({"run": name, **{spec.names.get(k, k) + (DIFFERS if k in keys else ""): spec.show(k, v)
                                     for k, v in pin.items()},
                     spec.accuracy_name: f"{spec.accuracy(last):.1%}", spec.loss_name: f"{spec.loss(last):.3f}",
                     "CPU time (s)": f"{last.cpu_seconds:.1f}"})
    return pd.DataFrame(rows)


def seed_spread(pins: list[dict], finals: list[float]) -> float | None:
    """The largest difference in final accuracy between pins that differ only in their seed (None if none do)."""
    spread = None
    for i in range(len(pins)):
        for j in range(i + 1, len(pins)):
            if differing([pins[i], pins[j]]) == ["seed"]:
                gap = abs(finals[i] - finals[j])
                spread = gap if spread is None else max(spread, gap)
    return spread


def sentence(spec: PinSpec, names: list[str], finals: list[float], yardstick: float | None, source: str) -> str:
    """Which pin is best and by how much, and whether that is more than the spread between seeds (``yardstick``,
    a difference in accuracy measured by ``source``; None when nothing has measured it)."""
    if len(finals) < 2:
        return "Pin another run to compare: change a setting, train, and pin it."
    order = sorted(range(len(finals)), key=lambda i: -finals[i])
    best, second = order[0], order[1]
    gap = 100 * (finals[best] - finals[second])
    text = (f"**{names[best]}** ends with the highest {spec.accuracy_name}, {finals[best]:.1%}: {gap:.1f} points "
            f"above **{names[second]}** ({finals[second]:.1%}).")
    if yardstick is None:
        return text + (" Each run has one seed, so part of that gap may be chance: pin the same settings with "
                       "another seed to see how far seeds alone move it.")
    spread = 100 * yardstick
    if gap > spread:
        return text + (f" That is more than the {spread:.1f} points that seeds alone moved it ({source}), so the "
                       "setting, not chance, makes the difference.")
    return text + (f" That is within the {spread:.1f} points that seeds alone moved it ({source}): on this evidence "
                   "the two are not told apart.")
