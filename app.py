"""Entry point: page config, the sidebar's app-wide switch, navigation and the lesson panel over the page. The
pages live in views/ (listed in lab/pages.py)."""
import streamlit as st

from lab.pages import PAGES
from lab.server.runtime import set_up_process
from lab.ui import app_frame, lesson_panel

st.set_page_config(page_title="Transformer from Scratch", page_icon=":material/neurology:", layout="wide")
set_up_process()
sections: dict[str, list] = {}
for i, p in enumerate(PAGES):
    sections.setdefault(p.section, []).append(st.Page(p.path, title=p.title, icon=p.icon, default=i == 0))
page = st.navigation(sections)
app_frame()
lesson_panel.run(page)  # the page, under the lesson panel when a lesson is open
