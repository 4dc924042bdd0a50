"""Coursework Q2.2 and Q2.3: where self-attention is used, and how transformers compare with CNNs."""
import pandas as pd
import streamlit as st

from lab import charts, ui
from lab.analyses.study import SHARES, StudyRequest, conclusion, summary, table
from lab.ui import claims_panel, links, page_fields, progress
from lab.ui.page_fields import KERNELS
from transformer.data import TRAIN_IMAGES, VAL_IMAGES
from transformer.model import SmallCNN
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
link = links.Link("why_attention", page_fields.fields("why_attention"))
c1, c2, c3 = st.columns(3)
n_tokens = c1.slider("sequence length (tokens)", 8, 256, link["n_tokens"], key="n_tokens")
kernel = c2.select_slider("convolution kernel size", KERNELS, value=link["kernel"], key="kernel")
max_layers = c3.slider("layers", 1, 16, link["layers"], key="layers")


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
    "| long-range links | distant positions are about n/k layers apart (the chart above) | one layer apart |\n"
    "| cost per layer in sequence length n | linear, n·k | quadratic, n² (the score matrix) plus linear projections |\n"
    "| built-in assumptions (inductive bias) | locality and translation equivariance "
    "| almost none; position must be added |\n"
    "| input size | any, for a fully convolutional network (global pooling or a convolutional read-out); a dense "
    "read-out, like page 4's baseline, fixes it | any number of tokens, up to the positions it has embeddings for |\n"
    "| parallel over the sequence | yes, every position at once | yes, every position at once (unlike an RNN); the "
    "honest difference is path length, above |\n"
    "| data it needs | measured below, on the digits | measured below, on the digits |\n"
)

st.header("Data efficiency, measured")
st.markdown(f"Both models train on {', '.join(f'{s:.0%}' for s in SHARES)} of the {TRAIN_IMAGES:,} training "
            "digits with page 4's default settings (50 epochs, the same optimiser and schedule), several seeds each, "
            f"and are scored on the same {VAL_IMAGES} validation digits. The CNN baseline keeps the image's layout "
            "(two 3×3 convolutions, a 2×2 max-pool, a read-out of every position) and has about half the transformer's "
            "parameters.")
with st.form("study"):
    seeds = st.select_slider("seeds per point", [3, 4, 5], value=link["seeds"], key="seeds")
    run = st.form_submit_button("Run the study", type="primary", icon=":material/play_arrow:")
request = progress.shown("study_request", StudyRequest(seeds=int(seeds)), run, link)


def live(snap) -> dict:
    if len(snap.results):
        return ui.figure(charts.data_efficiency_chart, summary(snap.results), train_images=TRAIN_IMAGES)
    return ui.figure(charts.live_curves, pd.DataFrame(snap.live_records), title="First training of the study")


models = None
if request is None:
    st.info("Press **Run the study**: about a minute on a 2-core machine, shared with everyone who asks for the "
            "same study. The reading below the chart is then built from what it measured.", icon=":material/balance:")
else:
    snap, models = progress.watch("study_result", request, live, request_key="study_request")
    ui.chart(ui.figure(charts.data_efficiency_chart, summary(snap.results), train_images=TRAIN_IMAGES))
    ui.table(table(snap.results))
    st.info(conclusion(snap.results), icon=":material/balance:")
    st.caption("Mean of the seeds, with the lowest and highest in brackets; CPU time is per training, the same work "
               "counted the same way however busy the server was.")
st.page_link("views/training.py", label="Train both on the digits yourself (page 4, tick the CNN baseline)",
             icon=":material/model_training:")
claims_panel.section(models)
ui.show_code(receptive_fields, SmallCNN)
