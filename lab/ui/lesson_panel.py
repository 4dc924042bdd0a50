"""A lesson over the real pages: a panel at the top of the page with the step, its text, a prediction to make before
the app reveals the answer it computes, and Back / Next. ``run(page)`` (from app.py) draws it around the page.

Where a lesson stands is kept in the URL (``lesson=shapes&step=3``, so a link resumes it) and in the session. A step
opens its page with its settings through the page's own link state (the same as a shared link). Predictions live in
the session; the class view (``teacher=1``) shows how the sessions' predictions split, counts only.
"""
from __future__ import annotations

import logging

import streamlit as st

from lab.analyses import lessons
from lab.analyses.lessons import CHOICE, Lesson, Verdict, judge, normalise
from lab.analyses.predictions import ANSWERS, Reveal
from lab.server.class_answers import CLASSROOM
from lab.ui import page_fields
from lab.ui.draw import md_escape, table
from lab.ui.links import address, history_navigation, parse_flag, starting_values

STATE, GO, PREDICTED, MARKED = "_lesson", "_lesson_go", "_lesson_predictions", "_lesson_marked"
FOUND = {"train": "train_result", "study": "study_result", "language": "language_result", "sequence": "seq_result"}


@st.cache_resource(show_spinner=False)
def load() -> tuple[list[Lesson], str | None]:
    """Every lesson, checked once per server; (lessons, None), or ([], what is wrong, naming the file and step)."""
    try:
        return lessons.load(page_fields.parsers()), None
    except lessons.LessonError as err:
        return [], str(err)


def check() -> None:
    """Load the lessons (at start-up, from the warm-up thread): a file that cannot be used is logged by name."""
    error = load()[1]
    if error:
        logging.getLogger(__name__).error("Lessons not offered: %s", error)


def find(lesson_id: str) -> Lesson | None:
    return next((lesson for lesson in load()[0] if lesson.id == lesson_id), None)


def teacher() -> bool:
    if parse_flag(st.query_params.get("teacher")):
        st.session_state["teacher"] = True
    return bool(st.session_state.get("teacher"))


def position() -> tuple[Lesson, int] | None:
    """The lesson this session is in and its step (0-based; len(steps) is the summary): the URL's, else the
    session's."""
    lesson_id, step = st.query_params.get("lesson"), st.query_params.get("step")
    if lesson_id is None:
        kept = st.session_state.get(STATE)
        lesson_id, step = (kept["lesson"], kept["step"]) if kept else (None, None)
    lesson = find(lesson_id) if lesson_id else None
    if lesson is None:
        st.session_state.pop(STATE, None)
        return None
    try:
        index = min(max(int(step) - 1, 0), len(lesson.steps))
    except (TypeError, ValueError):
        index = 0
    st.session_state[STATE] = {"lesson": lesson.id, "step": str(index + 1)}  # what every page's link carries
    return lesson, index


def start(lesson_id: str, index: int = 0) -> None:
    """Open a lesson at a step on the next run (a button's callback)."""
    st.session_state[GO] = (lesson_id, index)


def leave() -> None:
    st.session_state.pop(STATE, None)
    for key in ("lesson", "step"):
        st.query_params.pop(key, None)


def _go(page) -> None:
    """A step chosen by Back, Next or a lesson's Start: open its page with its settings (its link reads them as it
    would a shared link's, the rest at their defaults)."""
    lesson_id, index = st.session_state.pop(GO)
    lesson = find(lesson_id)
    if lesson is None:
        return
    st.session_state[STATE] = where = {"lesson": lesson.id, "step": str(index + 1)}
    if index >= len(lesson.steps):  # the summary: stay where the student is
        st.query_params.from_dict({**st.query_params.to_dict(), **where})
        return
    # the address exactly as the page's link will publish it, so that the step is one entry in the browser's
    # history, not two
    step = lesson.steps[index]
    query = address(page_fields.fields(step.page), step_values(step))
    st.session_state[f"_reload_{step.page}"] = True
    if page.url_path != step.page:
        st.switch_page(page_fields.SCRIPTS[step.page], query_params=query)
    st.query_params.from_dict(query)


def opened(page) -> None:
    """A session's first run, from a link into a lesson: on another page than the step's, or with none of that
    page's settings (a link written by hand, ``?lesson=shapes&step=4``), the step opens as Next would open it; a
    link that carries the page's settings (shared mid-step) shows those."""
    here = position()
    if here is None or here[1] >= len(here[0].steps):
        return
    step = here[0].steps[here[1]]
    if page.url_path != step.page or not any(name in st.query_params for name in page_fields.fields(step.page)):
        start(here[0].id, here[1])


def run(page) -> None:
    """The page, with the lesson's panel above it when a lesson is open. The panel's reveal is drawn before the page
    (from the settings this run will show) and drawn again once the page has run, from the numbers it has just
    computed (a page that stops early, with a message in place of its results, keeps the first)."""
    teacher()
    if STATE not in st.session_state and "lesson" in st.query_params:
        opened(page)
    if GO in st.session_state:
        _go(page)
    here = position()
    last = st.session_state.get("_lesson_last_page")
    st.session_state["_lesson_last_page"] = page.url_path
    after = panel(*here, page.url_path, same_page=last == page.url_path) if here else None
    page.run()
    if after:
        after()


# ------------------------------------------------------------------ the panel
def step_values(step) -> dict:
    """Every setting of the step's page: the step's own, the others at their defaults."""
    return {name: f.parse(step.settings[name]) if name in step.settings else f.default
            for name, f in page_fields.fields(step.page).items()}


def settings_for(page: str, step, here: str = "", same_page: bool = False) -> dict:
    """The page's settings as this run shows them. On the page itself, before it runs: what its link will read
    (the address after a lesson step, Back or Forward; otherwise what it kept), with each control's state in
    place where the last run drew it. Elsewhere: as the page was left, else the step's over the defaults."""
    kept = st.session_state.get(f"_link_{page}")
    if here != page:
        return dict(kept) if kept is not None else step_values(step)
    fields = page_fields.fields(page)
    reread = history_navigation() or st.session_state.get(f"_reload_{page}", False)
    values, _ = starting_values(fields, kept or {}, reread)
    if same_page and not reread:  # a control moved in this run holds its new value already
        values |= {name: st.session_state[name] for name in fields if name in st.session_state}
    return values


def found() -> dict:
    return {name: st.session_state.get(key) for name, key in FOUND.items()}


def reveal(answer_name: str, settings: dict) -> Reveal:
    """The computed answer, kept for the session while the settings and the results it reads stay the same."""
    results = found()
    key = (answer_name, repr(sorted(settings.items())), tuple(id(v) for v in results.values()))
    memo = st.session_state.setdefault("_lesson_reveals", {})
    if key not in memo:
        if len(memo) > 64:
            memo.clear()
        memo[key] = ANSWERS[answer_name].compute(settings, results)
    return memo[key]


def panel(lesson: Lesson, index: int, here: str, same_page: bool = False):
    """The panel; returns what redraws its reveal once the page has run (None when it has none)."""
    n = len(lesson.steps)
    with st.container(border=True, key="lesson_panel"):
        if index >= n:
            summary(lesson)
            return None
        step = lesson.steps[index]
        st.markdown(f"**Lesson: {md_escape(lesson.title)}** · step {index + 1} of {n}")
        st.progress((index + 1) / n)
        if here != step.page:
            st.info("This step is on another page.", icon=":material/arrow_forward:")
            st.button("Open this step's page", on_click=start, args=(lesson.id, index), key="lesson_open",
                      icon=":material/open_in_new:")
        st.markdown(step.text)
        after = question(lesson, index, step, here, same_page) if step.answer else None
        buttons(lesson, index)
    return after


def question(lesson: Lesson, index: int, step, here: str, same_page: bool):
    answer = ANSWERS[step.answer]
    predicted = st.session_state.setdefault(PREDICTED, {}).setdefault(lesson.id, {})
    st.markdown(f"**Predict:** {step.ask}")
    settings = settings_for(step.page, step, here, same_page)
    if index not in predicted:
        with st.form(f"predict_{lesson.id}_{index}", border=False):
            if answer.kind == CHOICE:
                given = st.radio("your prediction", answer.options(settings), index=None, key=f"p_{lesson.id}_{index}")
            else:
                given = st.text_input("your prediction", key=f"p_{lesson.id}_{index}", max_chars=40,
                                      placeholder="e.g. 4, 7" if answer.kind == "shape" else "a number")
            sent = st.form_submit_button("Check my prediction", type="primary", icon=":material/visibility:")
        if not sent:
            return None
        if not given or normalise(answer.kind, given) is None:
            st.warning("Make a prediction first: " + ("pick one." if answer.kind == CHOICE else
                       "a shape as numbers, such as 4, 7." if answer.kind == "shape" else "a number."))
            return None
        predicted[index] = given
        from lab.ui.progress import session_id  # here, not at the top: it loads torch, which the home page must not

        CLASSROOM.record(lesson.id, index, session_id(), normalise(answer.kind, given))
    given = predicted[index]
    box = st.empty()
    mark = st.session_state.setdefault(MARKED, {}).setdefault(lesson.id, {})
    mark[index] = verdict(box, answer.kind, given, reveal(step.answer, settings), here == step.page)
    st.button("Change my prediction", key=f"again_{lesson.id}_{index}", on_click=unsay, args=(lesson.id, index),
              icon=":material/undo:")
    if teacher():
        class_view(lesson, index)
    if here != step.page:
        return None

    def after():  # the page has run: its link holds exactly what it showed, and its trainings are in the session
        mark[index] = verdict(box, answer.kind, given, reveal(
            step.answer, dict(st.session_state.get(f"_link_{step.page}", {})) or settings), True)

    return after


def unsay(lesson_id: str, index: int) -> None:
    for key in (PREDICTED, MARKED):
        st.session_state.get(key, {}).get(lesson_id, {}).pop(index, None)


def verdict(box, kind: str, given: str, shown: Reveal, on_page: bool) -> Verdict:
    """The prediction marked, drawn into ``box``; returned, so the summary shows it as the student saw it."""
    v = judge(kind, given, shown)
    where = "" if on_page else " (from this page's settings as you left them)"
    if v.right is True:
        box.success(f"Your prediction: **{md_escape(given)}**: right{where}. {v.text}", icon=":material/check:")
    elif v.right is False:
        box.error(f"Not quite{where}. {v.text}", icon=":material/lightbulb:")
    else:
        box.info(f"Your prediction: **{md_escape(given)}**. {v.text}", icon=":material/hourglass_top:")
    return v


def class_view(lesson: Lesson, index: int) -> None:
    split = CLASSROOM.split(lesson.id, index)
    total = sum(split.values())
    if not total:
        st.caption("Class view: no session has predicted at this step yet.")
        return
    st.caption(f"Class view: {total} session{'s' if total != 1 else ''} predicted at this step (this server, counts "
               "only).")
    table([{"prediction": a, "sessions": c, "share": f"{c / total:.0%}"} for a, c in split.most_common()])


def buttons(lesson: Lesson, index: int) -> None:
    back, forward, out = st.columns(3)
    back.button("Back", on_click=start, args=(lesson.id, index - 1), disabled=index == 0, key="lesson_back",
                icon=":material/arrow_back:", width="stretch")
    last = index == len(lesson.steps) - 1
    forward.button("Finish" if last else "Next", on_click=start, args=(lesson.id, index + 1), key="lesson_next",
                   type="primary", icon=":material/flag:" if last else ":material/arrow_forward:", width="stretch")
    out.button("Leave", on_click=leave, key="lesson_leave", icon=":material/close:", width="stretch",
               help="Close the lesson; the page stays as it is.")


def summary(lesson: Lesson) -> None:
    """The lesson's end: every question, the student's prediction and how it was marked."""
    predicted = st.session_state.get(PREDICTED, {}).get(lesson.id, {})
    marked = st.session_state.get(MARKED, {}).get(lesson.id, {})  # each as the step last showed it
    rows = lessons.summary_rows(lesson, predicted, marked)
    st.markdown(f"**Lesson: {md_escape(lesson.title)}** · your predictions")
    st.markdown(lessons.tally(rows))
    table(rows)
    back, again, out = st.columns(3)
    back.button("Back", on_click=start, args=(lesson.id, len(lesson.steps) - 1), key="lesson_back",
                icon=":material/arrow_back:", width="stretch")
    again.button("Start again", on_click=restart, args=(lesson.id,), key="lesson_again", icon=":material/replay:",
                 width="stretch")
    out.button("Leave", on_click=leave, key="lesson_leave", icon=":material/close:", width="stretch")


def restart(lesson_id: str) -> None:
    for key in (PREDICTED, MARKED):
        st.session_state.setdefault(key, {}).pop(lesson_id, None)
    start(lesson_id, 0)
