"""Coursework Q2.1: self-attention in five steps, on a sentence the student types."""
import numpy as np
import streamlit as st

import charts
import ui
from transformer.attention import self_attention_steps, softmax_peak
from transformer.text import embed, projections, tokenize

MAX_TOKENS = 12
DEFAULT_SENTENCE = "the cat sat on the mat"

st.title("2. Self-attention, step by step")
st.caption("Coursework Q2.1: explain self-attention in five steps. Every number below is computed live.")

link = ui.Link({"sentence": ui.Text(DEFAULT_SENTENCE), "d_model": ui.Int(2, 64, 8), "d_k": ui.Int(1, 64, 4),
                "seed": ui.Int(0, 9999, 0), "scale": ui.Bool(True), "causal": ui.Bool(False),
                "query": ui.Int(0, MAX_TOKENS - 1, 0)})
sentence = st.text_input("Sentence", link["sentence"], key="sentence",
                         help=f"Words and punctuation become tokens; at most {MAX_TOKENS} are used.")
c1, c2, c3 = st.columns(3)
d_model = c1.slider("d_model (embedding size)", 2, 64, link["d_model"], key="d_model")
d_k = c2.slider("d_k (query/key/value size)", 1, 64, link["d_k"], key="d_k")
seed = c3.number_input("seed", 0, 9999, link["seed"], key="seed", help="Fixes the random embeddings and projections.")
t1, t2 = st.columns(2)
scale = t1.toggle("divide scores by √d_k", value=link["scale"], key="scale")
causal = t2.toggle("causal mask (a token sees only itself and earlier tokens)", value=link["causal"], key="causal")

tok = tokenize(sentence, MAX_TOKENS)
if not tok.tokens:
    st.warning("The sentence has no words to attend over. Type at least one word, for example: the cat sat on the mat.")
    st.stop()
if tok.truncated:
    st.info(f"The sentence has {tok.total} tokens; only the first {MAX_TOKENS} are used, to keep the charts readable.")
if len(sentence) > 2000:
    st.info(f"Only the first {MAX_TOKENS} tokens of your {len(sentence):,}-character text are used.")

tokens = tok.tokens
labels = charts.token_labels(tokens)
x = embed(tokens, d_model, int(seed))  # (T, d_model)
w_q, w_k, w_v = projections(d_model, d_k, int(seed))  # (d_model, d_k) each
steps = self_attention_steps(x, w_q, w_k, w_v, causal=causal, scale=scale)
if st.session_state.get("query", link["query"]) >= len(tokens):  # the sentence got shorter than the chosen token
    st.session_state["query"] = len(tokens) - 1
query = st.selectbox("token being encoded (the query)", range(len(tokens)), format_func=lambda i: labels[i],
                     index=min(link["query"], len(tokens) - 1), key="query")
link.publish()

st.code(" | ".join(tokens), language=None)
st.caption(f"{len(tokens)} tokens; each gets a seeded random {d_model}-dimensional embedding "
           "(the same word always gets the same vector; no positions are added here).")

features = lambda n, p: [f"{p}{j}" for j in range(n)]

st.header("Step 1 · Project every token to a query, a key and a value")
st.markdown(f"q = x W_Q, k = x W_K, v = x W_V, with W_Q, W_K, W_V each [{d_model}, {d_k}]. "
            f"Q, K and V are [{len(tokens)}, {d_k}]: one row per token.")
cols = st.columns(3)
for col, name, m in zip(cols, ["Q", "K", "V"], [steps.q, steps.k, steps.v]):
    with col:
        ui.chart(charts.heatmap(m.numpy(), labels, features(d_k, "f"), title=name, row_title="token",
                                 col_title="feature", value_title="value", scheme="redblue",
                                 domain=(-3, 3), cell=34 if d_k <= 8 else None))

st.header("Step 2 · Score the query against every key")
st.markdown(f"The score of key token j for query **{ui.md_escape(labels[query])}** is the dot product q·k_j.")
ui.chart(charts.bars(labels, steps.scores[query].numpy(), title=f"scores of query {labels[query]}",
                            x_title="key token", y_title="q · k", highlight=query), stretch=True)

st.header("Step 3 · Divide by √d_k, then softmax over the keys")
s1, s2 = st.columns(2)
with s1:
    ui.chart(charts.bars(labels, steps.scaled[query].numpy(),
                            title=("scores / √d_k" if scale else "scores (not scaled)") + f", √d_k = {d_k ** 0.5:.2f}",
                            x_title="key token", y_title="scaled score", highlight=query), stretch=True)
with s2:
    ui.chart(charts.bars(labels, steps.weights[query].numpy(), title="softmax weights (sum to 1)",
                            x_title="key token", y_title="weight", highlight=query), stretch=True)
if causal:
    st.caption("Causal mask on: keys after the query are set to -∞ before the softmax, so their weight is exactly 0.")
st.markdown("The whole weight matrix, every query at once:")
weights_chart = charts.heatmap(steps.weights.numpy(), labels, labels,
                               title="attention weights: rows are queries, columns are keys; each row sums to 1",
                               domain=(0, 1))
ui.chart(weights_chart)
ui.exports(weights_chart, "attention_weights")

st.header("Step 4 · Weight each value vector")
weighted = steps.weighted_values(query)  # (T_key, d_v)
st.markdown(f"Each value vector v_j is multiplied by its weight a_{{{query},j}}. Keys with a small weight fade out.")
ui.chart(charts.heatmap(weighted.numpy(), labels, features(d_k, "f"), title=f"weight × value, for query {labels[query]}",
                               row_title="key token", col_title="feature", value_title="weighted value",
                               scheme="redblue", domain=(-2, 2), cell=26))

st.header("Step 5 · Sum: the output for this token")
summed = weighted.sum(0)  # (d_v,)
row = steps.output[query]  # (d_v,)
diff = float((summed - row).abs().max())
ui.chart(charts.heatmap(np.stack([summed.numpy(), row.numpy()]), ["Σ weighted values", "row of weights · V"],
                               features(d_k, "f"), title=f"output for {labels[query]}", row_title="", col_title="feature",
                               value_title="value", scheme="redblue", domain=(-2, 2), cell=30))
st.success(f"The sum of the weighted values equals row {query} of weights · V (largest difference {diff:.1e}). "
           f"Doing this for every token at once is the matrix product softmax(QKᵀ/√d_k) V, shape {list(steps.output.shape)}.")

st.header("Why divide by √d_k?")


@st.cache_data(max_entries=8, show_spinner=False)
def peak_curves(n: int):
    d_ks = [2**i for i in range(0, 10)]
    return d_ks, [softmax_peak(d, n, scale=True) for d in d_ks], [softmax_peak(d, n, scale=False) for d in d_ks]


d_ks, with_scale, without = peak_curves(16)
ui.chart(charts.softmax_peak_chart(d_ks, with_scale, without, n_tokens=16, d_k=d_k), stretch=True)
st.caption("A dot product of two random d_k-vectors has variance d_k. Unscaled, the scores spread further apart as "
           "d_k grows and the softmax puts almost all weight on one key, which also makes its gradient vanish. "
           "Dividing by √d_k brings the variance back to 1, so the weights stay spread however large d_k is.")

ui.show_code(tokenize, embed, projections, self_attention_steps)
