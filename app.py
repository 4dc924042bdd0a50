"""Entry point: page config and navigation only. Each page lives in pages/."""
import streamlit as st

st.set_page_config(page_title="Transformer from Scratch", page_icon=":material/neurology:", layout="wide")

pages = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Attention": [
        st.Page("pages/shapes.py", title="1. Shapes", icon=":material/straighten:"),
        st.Page("pages/self_attention.py", title="2. Self-attention step by step", icon=":material/footprint:"),
        st.Page("pages/multi_head.py", title="3. Multi-head attention", icon=":material/view_module:"),
    ],
    "Transformers": [
        st.Page("pages/training.py", title="4. Train a classifier", icon=":material/model_training:"),
        st.Page("pages/why_attention.py", title="5. Why attention", icon=":material/lightbulb:"),
    ],
}
st.navigation(pages).run()
