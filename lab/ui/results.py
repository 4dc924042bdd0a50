"""The training page's result sections, drawn with Streamlit: final metrics, the check run, exports, the
transformer-vs-CNN comparison and a look inside the trained model. Every sentence that draws a conclusion is
built from the numbers it sits under (``lab.analyses.classifier_runs``)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lab import charts, ui
from lab.analyses.classifier_runs import (
    Snapshot,
    TrainingRequest,
    check_difference,
    comparison_sentence,
    epoch_one_note,
    final_metrics,
)
from lab.ui import drawing_panel
from transformer.model import count_parameters


def summary(request: TrainingRequest, snap: Snapshot, table: pd.DataFrame) -> None:
    st.caption("Solid lines are training, dashed are validation; a widening gap between them is overfitting. "
               + epoch_one_note(snap.runs))
    st.subheader("Final metrics")
    st.table(final_metrics(snap.runs))  # static: three rows need no interactive grid, and it is cheaper to send
    st.caption("CPU time is what the training's own thread used up to that epoch: unlike wall-clock time it does not "
               "grow when other sessions train at the same time.")
    if request.verify:
        worst = check_difference(snap, request)
        if worst == 0.0:
            st.success(f"Checked: the {request.counts[0]}-epoch run trained on its own matches the first "
                       f"{request.counts[0]} epochs of the {request.longest}-epoch run exactly (largest difference in "
                       f"any metric: {worst}). With a constant learning rate one training of {request.longest} epochs "
                       "gives every curve.", icon=":material/check_circle:")
        else:
            st.warning(f"The {request.counts[0]}-epoch run trained on its own differs from the start of the longer "
                       f"run by up to {worst:.2e} (floating-point non-determinism on this machine).")
    st.markdown("**Export for your report:** the comparison figure (loss and accuracy) and every epoch's numbers.")
    ui.exports(lambda: charts.comparison_figure(table), "training_comparison",
               csv=table.to_csv(index=False).encode("utf-8"), svg=False)
    with st.expander("Settings of this comparison"):
        st.json(request.settings())
    if request.cnn and snap.cnn:
        st.subheader("Transformer and CNN compared")
        vit, cnn = snap.runs[request.longest], snap.cnn
        both = pd.DataFrame([dict(model="transformer", **r) for r in vit] + [dict(model="CNN", **r) for r in cnn])
        figure = charts.model_comparison(both)
        ui.chart(figure)
        ui.exports(figure, "transformer_vs_cnn", csv=both.to_csv(index=False).encode("utf-8"))
        sizes = _parameter_counts(repr(request), request)
        st.markdown(comparison_sentence(vit[-1], cnn[-1], request.longest)
                    + f" Parameters: transformer {sizes[0]:,}, CNN {sizes[1]:,}.")
        st.caption("How to read it: the CNN is built to assume that nearby pixels belong together and that a stroke "
                   "means the same wherever it is (locality, translation equivariance); the transformer has to learn "
                   "such structure from the training images, with patches as coarse tokens. Try another seed, or 5% "
                   "of the images, to see how much of the gap survives.")


@st.cache_data(max_entries=16, show_spinner=False)
def _parameter_counts(key: str, _request: TrainingRequest) -> tuple[int, int]:
    """The two models' sizes, counted on freshly built models (never written down by hand)."""
    from transformer.train import build_model

    return count_parameters(build_model(_request.base)), count_parameters(build_model(_request.cnn_config))


def inside_model(request: TrainingRequest, models: dict) -> None:
    st.subheader("Inside the trained model")
    trained = request.configs[request.longest]
    model = models.get(trained)
    if model is not None:
        drawing_panel.section(model, trained)
    if not st.toggle("look inside: attention on a digit, probabilities and the confusion matrix", key="look_inside",
                     help="Off by default: it adds six charts to the page."):
        return
    if model is None:
        st.info("The trained weights are not in this session (the run had ended before you opened the page). "
                "Press **Train** to look inside the model.")
        return
    _look_inside(request, trained, model)


@st.fragment
def _look_inside(request: TrainingRequest, trained, model) -> None:
    """The digit picker and everything drawn for the picked digit: a fragment, so choosing another digit reruns only
    this section, not the training page around it (the head to enlarge is picked in the browser)."""
    from transformer.analysis import class_token_attention, class_token_rollout, confusion_matrix, predict
    from transformer.data import digits_split

    pred = predict(model, trained)
    right = [i for i in range(len(pred.labels)) if i not in set(pred.wrong)]
    st.caption(f"The {request.longest}-epoch model. Validation digits it gets wrong: {len(pred.wrong)} of "
               f"{len(pred.labels)}.")
    pick = st.radio("look at", ["a digit it reads correctly", "a misclassified one"], horizontal=True,
                    key="pick_kind", disabled=not pred.wrong)
    if pick == "a misclassified one" and pred.wrong:
        index = st.selectbox("misclassified digit", pred.wrong, key="pick_wrong",
                             format_func=lambda i: f"#{i}: a {int(pred.labels[i])} read as {int(pred.preds[i])}")
    else:
        index = st.selectbox("validation digit", right, key="pick_right",
                             format_func=lambda i: f"#{i}: a {int(pred.labels[i])}")
    pixels = digits_split().x_val[index].numpy()  # (8, 8) in [0, 1]
    label, guess = int(pred.labels[index]), int(pred.preds[index])
    left, right_col = st.columns([1, 2])
    ui.chart(charts.digit_image(pixels, title=[f"validation #{index}", f"a {label}"]), into=left)
    ui.chart(charts.probability_bars(pred.probs[index].numpy(), label=label, pred=guess), into=right_col)
    st.markdown(read_sentence(label, guess, pred.probs[index].tolist()))
    attention = class_token_attention(model, trained, index).numpy()  # (layers, heads, g, g)
    ui.chart(charts.attention_over_digit(pixels, attention, cell=ui.cell(12)))
    st.caption(
        "The whole model at once: each panel is one head in one layer (both counted from 0, as in the coursework's "
        "code), the digit in grey and each patch tinted orange by the class token's attention to it (what is left "
        "goes to the class token itself).")
    layers, heads = attention.shape[:2]
    each = {f"layer {layer}, head {h}": attention[layer, h] for layer in range(layers) for h in range(heads)}
    rolled, raw = (m.numpy() for m in class_token_rollout(model, trained, index))
    top = max(float(rolled.max()), float(raw.max()), float(attention.max()))
    ui.chart(charts.digit_overlays(pixels, {f"layer {layers - 1}, heads averaged (raw)": raw,
                                            "rollout through all layers": rolled}, choices=each,
                                   cell=ui.cell(22), columns=3, domain=round(top, 2) or 1.0))
    st.caption("The list under the chart enlarges any one head (it works in the browser: nothing reruns).")
    st.markdown(rollout_sentence(rolled, raw, layers))
    matrix = confusion_matrix(pred.preds, pred.labels).numpy()
    ui.chart(charts.confusion_chart(matrix, cell=ui.cell(30)))
    off = matrix.sum() - matrix.trace()
    st.caption(
        f"Rows are the true digit, columns the prediction. The blue diagonal counts the right answers; the "
        f"{off} mistakes are the red cells off it; even a single mistake gets a clear red, and more are darker."
    )


def read_sentence(label: int, guess: int, probs: list[float]) -> str:
    """What the model reads a digit as, naming the true digit too when it is wrong."""
    if label == guess:
        return f"The model reads it as **{guess}** (right), with probability {probs[guess]:.1%}."
    return (f"The model reads it as **{guess}** (wrong: it is a **{label}**), with probability {probs[guess]:.1%}; "
            f"it gives the true digit {label} only {probs[label]:.1%}.")


def rollout_sentence(rolled, raw, layers: int) -> str:
    """Why the last layer's raw map and the rollout differ, with this digit's numbers."""
    flat_r, flat_a = rolled.reshape(-1), raw.reshape(-1)
    pr, pa = int(flat_r.argmax()), int(flat_a.argmax())
    differ = 0.5 * float(abs(flat_r / max(flat_r.sum(), 1e-9) - flat_a / max(flat_a.sum(), 1e-9)).sum())
    agree = (f"Both put the most weight on patch {pr}" if pr == pa else
             f"The raw map's top patch is {pa} ({flat_a[pa]:.0%}); the rollout's is {pr} ({flat_r[pr]:.0%})")
    return (f"**Raw attention against rollout.** The raw map is only the last of {layers} layers: where the class "
            "token looks in its final step, at token vectors that earlier layers have already mixed. Rollout (Abnar & "
            "Zuidema, 2020) multiplies every layer's head-averaged attention, each with the identity added for the "
            "residual path, so it follows what reaches the class token from each *input* patch through the whole "
            f"network. {agree}; the two maps, each scaled to sum to 1, differ by {differ:.0%} of their weight "
            "(half the summed absolute difference).")
