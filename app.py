"""Entry point: page config, the sidebar's app-wide switch and navigation. The pages live in views/ (listed in
lab/pages.py)."""
import streamlit as st

from lab.pages import PAGES
from lab.server.runtime import set_up_process
from lab.ui import app_frame

st.set_page_config(page_title="Transformer from Scratch", page_icon=":material/neurology:", layout="wide")
set_up_process()
sections: dict[str, list] = {}
for i, p in enumerate(PAGES):
    sections.setdefault(p.section, []).append(st.Page(p.path, title=p.title, icon=p.icon, default=i == 0))
page = st.navigation(sections)
app_frame()
page.run()
