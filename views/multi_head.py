"""Coursework Q3.1: multi-head attention with einsum, the coursework's variables and their shapes."""
import pandas as pd
import streamlit as st

from lab import charts, ui
from lab.analyses import quiz
from lab.ui import learned_panel, links, page_fields
from lab.ui.page_fields import EMBED_SIZES
from transformer.multihead import check_against_torch, check_heads, multi_head_attention, seeded_weights

MAX_CELLS = 4_500  # maps' cells drawn at once (one map at 64 tokens): more would slow every tokens move

st.title("3. Multi-head attention")
st.caption("Coursework Q3.1: read the einsum code and give the shape of every variable.")



def controls() -> tuple[int, int, int, int, bool]:
    """The settings (from the link, the preset or the widgets): batch, tokens, E, heads, causal."""
    link = links.Link("multi_head", page_fields.fields("multi_head"))
    links.preset("Coursework Q3.1", {"batch": 1, "tokens": 5, "embdim": 768, "heads": 12, "causal": False},
                 help="tokens [1, 5, 768] and 12 heads, as in the coursework's einsum code")
    c1, c2, c3, c4 = st.columns(4)
    batch = c1.slider("batch", 1, 8, link["batch"], key="batch")
    n_tokens = c2.slider("tokens", 1, 64, link["tokens"], key="tokens")
    embdim = c3.select_slider("embedding size (E)", EMBED_SIZES, value=link["embdim"], key="embdim",
                              help="Sizes that split evenly into many head counts (768 = 12 × 64, as in the "
                              "coursework).")
    headcnt = c4.slider("heads", 1, 64, link["heads"], key="heads")
    causal = st.toggle("causal mask", value=link["causal"], key="causal")
    link.publish()
    return batch, n_tokens, embdim, headcnt, causal


AXES = {
    "tokens": ("input", "batch × tokens × E"),
    "qis": ('einsum("BSE,EH->BSH", tokens, Wq)', "batch × tokens × E (all heads side by side)"),
    "kis": ('einsum("BTE,EH->BTH", tokens, Wk)', "batch × tokens × E"),
    "vis": ('einsum("BTE,EH->BTH", tokens, Wv)', "batch × tokens × E"),
    "qis_mh": ("qis.view(batch, tokens, heads, head_dim)", "batch × tokens × heads × head_dim"),
    "kis_mh": ("kis.view(batch, tokens, heads, head_dim)", "batch × tokens × heads × head_dim"),
    "vis_mh": ("vis.view(batch, tokens, heads, head_dim)", "batch × tokens × heads × head_dim"),
    "scoremat_mh": ('einsum("BSCH,BTCH->BCST", qis_mh, kis_mh)', "batch × heads × query tokens × key tokens"),
    "attmat_mh": ("softmax(scoremat_mh / sqrt(head_dim), dim=-1)", "batch × heads × query tokens × key tokens"),
    "zis_mh": ('einsum("BCST,BTCH->BSCH", attmat_mh, vis_mh)', "batch × tokens × heads × head_dim"),
    "zis": ("zis_mh.reshape(batch, tokens, heads * head_dim)", "batch × tokens × E (heads concatenated)"),
    "W_O": ("out_proj.weight.T (a parameter)", "E × E: mixes the concatenated heads"),
    "out": ("zis @ Wo", "batch × tokens × E: what nn.MultiheadAttention returns"),
}


# drawn once per embedding size (16 MB at E = 1,024, so two kept), not on every batch, tokens, heads or mask move;
# kept by Streamlit, as this script's own definitions are made anew on every full run, and shared, never changed
weights = st.cache_resource(max_entries=2, show_spinner=False)(seeded_weights)


@st.cache_data(max_entries=32, show_spinner=False)
def compute(batch: int, n_tokens: int, embdim: int, headcnt: int, causal: bool, seed: int = 0):
    """The package's multi-head attention on seeded numbers, checked against torch.nn.MultiheadAttention."""
    import torch

    tokens = torch.randn(batch, n_tokens, embdim, generator=torch.Generator().manual_seed(seed))  # (B, T, E)
    wq, wk, wv, wo = weights(embdim, seed)
    check = check_against_torch(tokens, wq, wk, wv, wo, headcnt, causal=causal)
    r, out = check.steps, check.out  # every intermediate, and zis @ W_O: drawn from the package's own result
    shapes = {"tokens": tuple(tokens.shape)} | {k: tuple(getattr(r, k).shape) for k in AXES if hasattr(r, k)}
    shapes |= {"W_O": tuple(wo.shape), "out": tuple(out.shape)}
    return {"shapes": shapes, "maps": r.attmat_mh[0].numpy(), "weights_diff": check.weights_diff,
            "output_diff": check.output_diff}


def variables(shapes: dict, n_tokens: int, embdim: int, headcnt: int, headdim: int | None) -> None:
    """Every variable's shape in a table, the shape chain and the head-split diagram."""
    st.subheader("Every variable")
    missing = "— (heads must divide E)"
    rows = [{"variable": name, "made by": made, "shape": quiz.fmt(shapes[name]) if name in shapes else missing,
             "axes": axes} for name, (made, axes) in AXES.items()]
    ui.table(pd.DataFrame(rows))
    if headdim is None:
        return
    st.caption(f"E = {embdim} split into {headcnt} heads of head_dim = {embdim} / {headcnt} = {headdim}. view and "
               "reshape only regroup the same numbers; the einsums do the work, and W_O (PyTorch's out_proj) mixes "
               "the joined heads into the output. Index letters: B batch, S query token, T key token, E embedding, H "
               "projected feature (in qis) or feature within a head (in *_mh), C head.")
    st.markdown("**The shape chain:** tokens " + " → ".join(
        f"`{n}` {quiz.fmt(shapes[n])}" for n in ("qis", "qis_mh", "attmat_mh", "zis_mh", "zis", "out")))
    ui.chart(ui.figure(charts.head_split_diagram_spec, n_tokens, embdim, headcnt), stretch=True)  # legible on a phone


def head_maps(maps, n_tokens: int, headcnt: int, causal: bool) -> None:
    """Batch item 0's attention map for each head (as many as the browser draws quickly, the rest picked)."""
    st.subheader("Attention maps, one per head")
    fit = max(1, min(headcnt, 16, MAX_CELLS // (n_tokens * n_tokens)))
    heads = list(range(headcnt))
    shown = heads[:fit] if fit == headcnt else st.multiselect(
        f"heads to draw (up to {fit} at {n_tokens} tokens)", heads, default=heads[:fit], max_selections=fit,
        key="shown_heads")
    if not shown:
        return
    maps_chart = ui.figure(charts.head_maps_spec, maps[shown], head_ids=tuple(shown),
                           cell=ui.cell(max(4, min(22, 200 // n_tokens))),
                           title=f"attmat_mh[0, head]{' (causal mask)' * causal}: rows are queries, columns are keys")
    ui.chart(maps_chart)
    ui.exports(maps_chart, "attention_maps_per_head")
    st.caption("Batch item 0. Each head has its own W_Q, W_K slices, so each learns (here: is initialised with) "
               "a different pattern. With random weights the maps are noisy; trained heads specialise. "
               + charts.head_maps_hover(len(shown) * n_tokens * n_tokens))


def torch_check(weights_diff: float, output_diff: float) -> None:
    """The package's result against torch.nn.MultiheadAttention given the same weights."""
    st.subheader("Check against torch.nn.MultiheadAttention")
    ok_w, ok_o = weights_diff < 1e-5, output_diff < 1e-4
    v1, v2 = st.columns(2)
    v1.metric("largest |difference| in attention weights", f"{weights_diff:.1e}", "pass (< 1e-5)" if ok_w else "FAIL",
              delta_color="normal" if ok_w else "inverse")
    v2.metric("largest |difference| in output (after out_proj)", f"{output_diff:.1e}",
              "pass (< 1e-4)" if ok_o else "FAIL", delta_color="normal" if ok_o else "inverse")
    st.caption("PyTorch's module gets the same weights: in_proj_weight = cat([Wq, Wk, Wv], 1)ᵀ, out_proj.weight = "
               "W_Oᵀ, no biases, average_attn_weights=False. Any difference is float32 rounding (none where both sum "
               "the same products in the same order).")


@st.fragment
def explore() -> None:
    """The controls and everything they change: a fragment, so that moving one reruns this part only (the self-check,
    the trained heads and the code below are not sent again)."""
    batch, n_tokens, embdim, headcnt, causal = controls()
    try:
        headdim = check_heads(embdim, headcnt)
    except ValueError as err:
        st.error(f"{err} Pick one of those head counts with the heads slider.", icon=":material/error:")
        variables({name: (batch, n_tokens, embdim) for name in ("tokens", "qis", "kis", "vis")}, n_tokens, embdim,
                  headcnt, None)
        return
    result = compute(batch, n_tokens, embdim, headcnt, causal)
    variables(result["shapes"], n_tokens, embdim, headcnt, headdim)
    head_maps(result["maps"], n_tokens, headcnt, causal)
    torch_check(result["weights_diff"], result["output_diff"])


explore()
st.subheader("Test yourself")
ui.self_check("multihead", quiz.multihead_question)
learned_panel.section()

ui.show_code(multi_head_attention, check_heads, check_against_torch, seeded_weights,
             caption="The einsum code and the check against PyTorch, exactly as the package runs them:")
