"""Page 5's measured tests of the seed answer's claims about transformers and CNNs: robustness to perturbations,
shifts and input sizes (on the study's trained models, no training), and each layer's cost against the input size."""
from __future__ import annotations

import streamlit as st

from lab import charts, ui
from lab.analyses import claims
from transformer.robustness import STRENGTHS, UNITS
from transformer.timing import layer_times


@st.cache_resource(max_entries=4, show_spinner=False)
def _measured(key: tuple, _pairs: dict) -> dict:
    """Every number of the robustness and size sections, for one set of trained models (``key`` names them)."""
    return {"perturb": claims.perturbation_table(_pairs), "shift": claims.shift_table(_pairs),
            "size": claims.size_table(_pairs), "attention": claims.attention_share(_pairs["transformer"]),
            "errors": {name: claims.runs_as_trained(models[0], claims.CANVAS) for name, models in _pairs.items()},
            "example": claims.example(_pairs["transformer"][0])}


@st.cache_resource(show_spinner=False)
def _timings() -> dict:
    """The layer timings, measured once per server when someone asks (shared by everyone after)."""
    return {}


def section(models: dict | None) -> None:
    pairs = claims.trained_pairs(models or {})
    st.header("“Robust to noise and distractions”? Measured")
    st.markdown("The seed answer says transformers *attend to informative regions, ignoring irrelevant or noisy "
                "details*. The study's models trained on all the digits (the same seeds for both) are scored on the "
                "validation digits under three perturbations they never saw, at five strengths each, with no "
                "retraining: Gaussian noise, an opaque square at a random place, and a second digit laid over the "
                "first.")
    if not pairs:
        st.info("Run the study above: these tests use its models trained on 100% of the images, so they need no "
                "training of their own.", icon=":material/science:")
    else:
        key = tuple((name, i, id(m)) for name, ms in pairs.items() for i, m in enumerate(ms))
        with st.spinner("Scoring the trained models on perturbed digits…"):
            measured = _measured(key, pairs)
        _robustness(measured)
        _shifts_and_sizes(measured)
    _cost()


def _robustness(measured: dict) -> None:
    table = measured["perturb"]
    ui.chart(ui.figure(charts.robustness_chart, claims.spread(table, ["model", "kind", "strength"]), units=UNITS))
    st.info(claims.robustness_verdict(table), icon=":material/balance:")
    seeds = table["seed"].nunique()
    st.caption(f"Each point is the mean of {seeds} seeds, the band their lowest to highest; a seed's two models see "
               f"the same perturbed digits. Strengths: noise σ {', '.join(map(str, STRENGTHS['noise']))}; square "
               f"sides {', '.join(map(str, STRENGTHS['occlusion']))} pixels; second digit's ink "
               f"{', '.join(map(str, STRENGTHS['distractor']))}. Points lost are against each model's own clean "
               "accuracy.")
    st.subheader("Does attention move away from the square?")
    ex = measured["example"]
    left, right = st.columns(2)
    for col, name in ((left, "clean"), (right, "occluded")):
        ui.chart(charts.digit_overlays(ex[name], {f"{name}: a {ex['label']}": ex["maps"][name]}, cell=ui.cell(16),
                                       columns=1, legend="attention (rollout)"), into=col)
    st.caption(f"Validation digit 0 with a {claims.OCCLUDER}×{claims.OCCLUDER} square: the class token's attention "
               "rollout over the patches (orange). The covered part of the patches holds "
               f"{ex['area']:.0%} of the area and gets {ex['before']:.0%} of the attention on the clean digit, "
               f"{ex['after']:.0%} with the square.")
    st.info(claims.attention_verdict(*measured["attention"]) + " Averaged over every validation digit and seed.",
            icon=":material/visibility:")


def _shifts_and_sizes(measured: dict) -> None:
    st.header("Shifts and input sizes, measured")
    ui.chart(ui.figure(charts.shift_chart, claims.spread(measured["shift"], ["model", "shift"])))
    st.info(claims.shift_verdict(measured["shift"]), icon=":material/open_with:")
    sizes = claims.spread(measured["size"], ["model", "placement"])
    ui.table(sizes.assign(accuracy=[f"{m:.1%} ({lo:.1%}–{hi:.1%})" for m, lo, hi in
                                    zip(sizes["mean"], sizes["low"], sizes["high"], strict=True)])[
        ["model", "placement", "accuracy"]])
    st.info(claims.size_verdict(measured["size"], measured["errors"]), icon=":material/aspect_ratio:")
    st.caption("The trained models as they are, on a 12×12 image: " + "; ".join(
        f"the {name}: {err or 'runs'}" for name, err in measured["errors"].items()) + ". The CNN's read-out is then "
        "used as a 4×4 convolution over the larger grid of pooled features, each class keeping its best place; the "
        "transformer gets 9 patches instead of 4 and its position table interpolated from 2×2 to 3×3.")


def _cost() -> None:
    st.header("Cost against input size, measured")
    store = _timings()
    if "times" not in store:
        slot = st.empty()
        if not slot.button("Time one attention layer and one convolution (about 2 seconds)", key="time_layers",
                           icon=":material/timer:"):
            st.caption("The table above says a layer of attention costs n² and a convolution n·k. Press the button to "
                       "measure both on this server.")
            return
        slot.empty()
        with st.spinner("Timing both layers at 7 sequence lengths…"):
            store["times"] = layer_times()
    times = store["times"]
    ui.chart(charts.cost_chart(times.sizes, times.attention, times.convolution, claims.slopes(times)))
    st.info(claims.cost_verdict(times), icon=":material/speed:")
    st.caption(f"Both layers {times.d_model} wide on one sequence (attention with 4 heads, fused as the package trains "
               f"it; a 1-D convolution with {times.kernel} taps); the fastest of three timings per length, measured "
               "once on this server and shared. Slopes are least-squares fits of log time on log n from "
               f"{claims.FIT_FROM:,} tokens up, where fixed overheads no longer dominate.")
