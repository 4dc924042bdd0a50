"""Landing page: what the lab covers and where each coursework question is answered. Imports no torch."""
import streamlit as st

import ui

st.title("Transformer from Scratch")
st.markdown(
    "An interactive lab on **self-attention and transformers**. Every number, shape and curve in it is computed "
    "live by a small PyTorch package written from scratch (`transformer/` in the repository), so you can move a "
    "slider and watch the mathematics answer."
)

st.subheader("Coursework questions and where they are answered")
questions = [
    ("pages/shapes.py", "Q1 · Shapes", ":material/straighten:",
     "X is [768, 6] and W^Q, W^K, W^V are [768, 768]: what are Q, K, V and Attention(Q, K, V)? "
     "The derivation, a shape diagram, the common QKᵀ slip, and what attention costs."),
    ("pages/self_attention.py", "Q2.1 · Self-attention in five steps", ":material/footprint:",
     "Project to Q, K, V; score; divide by √d_k and softmax; weight the values; sum. On a sentence you type, "
     "with every number shown."),
    ("pages/multi_head.py", "Q3.1 · Multi-head attention with einsum", ":material/view_module:",
     "The shapes of tokens, qis_mh, attmat_mh, zis_mh and zis; per-head attention maps; a check against "
     "torch.nn.MultiheadAttention."),
    ("pages/training.py", "Q3.2 · Train a transformer classifier", ":material/model_training:",
     "A small Vision Transformer on handwritten digits: accuracy and loss against epochs for 10, 30 and 50 epochs."),
    ("pages/why_attention.py", "Q2.2 and Q2.3 · Applications, and transformers vs CNNs", ":material/lightbulb:",
     "Where self-attention is used, and receptive field against depth for attention and convolution."),
]
for page, label, icon, text in questions:
    with st.container(border=True):
        st.page_link(page, label=label, icon=icon)
        st.caption(text)

st.subheader("How to use it in class")
st.markdown(
    "- Work top to bottom through the pages in the sidebar; each has a **Show the code** box with the exact "
    "package function that produced what you see.\n"
    "- Hover over any chart for exact values. In attention maps, **rows are queries and columns are keys**.\n"
    "- Everything runs offline on a laptop: the digits data ships with the app and nothing is downloaded."
)

ui.warm_up()  # torch loads in the background while the class reads this page
