"""Coursework Q3.2: train the patch classifier and compare accuracy and loss over 10, 30 and 50 epochs."""
import pandas as pd
import streamlit as st

from lab import charts, ui
from lab.analyses.classifier_runs import (
    LABELS,
    MAX_EPOCHS,
    OPTIONS,
    PRESETS,
    TrainingRequest,
    frame,
    live_frame,
)
from lab.ui import experiments, links, page_fields, progress, results
from transformer.data import DIGITS, TRAIN_IMAGES, VAL_IMAGES
from transformer.train import TrainConfig, train_classifier

st.title("4. Train a transformer classifier")
st.caption("Coursework Q3.2: train a transformer classifier and plot accuracy and loss against epochs for 10, 30 "
           "and 50 epochs. The model is a small Vision Transformer built from this package's attention.")
if not ui.projector():
    st.markdown(
        f"**The task:** {DIGITS:,} handwritten digits, 8×8 pixels (UCI, shipped with the app), split 80/20 into "
        f"{TRAIN_IMAGES:,} training and {VAL_IMAGES} validation images, the same split every time. Each image is "
        "cut into square patches; each patch becomes a token, a learned class token goes in front, and the class "
        "token's final vector is read out as 10 class scores.")

link = links.Link("training", page_fields.fields("training"))

pcols = st.columns([1, 2, 1.6, 2.4])  # the label, then room for each preset's name
pcols[0].markdown("**Presets**")
for col, (label, (values, what)) in zip(pcols[1:], PRESETS.items(), strict=True):
    with col:
        links.preset(label, values, help=what, disabled=link.locked("presets"))
chosen = next((label for label, (values, _) in PRESETS.items()
               if all(st.session_state.get(k, link[k]) == v for k, v in values.items())), None)
if chosen:
    st.caption(f"**{chosen}:** {PRESETS[chosen][1]}")

if note := link.teacher_note(LABELS):
    st.caption(note)
def slider(col, name: str, **kwargs):
    """A select-slider over the setting's options, locked when a teacher's link fixes it."""
    return col.select_slider(LABELS[name], OPTIONS[name], value=link[name], key=name, disabled=link.locked(name),
                             **kwargs)


with ui.settings_box("train_request"), st.form("settings", border=False):
    r = st.columns(4)
    for col, key in zip(r[:3], ("epochs_a", "epochs_b", "epochs_c"), strict=True):
        col.number_input(LABELS[key], 1, MAX_EPOCHS, link[key], key=key, disabled=link.locked(key))
    r[3].number_input(LABELS["seed"], 0, 9999, link["seed"], key="seed", disabled=link.locked("seed"))
    a, b, c, d = st.columns(4)
    slider(a, "lr")
    slider(b, "batch_size")
    c.radio(LABELS["schedule"], OPTIONS["schedule"], index=link.index("schedule", OPTIONS["schedule"]),
            key="schedule", disabled=link.locked("schedule"), horizontal=True,
            help="cosine: decays from the learning rate to 0 over each run")
    slider(d, "fraction", format_func=lambda f: f"{f:.0%}",
           help="Fewer images make overfitting easy to see.")
    m1, m2, m3, m4 = st.columns(4)
    slider(m1, "d_model")
    slider(m2, "n_heads")
    slider(m3, "n_layers")
    slider(m4, "patch",
           help="4: an 8×8 digit is 4 patches (+1 class token = 5 tokens); 2: 16 patches (17 tokens).")
    st.checkbox("also train a CNN baseline (same split, epochs, optimiser and schedule)", value=link["cnn"], key="cnn",
                disabled=link.locked("cnn"))
    submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")

try:
    form_request, error = TrainingRequest.from_form(link.current()), None
except ValueError as err:
    form_request, error = None, str(err)
request = progress.shown("train_request", form_request, submitted, link, error)
if request is None:
    st.info("Choose settings and press **Train**. With the defaults all three runs finish in a few seconds.")
    experiments.section("training", link.current()["pins"], None)
    ui.show_code(train_classifier, TrainConfig)
    st.stop()


@st.cache_data(max_entries=64, show_spinner=False)
def final_spec(key: str, _df: pd.DataFrame) -> tuple[dict, dict]:
    """The comparison charts of a finished request, shared by every session that shows it."""
    return (charts.training_curves(_df, "loss", title="Loss against epoch").to_dict(validate=False),
            charts.training_curves(_df, "acc", title="Accuracy against epoch").to_dict(validate=False))


def live(snap) -> dict:
    data, title = live_frame(snap, request)
    return ui.figure(charts.live_curves, data, title=title)


snap, models = progress.watch("train_result", request, live, request_key="train_request", note=(
    "Solid: training, dashed: validation. Training accuracy is averaged over each epoch while the model improves, "
    "so early on it lies below validation accuracy."))
table = frame(snap.runs)
loss_spec, acc_spec = final_spec(repr(request), table)
ui.chart(loss_spec)
ui.chart(acc_spec)
results.summary(request, snap, table)
results.inside_model(request, models)
experiments.section("training", link.current()["pins"], request)
ui.show_code(train_classifier, TrainConfig)
