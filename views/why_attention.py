"""Coursework Q2.2 and Q2.3: where self-attention is used, and how transformers compare with CNNs."""
import streamlit as st

from lab import charts, links, ui
from transformer.receptive import receptive_fields

st.title("5. Why attention")
st.caption("Coursework Q2.2: applications of self-attention. Q2.3: transformers compared with CNNs.")

st.header("Where self-attention is used")
a1, a2, a3 = st.columns(3)
with a1.container(border=True):
    st.markdown("**Language**")
    st.markdown("Translation (the original Transformer), language models that write text and code (GPT), "
                "encoders that read text for search and classification (BERT). Every word can look at every "
                "other word, however far apart.")
with a2.container(border=True):
    st.markdown("**Vision**")
    st.markdown("Vision Transformers cut an image into patches and treat them as tokens (as page 4 does with "
                "digits); detection (DETR) and segmentation models attend between object queries and image "
                "features.")
with a3.container(border=True):
    st.markdown("**Generative and scientific models**")
    st.markdown("Text-to-image and video diffusion models (diffusion transformers, cross-attention to the prompt), "
                "speech recognition (Whisper), music generation, and protein structure prediction (AlphaFold's "
                "attention between residues).")

st.header("Receptive field: how far one layer can look")
KERNELS = [3, 5, 7, 9]  # odd, so a convolution is centred on its token
link = links.Link("why_attention", {"n_tokens": links.Int(8, 256, 64), "kernel": links.Choice(KERNELS, 3),
                                    "layers": links.Int(1, 16, 8)})
c1, c2, c3 = st.columns(3)
n_tokens = c1.slider("sequence length (tokens)", 8, 256, link["n_tokens"], key="n_tokens")
kernel = c2.select_slider("convolution kernel size", KERNELS, value=link["kernel"], key="kernel")
max_layers = c3.slider("layers", 1, 16, link["layers"], key="layers")
link.publish()


@st.cache_data(max_entries=64, show_spinner=False)
def fields(n: int, k: int, layers: int):
    return list(range(1, layers + 1)), receptive_fields("attention", n, layers), receptive_fields("conv", n, layers, k)


depth, att, conv = fields(n_tokens, kernel, max_layers)
ui.chart(charts.receptive_field_chart(depth, att, conv, n_tokens=n_tokens, kernel=kernel), stretch=True)
needed = next((d for d, c in zip(depth, conv, strict=True) if c >= n_tokens), None)
st.caption(
    f"Measured, not assumed: for each depth the page stacks the layers, back-propagates from the middle output "
    f"token and counts the input tokens with a non-zero gradient. One self-attention layer already reaches all "
    f"{n_tokens} tokens. A convolution with kernel {kernel} reaches 1 + {kernel - 1}·layers tokens, so it needs "
    + (
        f"{needed} layers to see the whole sequence."
        if needed
        else f"about {-(-(n_tokens - 1) // (kernel - 1))} layers to see the whole sequence (more than the "
        f"{max_layers} drawn)."
    )
)

st.header("Transformers and CNNs compared")
st.markdown(
    "| | CNN | Transformer |\n"
    "|---|---|---|\n"
    "| what a layer mixes | a small neighbourhood (the kernel) | every token with every token, weighted by content |\n"
    "| long-range links | need depth or pooling | one layer |\n"
    "| cost per layer in sequence length n | linear, n·k | quadratic, n² (the score matrix) plus linear projections |\n"
    "| built-in assumptions (inductive bias) | locality and translation equivariance "
    "| almost none; position must be added |\n"
    "| data it needs | learns well from small datasets "
    "| needs more data or pre-training to learn what a CNN assumes |\n"
    "| parallel over the sequence | yes | yes (unlike an RNN) |\n"
)
st.info(
    "An honest reading: the CNN's assumptions are right for images, so with little data (like the 1,438 training "
    "digits on page 4) a small CNN is hard to beat. Attention pays off when long-range, content-dependent links "
    "matter and there is enough data, or pre-training, to learn the structure a CNN gets for free.",
    icon=":material/balance:",
)
st.markdown(
    "See it rather than read it: on page 4, tick **also train a CNN baseline** and both models train on the "
    "same digits, with their curves on the same axes and the numbers side by side."
)
st.page_link(
    "views/training.py",
    label="Compare a transformer and a CNN on the digits (page 4)",
    icon=":material/model_training:",
)
ui.show_code(receptive_fields)
