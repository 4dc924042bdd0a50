"""Lessons: guided paths through the pages, where the student predicts before the app reveals. In teacher mode
(``?teacher=1``), how the class's predictions split at every step."""
import streamlit as st

from lab.pages import PAGES
from lab.server.class_answers import CLASSROOM
from lab.ui import lesson_panel, table

st.title("Lessons")
st.caption("Each lesson walks part of the coursework on the real pages. At most steps you predict first; then the "
           "page computes the answer live, from its own numbers, and says why. Your predictions stay in this browser "
           "session; the link in the address bar resumes the lesson at its step.")

TITLES = {p.url_path: p.title for p in PAGES}
lessons, error = lesson_panel.load()
if error:
    st.error(f"A lesson file cannot be used, so no lesson is offered until it is mended: {error}",
             icon=":material/error:")
    st.stop()

teacher = lesson_panel.teacher()
predicted = st.session_state.get(lesson_panel.PREDICTED, {})
for number, lesson in enumerate(lessons, 1):
    with st.container(border=True):
        st.markdown(f"**{number}. {lesson.title}**")
        st.caption(f"{lesson.summary} {len(lesson.steps)} steps, {lesson.questions} predictions, on "
                   + ", ".join(dict.fromkeys(TITLES[s.page] for s in lesson.steps)) + ".")
        done = predicted.get(lesson.id, {})
        st.button("Continue" if done else "Start", key=f"start_{lesson.id}", on_click=lesson_panel.start,
                  args=(lesson.id, 0), type="primary", icon=":material/play_arrow:")
        if done:
            st.caption(f"You have predicted at {len(done)} of its {lesson.questions} questions.")
        if teacher:
            with st.expander("Class view: how the predictions split at each step"):
                rows = []
                for i, step in enumerate(lesson.steps):
                    if step.answer:
                        split = CLASSROOM.split(lesson.id, i)
                        total = sum(split.values())
                        top = split.most_common(2)
                        rows.append({"step": i + 1, "question": step.ask, "sessions": total,
                                     "commonest predictions": "; ".join(f"{a}: {c / total:.0%}" for a, c in top)
                                     if total else "—"})
                table(rows)
                st.caption("Counts only, held in this server's memory: no names, nothing stored, gone on restart.")
                st.button("Clear this lesson's counts", key=f"clear_{lesson.id}", on_click=CLASSROOM.clear,
                          args=(lesson.id,), icon=":material/delete:")

if teacher:
    from lab.server.archive import ARCHIVE

    st.caption(f"Server: {ARCHIVE.status}.")
if not teacher:
    st.caption("Teachers: add `?teacher=1` to the address to see how the class's predictions split at each step "
               "(counts only, nothing stored beyond this server's memory).")
with st.expander("Write your own lesson"):
    st.markdown("A lesson is one TOML file in the `lessons/` folder: a title, a summary, and `[[steps]]`, each naming "
                "a page, the settings it opens with, its text, and a question whose answer names a function the app "
                "computes (never a value). The README's section *Write your own lesson* lists them; a file with a "
                "mistake is named here, with its step, instead of any lesson.")
