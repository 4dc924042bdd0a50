"""Coursework Q1: the shape of every tensor in self-attention, and what it costs."""
import pandas as pd
import streamlit as st

from lab import charts, ui
from lab.analyses import quiz
from lab.ui import links, page_fields
from lab.ui.page_fields import LAYOUTS
from transformer.shapes import attention_cost, common_slip_shape, self_attention_shapes

st.title("1. Shapes in self-attention")
st.caption("Coursework Q1: X is [768, 6] and W^Q, W^K, W^V are [768, 768]. What are Q, K, V and Attention(Q, K, V)?")



def controls() -> tuple[int, int, str, int]:
    """The settings (from the link, the preset or the widgets): d_model, tokens, layout, d_k."""
    link = links.Link("shapes", page_fields.fields("shapes"))
    links.preset("Coursework Q1", {"d_model": 768, "n_tokens": 6, "layout": LAYOUTS[0], "tie_dk": True},
                 help="X is [768, 6] and W^Q, W^K, W^V are [768, 768], in the coursework's columns layout")
    c1, c2, c3 = st.columns(3)
    d_model = c1.slider("d_model (features per token)", 1, 4096, link["d_model"], key="d_model",
                        help="Size of each token's vector. The coursework uses 768 (as BERT-base and GPT-2 do).")
    n_tokens = c2.slider("tokens (sequence length)", 1, 512, link["n_tokens"], key="n_tokens")
    layout_label = c3.radio("layout", LAYOUTS, index=link.index("layout", LAYOUTS), key="layout",
                            help="The coursework writes one token per column; PyTorch code puts one token per row.")
    layout = "columns" if layout_label.startswith("columns") else "rows"
    tie = st.checkbox("d_k = d_model (as in the coursework)", value=link["tie_dk"], key="tie_dk")
    # conditional elements sit in placeholders, so the elements after them keep their place and the browser redraws
    # only what changed when a control moves
    d_k_slot = st.empty()
    d_k = d_model if tie else d_k_slot.slider("d_k (query/key size; values use d_v = d_k)", 1, 4096, link["d_k"],
                                              key="d_k")
    link.publish()
    return d_model, n_tokens, layout, d_k


def answer(shapes, layout: str, d_model: int, n_tokens: int, d_k: int) -> None:
    """Coursework Q1's answer in the chosen layout, and the common slip named with its shape."""
    st.subheader("Answer")
    if layout == "columns":
        st.markdown(
            f"- **Q = W^Q X**: [{d_k}, {d_model}] × [{d_model}, {n_tokens}] = **{shapes['Q']}**; K and V the same.\n"
            f"- **Scores = KᵀQ**: [{n_tokens}, {d_k}] × [{d_k}, {n_tokens}] = **{shapes['scores']}**: one score for "
            f"every (key token, query token) pair.\n"
            f"- **A = softmax(KᵀQ / √d_k)** over the keys (each column sums to 1): **{shapes['weights']}**.\n"
            f"- **Attention(Q, K, V) = V A**: [{d_k}, {n_tokens}] × [{n_tokens}, {n_tokens}] = **{shapes['output']}**, "
            "one new vector per token, the same shape as X when d_k = d_model."
        )
    else:
        st.markdown(
            f"- **Q = X W_Q**: [{n_tokens}, {d_model}] × [{d_model}, {d_k}] = **{shapes['Q']}**; K and V the same.\n"
            f"- **Scores = QKᵀ**: [{n_tokens}, {d_k}] × [{d_k}, {n_tokens}] = **{shapes['scores']}**: rows are "
            "queries, columns are keys.\n"
            f"- **A = softmax(QKᵀ / √d_k)** over the keys (each row sums to 1): **{shapes['weights']}**.\n"
            f"- **Attention(Q, K, V) = A V**: [{n_tokens}, {n_tokens}] × [{n_tokens}, {d_k}] = **{shapes['output']}**."
        )

    slip_slot = st.empty()
    if layout == "columns":
        slip = common_slip_shape(d_model, n_tokens, d_k)
        slip_slot.warning(
            f"**The common slip: writing QKᵀ in this layout.** Q and K are [{d_k}, {n_tokens}], so QKᵀ is "
            f"[{d_k}, {n_tokens}] × [{n_tokens}, {d_k}] = **{slip}**. That sums over the tokens and compares "
            f"*feature with feature*, not token with token. Attention needs one score per pair of tokens, so in this "
            f"layout the score matrix is **KᵀQ = {shapes['scores']}** (QKᵀ is the right formula only when tokens are "
            "rows). "
            f"The final shape {shapes['output']} comes out either way, which is why the slip is easy to miss.",
            icon=":material/warning:",
        )


def tensors(shapes, layout: str) -> None:
    """Every tensor's shape, and the products drawn as rectangles."""
    st.subheader("Every tensor")
    table = pd.DataFrame(
        [{"tensor": name, "shape": str(s), "formula": s.formula, "meaning": s.meaning,
          "elements": f"{s[0] * s[1]:,}"} for name, s in shapes.items()]
    )
    ui.table(table)
    st.caption("Each shape is the result of running the operation in PyTorch on the meta device (shape only, no data).")

    st.subheader("Shape diagram")
    S = shapes
    K_T = tuple(reversed(S["K"]))  # K transposed
    if layout == "columns":
        equations = [("W^Q", S["W_Q"], "X", S["X"], "Q", S["Q"]), ("Kᵀ", K_T, "Q", S["Q"], "scores KᵀQ", S["scores"]),
                     ("V", S["V"], "A (softmax)", S["weights"], "output VA", S["output"])]
    else:
        equations = [("X", S["X"], "W_Q", S["W_Q"], "Q", S["Q"]), ("Q", S["Q"], "Kᵀ", K_T, "scores QKᵀ", S["scores"]),
                     ("A (softmax)", S["weights"], "V", S["V"], "output AV", S["output"])]
    # plain tuples of ints (the figure cache hashes them by value)
    equations = [tuple(tuple(part) if isinstance(part, tuple) else part for part in eq) for eq in equations]
    ui.chart(ui.figure(charts.shape_diagram_spec, equations, title="A × B = C: sides on a log scale"))
    st.caption("Each matrix is a rectangle: height = rows, width = columns, on a log scale (so 768 is not drawn 128 "
               "times as long as 6, but a longer side is always longer). "
               "Top to bottom: the projection gives Q (K and V alike); K and Q give the token × token scores, "
               "softmax turns them into the weights A; A and V give the output. Hover a rectangle for its exact size.")


def costs(d_model: int, n_tokens: int, d_k: int) -> None:
    """Parameters and multiply-adds, and how they grow with the number of tokens."""
    cost = attention_cost(d_model, n_tokens, d_k)
    st.subheader("What it costs")
    st.caption("MACs = multiply-adds (one multiplication and one addition), the usual unit for the work in a matrix "
               "product.")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("projection parameters", f"{cost.projection_params:,}", help="W_Q, W_K and W_V: 3 × d_model × d_k")
    m2.metric("score elements", f"{cost.score_elements:,}", help="tokens × tokens")
    m3.metric("MACs: projections", f"{cost.linear_macs:,}", help="3 × d_model × d_k × tokens: linear in tokens")
    m4.metric("MACs: scores + sum", f"{cost.quadratic_macs:,}", help="2 × tokens² × d_k: quadratic in tokens")
    ui.table(pd.DataFrame([{"product": k, "multiply-adds": f"{v:,}"} for k, v in cost.macs.items()]))
    points = sorted({2**i for i in range(0, 13)} | {n_tokens})
    curve = [attention_cost(d_model, t, d_k) for t in points]
    ui.chart(ui.figure(charts.cost_curve_spec, points, [c.linear_macs for c in curve],
                       [c.quadratic_macs for c in curve], marker=n_tokens), stretch=True)
    crossover = 3 * d_model / 2
    st.caption(f"The projections cost 3·d_model·d_k per token; scores and the weighted sum cost 2·d_k per *pair* of "
               f"tokens. The quadratic part overtakes the linear part at about 1.5·d_model = {crossover:,.0f} tokens.")


@st.fragment
def explore() -> None:
    """The controls and everything they change: a fragment, so that moving one reruns this part only (the self-check
    and the code below are not sent again)."""
    d_model, n_tokens, layout, d_k = controls()
    shapes = self_attention_shapes(d_model, n_tokens, d_k, layout)
    answer(shapes, layout, d_model, n_tokens, d_k)
    tensors(shapes, layout)
    costs(d_model, n_tokens, d_k)


explore()
st.subheader("Test yourself")
ui.self_check("shapes", quiz.shapes_question)

ui.show_code(self_attention_shapes, attention_cost, common_slip_shape)
