"""Lessons as data: each a TOML file in ``lessons/``, read and checked here, and a prediction marked against the
answer the app computes (``lab.analyses.predictions``). No streamlit here.

A lesson file holds a ``title``, a ``summary`` and ``[[steps]]``; a step names a ``page`` (its link's name), the
``settings`` it opens with, its ``text``, and usually a question: ``ask`` (the words) and ``answer`` (the name of the
function in ``predictions.ANSWERS`` that computes the right answer; never a value). ``load`` checks all of it and
names the file and step of the first thing wrong.
"""
from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab.analyses import quiz
from lab.analyses.predictions import ANSWERS, CHOICE, NUMBER, SHAPE, Answer, Reveal, fmt

FOLDER = Path(__file__).resolve().parents[2] / "lessons"
STEP_KEYS = {"page", "settings", "text", "ask", "answer"}
MAX_STEPS = 40


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the step."""


@dataclass(frozen=True)
class Step:
    page: str  # the page's link name ("shapes", "training", ...)
    text: str  # markdown
    settings: dict = field(default_factory=dict)  # setting name -> the text its link reads
    ask: str = ""  # the prediction question ("" for none)
    answer: str = ""  # its entry in predictions.ANSWERS

    @property
    def question(self) -> Answer | None:
        return ANSWERS[self.answer] if self.answer else None


@dataclass(frozen=True)
class Lesson:
    id: str  # the file's name without .toml: what a link says (?lesson=shapes)
    title: str
    summary: str
    steps: tuple[Step, ...]
    order: int = 0  # lessons are listed by this, then by id

    @property
    def questions(self) -> int:
        return sum(1 for s in self.steps if s.answer)


def as_text(value) -> str:
    """A TOML value as a link would carry it (true -> "true", 0.001 -> "0.001")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_lesson(path: Path, text: str, pages: dict[str, dict[str, Callable[[str], object]]]) -> Lesson:
    """One lesson file's text -> a Lesson. ``pages``: each page's settings, name -> a parser of the text a link
    carries (raising ValueError for a value the page cannot use). LessonError names the file and step."""
    name = path.name
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LessonError(f"{name}: this is not valid TOML ({err}).") from None
    title, steps = data.get("title"), data.get("steps")
    if not isinstance(title, str) or not title.strip():
        raise LessonError(f"{name}: the lesson needs a title (title = \"...\").")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
        raise LessonError(f"{name}: the lesson needs at least one step ([[steps]] tables).")
    if len(steps) > MAX_STEPS:
        raise LessonError(f"{name}: {len(steps)} steps; a lesson has at most {MAX_STEPS}.")
    unknown = set(data) - {"title", "summary", "steps", "order"}
    if unknown:
        raise LessonError(f"{name}: unknown key(s) {', '.join(sorted(unknown))} (allowed: title, summary, order, "
                          "steps).")
    return Lesson(path.stem, title.strip(), str(data.get("summary", "")).strip(),
                  tuple(_step(name, i + 1, s, pages) for i, s in enumerate(steps)), int(data.get("order", 0)))


def _step(name: str, number: int, raw: dict, pages: dict) -> Step:
    where = f"{name}, step {number}"
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise LessonError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (a step has "
                          f"{', '.join(sorted(STEP_KEYS))}).")
    page = raw.get("page")
    if page not in pages:
        raise LessonError(f"{where}: page {page!r} is not one of {', '.join(sorted(pages))}.")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LessonError(f"{where}: the step needs a text (text = \"...\").")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise LessonError(f"{where}: settings must be a table, for example settings = {{ d_model = 768 }}.")
    carried = {}
    for key, value in settings.items():
        if key not in pages[page]:
            raise LessonError(f"{where}: page {page!r} has no setting {key!r} (it has "
                              f"{', '.join(sorted(pages[page]))}).")
        try:
            pages[page][key](as_text(value))
        except (ValueError, TypeError) as err:
            raise LessonError(f"{where}: {key} = {value!r} cannot be used on page {page!r} ({err}).") from None
        carried[key] = as_text(value)
    ask, answer = raw.get("ask", ""), raw.get("answer", "")
    if bool(ask) != bool(answer):
        raise LessonError(f"{where}: a question needs both ask (its words) and answer (what computes it).")
    if answer:
        if answer not in ANSWERS:
            raise LessonError(f"{where}: answer {answer!r} is not one the app computes (see "
                              "lab/analyses/predictions.py: " + ", ".join(sorted(ANSWERS)) + ").")
        if ANSWERS[answer].page != page:
            raise LessonError(f"{where}: answer {answer!r} reads page {ANSWERS[answer].page!r}'s settings; this "
                              f"step is on page {page!r}.")
    return Step(page, text.strip(), carried, str(ask).strip(), str(answer))


def load(pages: dict[str, dict[str, Callable[[str], object]]], folder: Path | None = None) -> list[Lesson]:
    """Every lesson in ``folder`` (``FOLDER``: the shipped ones), in order; LessonError for the first file that
    cannot be used."""
    folder = FOLDER if folder is None else folder
    lessons = [parse_lesson(p, p.read_text(encoding="utf-8"), pages) for p in sorted(folder.glob("*.toml"))]
    return sorted(lessons, key=lambda lesson: (lesson.order, lesson.id))


# ------------------------------------------------------------------ marking a prediction
@dataclass(frozen=True)
class Verdict:
    right: bool | None  # None: not marked (the answer is not computed yet, or the prediction is unreadable)
    text: str  # what the numbers show, and about the prediction


def normalise(kind: str, given: str) -> str | None:
    """A prediction as it is counted in the class view: "[768, 6]", "4", an option; None when unreadable."""
    if kind == SHAPE:
        shape = quiz.parse_shape(given)
        return fmt(shape) if shape else None
    if kind == NUMBER:
        try:
            value = float(given.strip())
        except (ValueError, AttributeError):
            return None
        return f"{value:g}" if value == value else None
    return given or None


def judge(kind: str, given: str, reveal: Reveal) -> Verdict:
    """The prediction marked against the computed answer, with the numbers that decide it."""
    if reveal.right is None:
        return Verdict(None, reveal.waiting)
    said = reveal.said
    if kind == SHAPE:
        shape = quiz.parse_shape(given)
        if shape is None:
            return Verdict(None, f"Write a shape as numbers, for example {fmt(reveal.right)} or 4 × 7.")
        if shape == reveal.right:
            return Verdict(True, said)
        slip = reveal.slips.get(shape)
        return Verdict(False, f"You predicted {fmt(shape)}. " + (slip + " " if slip else "")
                       + f"The page computes {fmt(reveal.right)}: {said}")
    if kind == NUMBER:
        shown = normalise(NUMBER, given)
        if shown is None:
            return Verdict(None, "Write a number.")
        ok = abs(float(shown) - float(reveal.right)) <= reveal.tolerance
        return Verdict(ok, said if ok else f"You predicted {shown}; the page computes {reveal.right:g}. {said}")
    ok = given == reveal.right
    return Verdict(ok, said if ok else f"You predicted “{given}”; the numbers say “{reveal.right}”. {said}")


def summary_rows(lesson: Lesson, predictions: dict[int, str], verdicts: dict[int, Verdict]) -> list[dict]:
    """A row per question: the step, what was asked, the student's prediction and how it was marked."""
    rows = []
    for i, step in enumerate(lesson.steps):
        if not step.answer:
            continue
        v = verdicts.get(i)
        mark = ("not answered" if i not in predictions else "right" if v and v.right else
                "wrong" if v and v.right is False else "not revealed yet")
        rows.append({"step": i + 1, "question": step.ask, "your prediction": predictions.get(i, "—"), "marked": mark})
    return rows


def tally(rows: list[dict]) -> str:
    right = sum(r["marked"] == "right" for r in rows)
    wrong = sum(r["marked"] == "wrong" for r in rows)
    open_ = len(rows) - right - wrong
    return (f"{right} of {len(rows)} predictions right, {wrong} wrong"
            + (f", {open_} not answered or not yet revealed" if open_ else "") + ".")


__all__ = ["CHOICE", "SHAPE", "NUMBER", "Lesson", "LessonError", "Step", "Verdict", "judge", "load", "normalise",
           "summary_rows", "tally"]
