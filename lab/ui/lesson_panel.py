"""A lesson over the real pages: a panel at the top of the page with the step, its text, a prediction to make before
the app reveals the answer it computes, and Back / Next. ``run(page)`` (from app.py) draws it around the page.

Where a lesson stands is kept in the URL (``lesson=shapes&step=3``, so a link resumes it) and in the session. A step
opens its page with its settings through the page's own link state (the same as a shared link). Predictions live in
the session; the class view (``teacher=1``) shows how the sessions' predictions split, counts only.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from lab.analyses import lessons as lessons_data
from lab.analyses.lessons import CHOICE, Lesson, judge, normalise
from lab.analyses.predictions import ANSWERS, Reveal
from lab.server.class_answers import CLASSROOM
from lab.ui import page_fields
from lab.ui.draw import md_escape, table
from lab.ui.links import parse_flag
from lab.ui.progress import session_id

STATE, GO, PREDICTED = "_lesson", "_lesson_go", "_lesson_predictions"
FOUND = {"train": "train_result", "study": "study_result", "language": "language_result", "sequence": "seq_result"}


@st.cache_resource(show_spinner=False)
def load() -> tuple[list[Lesson], str | None]:
    """Every lesson, checked once per server; (lessons, None), or ([], what is wrong, naming the file and step)."""
    try:
        return lessons_data.load(page_fields.parsers()), None
    except lessons_data.LessonError as err:
        return [], str(err)


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
    st.session_state[STATE] = {"lesson": lesson.id, "step": str(index + 1)}
    query = {"lesson": lesson.id, "step": str(index + 1)}
    for flag in ("projector", "teacher"):
        if st.session_state.get(flag):
            query[flag] = "1"
    if index >= len(lesson.steps):  # the summary: stay where the student is
        st.query_params.update(query)
        return
    step = lesson.steps[index]
    query |= step.settings
    st.session_state[f"_reload_{step.page}"] = True
    if page.url_path != step.page:
        st.switch_page(page_fields.SCRIPTS[step.page], query_params=query)
    st.query_params.from_dict(query)


def run(page) -> None:
    """The page, with the lesson's panel above it when a lesson is open. The panel is filled after the page has run,
    so its reveal reads the numbers the page has just computed."""
    teacher()
    if GO in st.session_state:
        _go(page)
    here = position()
    slot = st.container() if here else None
    try:
        page.run()
    except StopException:  # the page stopped early (a message in place of its results): the panel is still drawn
        pass
    if here:
        with slot:
            panel(*here, page.url_path)


# ------------------------------------------------------------------ the panel
def settings_for(page: str, step) -> dict:
    """The page's settings as it now shows them (kept by its link), else the step's over the defaults."""
    kept = st.session_state.get(f"_link_{page}")
    if kept is not None:
        return dict(kept)
    fields = page_fields.fields(page)
    return {name: f.parse(step.settings[name]) if name in step.settings else f.default for name, f in fields.items()}


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


def panel(lesson: Lesson, index: int, here: str) -> None:
    n = len(lesson.steps)
    with st.container(border=True, key="lesson_panel"):
        if index >= n:
            summary(lesson)
            return
        step = lesson.steps[index]
        st.markdown(f"**Lesson: {md_escape(lesson.title)}** · step {index + 1} of {n}")
        st.progress((index + 1) / n)
        if here != step.page:
            st.info("This step is on another page.", icon=":material/arrow_forward:")
            st.button("Open this step's page", on_click=start, args=(lesson.id, index), key="lesson_open",
                      icon=":material/open_in_new:")
        st.markdown(step.text)
        if step.answer:
            question(lesson, index, step, here == step.page)
        buttons(lesson, index)


def question(lesson: Lesson, index: int, step, on_page: bool) -> None:
    answer = ANSWERS[step.answer]
    predicted = st.session_state.setdefault(PREDICTED, {}).setdefault(lesson.id, {})
    st.markdown(f"**Predict:** {step.ask}")
    settings = settings_for(step.page, step)
    if index not in predicted:
        with st.form(f"predict_{lesson.id}_{index}", border=False):
            if answer.kind == CHOICE:
                given = st.radio("your prediction", answer.options(settings), index=None, key=f"p_{lesson.id}_{index}")
            else:
                given = st.text_input("your prediction", key=f"p_{lesson.id}_{index}", max_chars=40,
                                      placeholder="e.g. 4, 7" if answer.kind == "shape" else "a number")
            sent = st.form_submit_button("Check my prediction", type="primary", icon=":material/visibility:")
        if not sent:
            return
        if not given or normalise(answer.kind, given) is None:
            st.warning("Make a prediction first: " + ("pick one." if answer.kind == CHOICE else
                       "a shape as numbers, such as 4, 7." if answer.kind == "shape" else "a number."))
            return
        predicted[index] = given
        CLASSROOM.record(lesson.id, index, session_id(), normalise(answer.kind, given))
    given = predicted[index]
    verdict = judge(answer.kind, given, reveal(step.answer, settings))
    where = "" if on_page else " (from this page's settings as you left them)"
    if verdict.right is True:
        st.success(f"Your prediction: **{md_escape(given)}**: right{where}. {verdict.text}", icon=":material/check:")
    elif verdict.right is False:
        st.error(f"Not quite{where}. {verdict.text}", icon=":material/lightbulb:")
    else:
        st.info(f"Your prediction: **{md_escape(given)}**. {verdict.text}", icon=":material/hourglass_top:")
    st.button("Change my prediction", key=f"again_{lesson.id}_{index}", on_click=predicted.pop, args=(index, None),
              icon=":material/undo:")
    if teacher():
        class_view(lesson, index)


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
    verdicts = {}
    for i, step in enumerate(lesson.steps):
        if step.answer and i in predicted:
            settings = settings_for(step.page, step)
            verdicts[i] = judge(ANSWERS[step.answer].kind, predicted[i], reveal(step.answer, settings))
    rows = lessons_data.summary_rows(lesson, predicted, verdicts)
    st.markdown(f"**Lesson: {md_escape(lesson.title)}** · your predictions")
    st.markdown(lessons_data.tally(rows))
    table(rows)
    back, again, out = st.columns(3)
    back.button("Back", on_click=start, args=(lesson.id, len(lesson.steps) - 1), key="lesson_back",
                icon=":material/arrow_back:", width="stretch")
    again.button("Start again", on_click=restart, args=(lesson.id,), key="lesson_again", icon=":material/replay:",
                 width="stretch")
    out.button("Leave", on_click=leave, key="lesson_leave", icon=":material/close:", width="stretch")


def restart(lesson_id: str) -> None:
    st.session_state.setdefault(PREDICTED, {}).pop(lesson_id, None)
    start(lesson_id, 0)
