"""The latency reference page: one slider and one 8x8 softmax heatmap, via torch and Altair."""
import altair as alt
import pandas as pd
import streamlit as st
import torch

temperature = st.slider("temperature", 0.1, 5.0, 1.0)
weights = torch.softmax(torch.randn(8, 8, generator=torch.Generator().manual_seed(0)) / temperature, dim=-1)
df = pd.DataFrame(
    [(i, j, float(weights[i, j])) for i in range(8) for j in range(8)], columns=["query", "key", "weight"]
)
st.altair_chart(alt.Chart(df).mark_rect().encode(x="key:O", y="query:O", color="weight:Q", tooltip=["weight:Q"]))
