"""Coursework Q2.1: self-attention in five steps, on a sentence the student types."""
import zlib

import numpy as np
import streamlit as st

from lab import charts, ui
from lab.ui import explain, links
from transformer.attention import explain_weight, self_attention_steps, softmax_peak
from transformer.text import embed, projections, sinusoidal_positions, tokenize

MAX_TOKENS = 12
MAX_CHARS = 300  # the text box and the shareable link take the same length, so every sentence makes a link that opens
DEFAULT_SENTENCE = "the cat sat on the mat"

st.title("2. Self-attention, step by step")
st.caption("Coursework Q2.1: explain self-attention in five steps. Every number below is computed live.")

link = links.Link("self_attention", {
    "sentence": links.Text(DEFAULT_SENTENCE, MAX_CHARS), "d_model": links.Int(2, 64, 8), "d_k": links.Int(1, 64, 4),
    "seed": links.Int(0, 9999, 0), "scale": links.Bool(True), "causal": links.Bool(False),
    "query": links.Int(0, MAX_TOKENS - 1, 0), "key": links.Int(0, MAX_TOKENS - 1, 0), "positions": links.Bool(False)})
sentence = st.text_input("Sentence", link["sentence"], key="sentence", max_chars=MAX_CHARS,
                         help=f"Words and punctuation become tokens; at most {MAX_TOKENS} are used.")
c1, c2, c3 = st.columns(3)
d_model = c1.slider("d_model (embedding size)", 2, 64, link["d_model"], key="d_model")
d_k = c2.slider("d_k (query/key/value size)", 1, 64, link["d_k"], key="d_k")
seed = c3.number_input("seed", 0, 9999, link["seed"], key="seed", help="Fixes the random embeddings and projections.")
t1, t2, t3 = st.columns(3)
scale = t1.toggle("divide scores by √d_k", value=link["scale"], key="scale")
causal = t2.toggle("causal mask", value=link["causal"], key="causal",
                   help="A token sees only itself and earlier tokens, as in a GPT.")
positions = t3.toggle("add positions (sinusoidal)", value=link["positions"], key="positions",
                      help="Adds Vaswani et al.'s sinusoidal positional encodings to the token vectors.")

tok = tokenize(sentence, MAX_TOKENS)
if not tok.tokens:
    link.publish()
    st.warning("The sentence has no words to attend over. Type at least one word, for example: the cat sat on the mat.")
    st.stop()
if tok.truncated:
    st.info(f"The sentence has {tok.total} tokens; only the first {MAX_TOKENS} are used, to keep the charts readable.")

tokens = tok.tokens
T = len(tokens)
labels = charts.token_labels(tokens)
pe = sinusoidal_positions(T, d_model)  # (T, d_model)
x = embed(tokens, d_model, int(seed)) + (pe if positions else 0)  # (T, d_model)
w_q, w_k, w_v = projections(d_model, d_k, int(seed))  # (d_model, d_k) each
steps = self_attention_steps(x, w_q, w_k, w_v, causal=causal, scale=scale)
# one query (and key) widget per sentence: its options are this sentence's tokens, so a kept choice can never point
# past them; a click on the weight matrix (step 3) chooses both
sentence_id = zlib.crc32(repr(tokens).encode())
explain.apply_click("weights_click", labels, f"query_{sentence_id}", f"key_{sentence_id}")
query = st.selectbox("token being encoded (the query)", range(T), format_func=lambda i: labels[i],
                     index=min(link["query"], T - 1), key=f"query_{sentence_id}")
query = query if isinstance(query, int) and 0 <= query < T else 0

SCALED = "QKᵀ/√d_k" if scale else "QKᵀ"
MODE = ", ".join([f"scores {'÷ √d_k' if scale else 'not scaled'}", f"causal mask {'on' if causal else 'off'}"])
st.info(f"**Layout: rows, as in PyTorch.** X is [tokens, d_model] = [{T}, {d_model}], one row per token, so "
        f"q = x W_Q and the scores are QKᵀ, with **rows = queries and columns = keys** (each row of weights sums to "
        "1). Page 1's coursework layout stores the same numbers transposed: X there is [d_model, tokens], "
        "Q = W^Q X is this page's Qᵀ, and its KᵀQ = (QKᵀ)ᵀ, with queries on the columns.", icon=":material/swap_horiz:")
st.code(" | ".join(tokens), language=None)
st.caption(f"{T} tokens; each gets a seeded random {d_model}-dimensional embedding (the same word always gets the "
           "same vector)" + (", plus its position's sinusoidal encoding." if positions else "; no positions added."))
explain.positions_note(tokens, labels, steps, pe, positions)

features = [f"f{j}" for j in range(d_k)]
WIDE = 600  # px of cells in a full-width matrix (labels and legend take ~200 more); more columns get narrower cells

st.header("Step 1 · Project every token to a query, a key and a value")
st.markdown(f"q = x W_Q, k = x W_K, v = x W_V, with W_Q, W_K, W_V each [{d_model}, {d_k}]. "
            f"Q, K and V are [{T}, {d_k}]: one row per token.")
side_by_side = d_k <= 4  # three matrices fit next to each other only while they are narrow
cols = st.columns(3) if side_by_side else [st.container()] * 3
for col, name, m in zip(cols, ["Q", "K", "V"], [steps.q, steps.k, steps.v], strict=True):
    ui.chart(ui.figure("heatmap", m.numpy(), labels, features, title=name, row_title="token", col_title="feature",
                            value_title="value", scheme="redblue", domain=(-3, 3), cell=ui.cell(34),
                            max_width=150 if side_by_side else WIDE), into=col)

st.header("Step 2 · Score the query against every key")
st.markdown(f"The score of key token j for query **{ui.md_escape(labels[query])}** is the dot product q·k_j."
            + (" Keys after the query are greyed out: the causal mask removes them in step 3." if causal else ""))
future = [causal and j > query for j in range(T)]
ui.chart(ui.figure("bars", labels, steps.scores[query].numpy(), title=f"scores of query {labels[query]}",
                     x_title="key token", y_title="q · k", highlight=query, masked=future), stretch=True)

st.header("Step 3 · " + ("Divide by √d_k, then softmax" if scale else "Softmax (scaling is off)") + " over the keys")
s1, s2 = st.columns(2)
ui.chart(ui.figure("bars", labels, steps.scaled[query].numpy(),
                     title=(f"scores / √d_k, √d_k = {d_k ** 0.5:.2f}" if scale else "scores, not divided by √d_k"),
                     x_title="key token", y_title="scaled score" if scale else "score (not scaled)", highlight=query,
                     masked=future), stretch=True, into=s1)
ui.chart(ui.figure("bars", labels, steps.weights[query].numpy(), title="softmax weights (sum to 1)",
                   x_title="key token", y_title="weight", highlight=query, masked=future), stretch=True, into=s2)
if causal:
    st.caption("Causal mask on: keys after the query are set to -∞ before the softmax, so their weight is exactly 0.")
st.markdown(f"The whole weight matrix, every query at once: softmax({SCALED}) ({MODE}). Rows are queries, columns "
            "are keys, and each row sums to 1" + ("; the blank cells are the keys the causal mask removes (weight "
            "exactly 0)." if causal else ".") + " The outlined cell is the one explained below.")
key = st.session_state.get(f"key_{sentence_id}", min(link["key"], T - 1))
key = key if isinstance(key, int) and 0 <= key < T else 0
blank = np.triu(np.ones((T, T), dtype=bool), 1) if causal else None
weights_chart = ui.figure("heatmap", steps.weights.numpy(), labels, labels, domain=(0, 1), cell=ui.cell(None),
                          title=[f"softmax({SCALED})", MODE, "rows: queries · columns: keys"], select="cell",
                          mark=(query, key), blank=blank)
ui.chart(weights_chart, on_select="cell", key="weights_click")
ui.exports(weights_chart, "attention_weights")
st.markdown("**Where does one weight come from?** Click a cell above, or pick the key here:")
key = st.selectbox("key token", range(T), format_func=lambda i: labels[i], index=key, key=f"key_{sentence_id}")
link.publish(query=query, key=key)
explain.derivation(explain_weight(steps, query, key), labels, scale)

st.header("Step 4 · Weight each value vector")
weighted = steps.weighted_values(query)  # (T_key, d_v)
st.markdown(f"Each value vector v_j is multiplied by its weight a_{{{query},j}}. Keys with a small weight fade out.")
ui.chart(ui.figure("heatmap", weighted.numpy(), labels, features, title=f"weight × value, for query {labels[query]}",
                        row_title="key token", col_title="feature", value_title="weighted value", scheme="redblue",
                        domain=(-2, 2), cell=ui.cell(26), max_width=WIDE))

st.header("Step 5 · Sum: the output for this token")
summed = weighted.sum(0)  # (d_v,)
row = steps.output[query]  # (d_v,)
diff = float((summed - row).abs().max())
ui.chart(ui.figure("heatmap", np.stack([summed.numpy(), row.numpy()]), ["Σ weighted values", "row of weights · V"],
                        features, title=f"output for {labels[query]}", row_title="", col_title="feature",
                        value_title="value", scheme="redblue", domain=(-2, 2), cell=ui.cell(30), max_width=WIDE))
st.success(f"The sum of the weighted values equals row {query} of weights · V (largest difference {diff:.1e}). "
           f"Doing this for every token at once is the matrix product softmax({SCALED}) V"
           + (" with the causal mask" if causal else "") + f", shape {list(steps.output.shape)}.")

st.header("Why divide by √d_k?")


@st.cache_data(max_entries=8, show_spinner=False)
def peak_curves(n: int):
    d_ks = [2**i for i in range(0, 10)]
    return d_ks, [softmax_peak(d, n, scale=True) for d in d_ks], [softmax_peak(d, n, scale=False) for d in d_ks]


d_ks, with_scale, without = peak_curves(16)
ui.chart(ui.figure("softmax_peak_chart", d_ks, with_scale, without, n_tokens=16, d_k=d_k), stretch=True)
st.caption("A dot product of two random d_k-vectors has variance d_k. Unscaled, the scores spread further apart as "
           "d_k grows and the softmax puts almost all weight on one key, which also makes its gradient vanish. "
           "Dividing by √d_k brings the variance back to 1, so the weights stay spread however large d_k is.")

explain.claims(tokens, d_model, d_k, int(seed))
ui.show_code(tokenize, embed, projections, self_attention_steps, explain_weight, sinusoidal_positions)
