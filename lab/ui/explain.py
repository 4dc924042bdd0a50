"""Streamlit helper for page 2's deeper sections: where one weight comes from, what positions change, and the
seed answer's claim tested. Every figure is computed by ``transformer.attention`` from the page's own vectors."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from lab import charts, ui
from transformer.attention import WeightDerivation, explain_weight, permutation_gap, self_peak_share, softmax_peak
from transformer.text import embed, projections


def clicked_cell(key: str, labels: list[str]) -> tuple[int, int] | None:
    """(query, key) of the weight-matrix cell clicked on the previous run, or None."""
    state = st.session_state.get(key)
    points = (state or {}).get("selection", {}).get("cell", []) if state else []
    if not points or points[0].get("row") not in labels or points[0].get("col") not in labels:
        return None
    return labels.index(points[0]["row"]), labels.index(points[0]["col"])


@st.fragment
def query_steps(steps, labels: list[str], features: list[str], start: int, sentence_id: int, link, *, scale: bool,
                causal: bool, learned: bool, wide: int, fill_from: int | None) -> None:
    """Steps 2-5 for one query, with the query's and the key's pickers: a fragment, so choosing another query or key,
    or clicking a weight, reruns these steps only (step 1 and everything above stay as they are). ``start``: the
    query to begin on; ``sentence_id`` names this sentence's two select boxes; ``wide`` and ``fill_from``: steps
    4-5's width in px and the number of features from which they fill it (``heatmap_spec``'s ``max_width`` and
    ``fill_from``)."""
    query_key, key_key = f"query_{sentence_id}", f"key_{sentence_id}"
    clicked = clicked_cell("weights_click", labels)
    if clicked and clicked != st.session_state.get("applied_click"):  # a new click chooses the query and the key
        st.session_state["applied_click"] = clicked
        st.session_state[query_key], st.session_state[key_key] = clicked
    n = len(labels)
    root = len(features) ** 0.5
    # steps 2 and 3 in one block of text and one chart of three panels, the keys lined up: what scaling and the
    # softmax do to the query's scores, seen bar by bar (one chart for the browser to redraw, not three)
    section("Step 2 · Score the query against every key", "The score of key token j for the query is the dot "
            "product q·k_j." + (" Keys after the query are greyed out: the causal mask removes them in step 3."
                                if causal else ""),
            ("Step 3 · " + ("Divide by √d_k, then softmax over the keys" if scale else
                            "Softmax (scaling is off) over the keys"),
             (f"The scores are divided by √d_k = {root:.2f}, then the softmax turns them into weights" if scale else
              "The softmax turns the scores, not divided by √d_k, into weights") + " that are positive and sum to 1. "
             "The three panels below follow one query's row through both steps, key by key."))
    query = st.selectbox("token being encoded (the query)", range(n), format_func=lambda i: labels[i], index=start,
                         key=query_key)
    query = query if isinstance(query, int) and 0 <= query < n else 0
    future = [causal and j > query for j in range(n)]
    ui.chart(ui.figure(charts.stages_spec, labels, [
        (f"step 2 · scores of query {labels[query]}", "q · k", steps.scores[query].numpy()),
        (f"step 3 · scores / √d_k, √d_k = {root:.2f}" if scale else "step 3 · scores, not divided by √d_k",
         "score into the softmax", steps.scaled[query].numpy()),
        ("step 3 · softmax weights (sum to 1)", "weight", steps.weights[query].numpy())],
        x_title="key token", highlight=query, masked=future), stretch=True)
    scaled = "QKᵀ/√d_k" if scale else "QKᵀ"
    mode = ", ".join([f"scores {'÷ √d_k' if scale else 'not scaled'}", f"causal mask {'on' if causal else 'off'}"])
    # learned mode starts on the key the query weighs most (for "it": the noun it refers to)
    first_key = int(steps.weights[query].argmax()) if learned and link["key"] == 0 else min(link["key"], n - 1)
    key = st.session_state.get(key_key, first_key)
    key = key if isinstance(key, int) and 0 <= key < n else 0
    st.markdown(("**Causal mask on:** keys after the query are set to -∞ before the softmax, so their weight is "
                 "exactly 0.\n\n" if causal else "")
                + f"The whole weight matrix, every query at once: softmax({scaled}) ({mode}). Rows are queries, "
                "columns are keys, and each row sums to 1" + ("; the blank cells are the keys the causal mask removes "
                "(weight exactly 0)." if causal else ".") + " The outlined cell is the one explained below.")
    # 40 px a cell whatever the sentence's length (at most 12 tokens: 480 px), so a new sentence keeps the chart's spec
    weights = ui.figure(charts.heatmap_spec, steps.weights.numpy(), labels, labels, domain=(0, 1), cell=ui.cell(40),
                        title=[f"softmax({scaled})", mode, "rows: queries · columns: keys"], select="cell",
                        mark=(query, key), blank=np.triu(np.ones((n, n), dtype=bool), 1) if causal else None)
    ui.chart(weights, on_select="cell", key="weights_click")
    ui.exports(weights, "attention_weights")
    key = st.selectbox("Where does one weight come from? Pick its key token here, or click a cell above", range(n),
                       format_func=lambda i: labels[i], index=key, key=key_key)
    link.publish(query=query, key=key)
    derivation(explain_weight(steps, query, key), labels, scale)

    steps_four_five(steps.weighted_values(query), steps.output, query, labels, features, scaled, causal, wide,
                    fill_from)


def section(title: str, text: str, *more: tuple[str, str]) -> None:
    """A step's heading and its text, and those of the steps in ``more`` ((heading, text) each), in one element (one
    fewer for the browser to redraw on every move)."""
    st.markdown("\n\n".join(f"## {t}\n\n{body}" for t, body in ((title, text), *more)))


def derivation(d: WeightDerivation, labels: list[str], scale: bool) -> None:
    """The panel that derives one weight, step by step, with the numbers the charts above show: one markdown block
    (one element for the browser to redraw on every move), its feature-by-feature table fixed-width text that
    scrolls sideways when d_k is large."""
    st.markdown(derivation_text(d, labels, scale))


def products_table(d: WeightDerivation) -> str:
    """q, k and their products feature by feature, as aligned fixed-width text: one column a feature."""
    rows = [("", [f"f{j}" for j in range(len(d.q))])] + [
        (name, [f"{v:.4f}" for v in row.tolist()]) for name, row in (
            (f"q_{d.query}", d.q), (f"k_{d.key}", d.k), ("q × k", d.products))]
    width = max(len(cell) for _, cells in rows for cell in cells) + 2
    first = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{first}}" + "".join(f"{cell:>{width}}" for cell in cells) for name, cells in rows)


def derivation_text(d: WeightDerivation, labels: list[str], scale: bool) -> str:
    root = len(d.q) ** 0.5
    lines = [f"1. Sum of the products: q·k = **{d.score:.4f}** (the score in step 2)."]
    lines.append(f"2. Divided by √d_k = {root:.4f}: **{d.scaled:.4f}**." if scale else
                 f"2. Scaling is off, so the scaled score is the score: **{d.scaled:.4f}**.")
    if d.masked:
        lines.append(f"3. The causal mask sets this key's logit to -∞ because it comes after the query "
                     f"({d.key} > {d.query}), and e^-∞ = 0, so its weight is **exactly 0**, whatever the score.")
    else:
        lines.append(f"3. Softmax over the row: e^(logit − the row's largest) for each key, summing to "
                     f"{d.exp_sum:.4f}; this key's is {float(d.row_exps[d.key]):.4f}, so its weight is "
                     f"{float(d.row_exps[d.key]):.4f} / {d.exp_sum:.4f} = **{d.weight:.4f}**, the cell you chose.")
    softmax = ["| key | logit | exp(logit − max) | weight |", "|---|--:|--:|--:|"] + [
        f"| {ui.md_escape(label)} | {logit:.4f} | {e:.4f} | {e / d.exp_sum:.4f} |"
        for label, logit, e in zip(labels, d.row_logits.tolist(), d.row_exps.tolist(), strict=True)]
    return (f"**Weight of key {ui.md_escape(labels[d.key])} for query {ui.md_escape(labels[d.query])}**: the query, "
            f"the key and their products, feature by feature:\n\n```text\n{products_table(d)}\n```\n\n"
            + "\n".join(lines) + "\n\nThe whole row, key by key:\n\n" + "\n".join(softmax))


def repeated_words(tokens: list[str]) -> tuple[int, int] | None:
    """The first two positions holding the same word, if any."""
    seen = {}
    for i, t in enumerate(tokens):
        if t.lower() in seen:
            return seen[t.lower()], i
        seen[t.lower()] = i
    return None


@st.cache_data(max_entries=32, show_spinner=False)
def shuffle_gaps(tokens: tuple[str, ...], d_model: int, d_k: int, seed: int) -> tuple[list[int], float, float]:
    """A seeded shuffle of the tokens, and the largest gap from permutation-equivariance without and with
    positions."""
    from transformer.text import sinusoidal_positions

    x = embed(list(tokens), d_model, seed)  # (T, d_model)
    w = projections(d_model, d_k, seed)
    perm = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(seed + 1))
    pe = sinusoidal_positions(len(tokens), d_model)
    return perm.tolist(), permutation_gap(x, *w, perm), permutation_gap(x, *w, perm, positions=pe)


@st.cache_data(max_entries=32, show_spinner=False)
def claim_shares(tokens: tuple[str, ...], d_model: int, d_k: int, seeds: int = 200) -> dict:
    def x_for(seed: int):
        return embed(list(tokens), d_model, seed)

    plain, tied, rows = self_peak_share(x_for, d_model, d_k, seeds)
    return {"plain": plain, "tied": tied, "rows": rows, "chance": 1 / len(tokens)}


def claim_sentence(c: dict, seeds: int = 200) -> str:
    chance, plain, tied = c["chance"], c["plain"], c["tied"]
    verdict = ("so the claim fails: a token's own key wins no more often than chance" if plain < 1.5 * chance else
               "so a token often, but far from always, looks most at itself" if plain < 0.9 else
               "so here the claim nearly holds")
    return (f"Over {seeds} random seeds ({c['rows']:,} query rows of this sentence): the largest weight falls on the "
            f"token itself in **{plain:.0%}** of rows with independent W_Q and W_K, against **{chance:.0%}** by chance "
            f"(1/T), {verdict}. With W_Q = W_K it does in **{tied:.0%}**: q_i·k_i = |x_i W_Q|² is then the largest "
            "dot product a query can make with a key of similar length. So the claim holds when queries and keys "
            "are made alike (W_Q = W_K, or a trained model that learns to look at itself), not in general; trained "
            "heads often look elsewhere, as page 6 shows.")


def repeat_sentence(word: str, i: int, j: int, gap: float, positions: bool, learned: bool) -> str:
    """What a repeated word's rows show, from their measured gap: identical rows, or what tells them apart."""
    head = f"'{word}' at positions {i} and {j} gets rows in Q, K and V that differ by at most **{gap:.4f}**: "
    if gap < 1e-6:
        return head + "identical, because nothing tells the two apart." + (
            "" if learned else " Switch positions on to separate them.")
    if learned:
        return head + ("different: in the trained model each carries its learned position, and the layers before "
                       "have mixed in the words around it.")
    return head + ("each now carries its own position's encoding." if positions else "different.")


def repeat_note(tokens: list[str], steps, positions: bool, learned: bool = False) -> str:
    """What positions change for a repeated word, measured on this sentence's rows ("" when no word repeats)."""
    pair = repeated_words(tokens)
    if not pair:
        return ""
    i, j = pair
    gap = max(float((m[i] - m[j]).abs().max()) for m in (steps.q, steps.k, steps.v))
    return repeat_sentence(ui.md_escape(tokens[i]), i, j, gap, positions, learned)


def hiding(key: str) -> str:
    """The style that hides the slot of the container keyed ``key``, wrapper and all (so it leaves no gap in the
    page). Sent with ``st.html``: a style only, which Streamlit puts outside the page's flow, so nothing after it
    moves."""
    return f'<style>[data-testid="stLayoutWrapper"]:has(> .st-key-{key}) {{ display: none; }}</style>'


def positions_chart(labels: list[str], pe, shown: bool) -> None:
    """The sinusoidal encodings added to the tokens, while positions are on (``shown``). Once drawn, the chart stays
    in its slot, hidden, while they are off: its last spec is sent again, which the browser already has, so turning
    positions off and on again shows the chart the browser kept instead of building a new one (or a new sentence or
    size swaps its data in). Kept for the session: a return to the page draws it, hidden."""
    last = st.session_state.get("_positions_spec")
    if shown:
        last = st.session_state["_positions_spec"] = ui.figure(
            charts.heatmap_spec, pe.numpy(), labels, [f"d{k}" for k in range(pe.shape[1])], row_title="position",
            col_title="dimension", value_title="PE", scheme="redblue", domain=(-1, 1), max_width=600,
            title="sinusoidal positional encodings added to the tokens: positions × dimensions")
    with st.container(key="positions_chart"):
        if last is not None:
            ui.chart(last)
    if last is not None and not shown:
        st.html(hiding("positions_chart"))


def shuffle_demo(tokens: list[str], d_model: int, d_k: int, seed: int) -> None:
    perm, plain, with_pe = shuffle_gaps(tuple(tokens), d_model, d_k, seed)
    order = " | ".join(ui.md_escape(tokens[p]) for p in perm)
    st.markdown(f"**Shuffle the tokens** (seeded: {order}). Without positions, the new weight matrix is the old one "
                f"with its rows and columns moved the same way: largest difference **{plain:.1e}** (float rounding), "
                f"so self-attention is *permutation-equivariant*: it cannot tell word order. With sinusoidal positions "
                f"added after the shuffle, it differs by up to **{with_pe:.3f}**: order now matters.")


def claims(tokens: list[str], d_model: int, d_k: int, seed: int) -> None:
    st.header("Order, and the seed answer's claim, tested")
    ui.lazy("Shuffle the tokens, and test the seed answer's claim over 200 seeds", "claims_open",
            lambda: _claims(tokens, d_model, d_k, seed), icon=":material/science:")


def _claims(tokens: list[str], d_model: int, d_k: int, seed: int) -> None:
    shuffle_demo(tokens, d_model, d_k, seed)
    st.markdown("The coursework's seed answer says that *the word in the current position invariably attains the "
                "highest softmax value*. Measured:")
    if len(tokens) < 2:
        st.markdown("With a single token there is no other key to compete with: its weight is 1 whatever the vectors, "
                    "so one word tests nothing. Type a sentence of two or more words to test the claim.")
        return
    st.markdown(claim_sentence(claim_shares(tuple(tokens), d_model, d_k)))


def steps_four_five(weighted, output, query: int, labels: list[str], features: list[str], scaled: str, causal: bool,
                    wide: int, fill_from: int | None) -> None:
    """Steps 4 and 5 under one block of text, in one chart of two panels with the features lined up: each value
    vector times its weight, and their sum against the row of the matrix product, with the difference measured."""
    summed, row = weighted.sum(0), output[query]  # (d_v,) each
    diff = float((summed - row).abs().max())
    section("Step 4 · Weight each value vector", f"Each value vector v_j is multiplied by its weight a_{{{query},j}}. "
            "Keys with a small weight fade out.",
            ("Step 5 · Sum: the output for this token", "The weighted values summed over the keys, feature by "
             "feature, are the token's output: the lower panel's first row, above the same row of the matrix product."))
    look = dict(col_title="feature", value_title="value", scheme="redblue", domain=(-2, 2), cell=ui.cell(26),
                max_width=wide, fill_from=fill_from)
    ui.chart(ui.figure(charts.heatmaps_spec, [
        (weighted.numpy(), labels, features, dict(look, title=f"step 4 · weight × value, for query {labels[query]}",
                                                  row_title="key token")),
        (np.stack([summed.numpy(), row.numpy()]), ["Σ weighted values", "row of weights · V"], features,
         dict(look, title=f"step 5 · output for {labels[query]}", row_title=""))]))
    st.success(f"The sum of the weighted values equals row {query} of weights · V (largest difference {diff:.1e}). "
               f"Doing this for every token at once is the matrix product softmax({scaled}) V"
               + (" with the causal mask" if causal else "") + f", shape {list(output.shape)}.")


@st.cache_data(max_entries=8, show_spinner=False)
def peak_curves(n: int):
    d_ks = [2**i for i in range(0, 10)]
    return d_ks, [softmax_peak(d, n, scale=True) for d in d_ks], [softmax_peak(d, n, scale=False) for d in d_ks]


def why_scale(d_k: int) -> None:
    """Why divide by √d_k: the mean largest softmax weight against d_k, measured on random vectors."""
    st.header("Why divide by √d_k?")
    ui.lazy("The largest softmax weight against d_k, measured with and without the scaling", "why_scale_open",
            lambda: _why_scale(d_k), icon=":material/straighten:")


def _why_scale(d_k: int) -> None:
    d_ks, with_scale, without = peak_curves(16)
    ui.chart(ui.figure(charts.softmax_peak_chart, d_ks, with_scale, without, n_tokens=16, d_k=d_k), stretch=True)
    st.caption("A dot product of two random d_k-vectors has variance d_k. Unscaled, the scores spread further apart "
               "as d_k grows and the softmax puts almost all weight on one key, which also makes its gradient "
               "vanish. Dividing by √d_k brings the variance back to 1, so the weights stay spread however large "
               "d_k is.")


def random_controls(link, hidden: bool) -> tuple[int, int, int, bool, bool, bool]:
    """Random mode's six controls: (d_model, d_k, seed, scale, causal, positions). In the page in either mode, hidden
    in learned mode (``hidden``), which fixes those settings: a mode switch then shows or hides the controls the browser
    has instead of building six widgets anew (or throwing them away), and the random settings are kept for the
    return."""
    with st.container(key="random_controls"):
        settings = _random_controls(link)
    if hidden:
        st.html(hiding("random_controls"))
    return settings


def _random_controls(link) -> tuple[int, int, int, bool, bool, bool]:
    c1, c2, c3 = st.columns(3)  # each control over the switch it goes with: embeddings, d_k, the seed's inputs
    d_model = c1.slider("d_model (embedding size)", 2, 64, link["d_model"], key="d_model")
    positions = c1.toggle("add positions (sinusoidal)", value=link["positions"], key="positions",
                          help="Adds Vaswani et al.'s sinusoidal positional encodings to the token vectors.")
    d_k = c2.slider("d_k (query/key/value size)", 1, 64, link["d_k"], key="d_k")
    scale = c2.toggle("divide scores by √d_k", value=link["scale"], key="scale")
    seed = int(c3.number_input("seed", 0, 9999, link["seed"], key="seed",
                               help="Fixes the random embeddings and projections."))
    causal = c3.toggle("causal mask", value=link["causal"], key="causal",
                       help="A token sees only itself and earlier tokens, as in a GPT.")
    return d_model, d_k, seed, scale, causal, positions


def random_inputs(link, settings: tuple[int, int, int, bool, bool, bool], sentence: str, max_tokens: int):
    """Random mode's inputs for ``random_controls``'s settings: (tokens, x (T, d_model), (W_Q, W_K, W_V) each
    (d_model, d_k)). Stops the page, with a message, when there is no word."""
    from transformer.text import sinusoidal_positions, tokenize

    d_model, d_k, seed, _, _, positions = settings
    tok = tokenize(sentence, max_tokens)
    if not tok.tokens:
        link.publish()
        st.warning("The sentence has no words to attend over. Type at least one word, for example: the cat sat on "
                   "the mat.")
        st.stop()
    note = st.empty()  # a placeholder in every run, so the note coming or going moves nothing after it
    if tok.truncated:
        note.info(f"The sentence has {tok.total} tokens; only the first {max_tokens} are used, to keep the charts "
                  "readable.")
    x = embed(tok.tokens, d_model, seed) + (sinusoidal_positions(len(tok.tokens), d_model) if positions else 0)
    return tok.tokens, x, projections(d_model, d_k, seed)
