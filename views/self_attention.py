"""Coursework Q2.1: self-attention in five steps, on a sentence the student types."""
import zlib

import streamlit as st

from lab import charts, ui
from lab.analyses import learned_heads
from lab.ui import explain, learned_panel, links, page_fields
from lab.ui.page_fields import DEFAULT_SENTENCE, MAX_CHARS, MAX_TOKENS, MODES
from transformer.attention import explain_weight, self_attention_steps
from transformer.language import LanguageConfig, decode
from transformer.text import embed, projections, sinusoidal_positions, tokenize

st.title("2. Self-attention, step by step")
st.caption("Coursework Q2.1: explain self-attention in five steps. Every number below is computed live.")

link = links.Link("self_attention", page_fields.fields("self_attention"))
learned = st.radio("vectors and weights", list(MODES), format_func=MODES.get, index=link.index("mode", MODES),
                   key="mode", horizontal=True, help="learned: a small GPT trained live on a generated language of "
                   "pronouns and agreement, so 'it' can find 'cat'", on_change=learned_panel.keep_sentences,
                   args=(DEFAULT_SENTENCE, link)) == "learned"  # each mode keeps its own sentence
if learned:
    learned_panel.language_sentence(link["sentence"], DEFAULT_SENTENCE)
sentence = st.text_input("Sentence", link["sentence"], key="sentence", max_chars=MAX_CHARS,
                         help=f"Words and punctuation become tokens; at most {MAX_TOKENS} are used.")
# either mode's controls in one slot of the page, so what follows keeps its place, and its charts update in place
# rather than being drawn anew, when the mode changes; random mode's in both modes, hidden in learned mode
with st.container():
    random_settings = explain.random_controls(link, hidden=learned)
    if learned:  # the trained model fixes the sizes, the causal mask, the scaling and the positions
        model, record = learned_panel.trained_model()
        idx = learned_panel.sentence_ids(sentence)
        if idx is None:
            link.publish()
            st.stop()
        tokens, (d_model, seed, scale, causal, positions) = decode(idx[0]), (model.config.d_model, 0, True, True, False)
        layer, head, x, (w_q, w_k, w_v) = learned_panel.head_inputs(model, record, idx, link["head"])
        d_k = w_q.shape[1]
    else:  # seeded random vectors for any sentence, and the settings to play with
        d_model, d_k, seed, scale, causal, positions = random_settings
        tokens, x, (w_q, w_k, w_v) = explain.random_inputs(link, random_settings, sentence, MAX_TOKENS)
T = len(tokens)
labels = charts.token_labels(tokens)
pe = sinusoidal_positions(T, d_model)  # (T, d_model)
steps = self_attention_steps(x, w_q, w_k, w_v, causal=causal, scale=scale)
st.info(f"**Layout: rows, as in PyTorch.** X is [tokens, d_model] = [{T}, {d_model}], one row per token, so "
        f"q = x W_Q and the scores are QKᵀ, with **rows = queries and columns = keys** (each row of weights sums to "
        "1). Page 1's coursework layout stores the same numbers transposed: X there is [d_model, tokens], "
        "Q = W^Q X is this page's Qᵀ, and its KᵀQ = (QKᵀ)ᵀ, with queries on the columns.", icon=":material/swap_horiz:")
about = (f"{T} tokens. x is each token's {d_model}-dimensional vector entering layer {layer} of the trained model, "
         "after that layer's LayerNorm (its embedding, learned position and the layers before), and W_Q, W_K, W_V "
         f"are head {head}'s slices, [{d_model}, {d_k}]." if learned else f"{T} tokens; each gets a seeded random "
         f"{d_model}-dimensional embedding (the same word always gets the same vector)"
         + (", plus its position's sinusoidal encoding." if positions else "; no positions added."))
note = explain.repeat_note(tokens, steps, positions, learned)  # the tokens, what they are, a repeated word: one element
st.markdown(f"```text\n{' | '.join(tokens)}\n```\n\n{about}" + (f"\n\n{note}" if note else ""))
explain.positions_chart(labels, pe, positions)

features = [f"f{j}" for j in range(d_k)]
# one query (and key) widget per sentence: its options are this sentence's tokens, so a kept choice can never point
# past them; a click on the weight matrix (step 3) chooses both
sentence_id = zlib.crc32(repr(tokens).encode())
WIDE = 600  # px of cells in a full-width matrix (labels and legend take ~200 more); more columns get narrower cells
# From the trained model's head size on, Q, K, V and steps 4-5 take that whole width, the columns sharing it. Learned
# mode draws its head's features as random mode draws the d_k kept for it (at a small d_k in cells of their own size,
# at a large one filling the width): either way the mode switch keeps the charts' spec and only swaps the numbers
FILL_FROM = LanguageConfig().d_model // LanguageConfig().n_heads
fill_from = FILL_FROM if (link["d_k"] if learned else d_k) >= FILL_FROM else None

explain.section("Step 1 · Project every token to a query, a key and a value", f"q = x W_Q, k = x W_K, v = x W_V, "
                f"with W_Q, W_K, W_V each [{d_model}, {d_k}]. Q, K and V are [{T}, {d_k}]: one row per token.")
# one chart at every d_k and in either mode, the matrix picked in the browser: a third of the cells to draw, and one
# spec, so a move of d_k or of the mode updates the chart the page has instead of building it again
ui.chart(ui.figure(charts.matrices_spec, (("Q", steps.q.numpy()), ("K", steps.k.numpy()), ("V", steps.v.numpy())),
                   labels, features, row_title="token", col_title="feature", value_title="value", scheme="redblue",
                   domain=(-3, 3), cell=ui.cell(34), max_width=WIDE, fill_from=fill_from))
st.caption("One matrix at a time: the buttons under the chart switch between Q, K and V in the browser.")

first = learned_heads.pronoun_position(tokens) if learned and link["query"] == 0 else None  # learned: the pronoun
explain.query_steps(steps, labels, features, min(link["query"] if first is None else first, T - 1), sentence_id, link,
                    scale=scale, causal=causal, learned=learned, wide=WIDE, fill_from=fill_from)
explain.why_scale(d_k)

explain.claims(tokens, d_model, d_k, int(seed))
ui.show_code(tokenize, embed, projections, self_attention_steps, explain_weight, sinusoidal_positions)
