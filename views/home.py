"""Landing page: what the lab covers and where each coursework question is answered. Imports no torch."""
import streamlit as st

from lab.pages import PAGES
from lab.server import runtime
from lab.ui import lesson_panel

st.title("Transformer from Scratch")
st.markdown(
    "An interactive lab on **self-attention and transformers**. Every number, shape and curve in it is computed "
    "live by a small PyTorch package written from scratch (`transformer/` in the repository), so you can move a "
    "slider and watch the mathematics answer."
)

lessons = next(p for p in PAGES if p.path == "views/lessons.py")
with st.container(border=True):
    st.page_link(lessons.path, label="Start with a lesson: predict first, then see the numbers", icon=lessons.icon)
    st.caption(lessons.summary)

st.subheader("Coursework questions and where they are answered")
for p in (p for p in PAGES if p.question):
    with st.container(border=True):
        st.page_link(p.path, label=p.question, icon=p.icon)
        st.caption(p.summary)

st.subheader("How to use it in class")
st.markdown(
    "- Work top to bottom through the pages in the sidebar; each has a **Show the code** box with the exact "
    "package function that produced what you see.\n"
    "- Hover over any chart for exact values (more digits than are printed). Every attention map drawn here puts "
    "**queries on the rows and keys on the columns**; page 1's coursework layout writes the same weights "
    "transposed (KᵀQ, keys × queries), and says so.\n"
    "- In a lecture hall, switch on **Projector mode** in the sidebar: larger chart text, darker axes, a compact "
    "page. It is kept in the link, so a lecturer's link opens in it.\n"
    "- Everything runs offline on a laptop: the digits data ships with the app and nothing is downloaded."
)

# torch loads in the background while the class reads this page, and the lessons are checked there (a broken lesson
# file is named in the server's log and on the Lessons page)
runtime.warm_up(also=lesson_panel.check)
