"""Streamlit helper for learned attention on words (pages 2 and 3): the language model the server trains once
(progress in the sidebar the first time), a sentence checked against its vocabulary, and page 3's head roles and
knock-out section. The numbers and sentences come from ``lab.analyses.learned_heads``."""
from __future__ import annotations

import streamlit as st

from lab import charts, ui
from lab.analyses import learned_heads
from lab.server.requests import head_name, steepest_rise
from lab.ui import causes_panel, knockout_panel, progress
from transformer.language import EXAMPLES, MAX_WORDS, LanguageRecord, encode


def trained_model() -> tuple[object, LanguageRecord]:
    """The trained language model and its last record; trains it first if this server has not (about ten seconds
    on one core, shared by everyone who asks)."""
    request = learned_heads.LanguageRequest()
    snap, models = progress.watch("language_result", request, live_chart=lambda s: ui.figure(
        charts.sequence_curves, learned_heads.curves(s.records),
        title="Learning the animal language: held-out sentences", metrics=learned_heads.METRICS),
        note="The model learns the language once for the whole server; the page then runs on it.")
    return models[request.config], snap.records[-1]


def _read(sentence: str):
    """(the sentence's token ids, None), or (None, why the trained model cannot read it)."""
    try:
        idx = encode(sentence)
    except ValueError as err:
        return None, str(err)
    if idx.shape[1] > MAX_WORDS:
        return None, (f"the model reads at most {MAX_WORDS} words at once; this has {idx.shape[1]}. For example: "
                      f"{EXAMPLES[0]}")
    return idx, None


def sentence_ids(sentence: str):
    """The sentence's token ids, or None after a message that lists the vocabulary and offers three examples."""
    idx, err = _read(sentence)
    if err is None:
        return idx
    st.error(f"In learned mode the sentence must be in the animal language: {err}", icon=":material/translate:")
    st.caption(learned_heads.vocabulary_note())
    cols = st.columns(len(EXAMPLES))
    for col, example in zip(cols, EXAMPLES, strict=True):
        col.button(example, key=f"example_{example}", on_click=st.session_state.__setitem__,
                   args=("sentence", example), help="Use this sentence")
    return None


def head_inputs(model, record: LanguageRecord, idx, chosen: int):
    """The head picker (``chosen``: its flat index, -1 for the head that resolves pronouns best) and what the five
    steps run on: (layer, head, x (T, d_model) entering that layer after its LayerNorm, (W_Q, W_K, W_V) of the
    head, each (d_model, d_head))."""
    layers, heads = len(model.blocks), model.blocks[0].attn.n_heads
    best_layer, best, _ = learned_heads.best_head(record.shares)
    names = [head_name(layer, h) for layer in range(layers) for h in range(heads)]
    start = chosen if 0 <= chosen < len(names) else best_layer * heads + best
    pick = st.selectbox("head of the trained model", range(len(names)), format_func=names.__getitem__, index=start,
                        key="head", help="Layers and heads counted from 0, as in the coursework's code.")
    layer, head = divmod(pick, heads)
    st.caption("The head that resolves pronouns best, measured on held-out sentences: **"
               + learned_heads.head_sentence(record.shares, learned_heads.default_chances()) + "**")
    return layer, head, learned_heads.layer_vectors(model, idx, layer), learned_heads.head_weights(model, layer, head)


def language_sentence(shown: str, random_default: str) -> None:
    """In learned mode the random page's default sentence (``shown`` is what the box would show) gives way to the
    language's first example, whether the student switched modes or opened a link in learned mode."""
    if st.session_state.get("sentence", shown) == random_default:
        st.session_state["sentence"] = EXAMPLES[0]


def keep_sentences(random_default: str, link, mode_key: str = "mode", key: str = "sentence") -> None:
    """``on_change`` of page 2's mode switch: each mode keeps a sentence of its own. Switching to learned mode, a
    sentence the model cannot read (or the random page's default) gives way to the language's first example, and
    the random sentence is kept; switching back brings it back, unless the student has typed a new one since. The
    query and key start afresh in the new mode (learned: the pronoun, and the key it weighs most)."""
    link.forget("query", "key")
    state = st.session_state
    sentence = state.get(key, random_default)
    if state.get(mode_key) == "learned":
        if sentence == random_default or _read(sentence)[1] is not None:
            state["random_sentence"], state[key] = sentence, EXAMPLES[0]
            state["swapped_sentence"] = state[key]
        return
    kept, swapped = state.pop("random_sentence", None), state.pop("swapped_sentence", None)
    if kept is not None and sentence == swapped:
        state[key] = kept


@st.cache_data(max_entries=32, show_spinner=False)
def _knockout(config_key: str, heads: tuple[tuple[int, int], ...], _model) -> dict[str, float]:
    return learned_heads.knockout(_model, list(heads))


def section() -> None:
    """Page 3's learned heads: every layer and head on a sentence, each head's measured role, and knocking heads out
    to see what breaks. The switch and the first training (progress in the sidebar, which a fragment may not write
    to) run with the page; what follows is a fragment."""
    st.header("Heads that learned something: the animal language")
    if not st.toggle("show a trained model's heads (the first time, the server trains it: about ten seconds)",
                     key="learned_heads"):
        st.caption("A small GPT learns a generated language in which 'then it meowed' needs the pronoun to find its "
                   "noun, and 'the cats near the dog were' needs the verb to agree with the head noun. Switch it on "
                   "to see which heads do which job, and knock them out to test it.")
        return
    model, record = trained_model()
    _heads(model, record)


@st.fragment
def _heads(model, record: LanguageRecord) -> None:
    """The trained model's heads on a sentence, their roles and the knock-out box: a fragment, so the sentence and
    the head picker rerun only this part of the page."""
    sentence = st.text_input("a sentence of the language", EXAMPLES[0], key="learned_sentence")
    idx = sentence_ids(sentence)
    if idx is None:
        return
    from transformer.language import decode

    words = charts.token_labels(decode(idx[0]))
    _, maps = model.attention_maps(idx)  # (1, layers, heads, T, T)
    ui.chart(ui.figure(charts.attention_grid, maps[0].numpy(), words, words, cell=ui.cell(22), max_width=ui.room(),
                       title="the trained model, every layer and head: rows are queries, columns are keys"))
    chance = learned_heads.default_chances()
    st.markdown("**Each head's role, measured** on held-out sentences (the share of attention each puts where a "
                "job needs it; spread evenly, a pronoun would give each noun "
                f"{chance['referent_share']:.0%}, the word before was/were the head noun "
                f"{chance['agreement_share']:.0%}):")
    ui.table(learned_heads.role_table(record.shares, chance))
    picked = knockout_panel.head_picker("knock out heads (their output set to zero)", len(model.blocks),
                                        model.blocks[0].attn.n_heads, [learned_heads.best_head(record.shares)[:2]],
                                        "knockout")
    result = _knockout(repr(model.config), picked, model)
    st.markdown(learned_heads.knockout_sentence(result, list(picked)))
    st.caption("Looking is not doing: a head can attend to the noun without the answer depending on it. Removing "
               "it and measuring the accuracy on 2,000 held-out sentences is the causal test.")
    causes_panel.section(model, record, decode(idx[0]))


def page6(request: learned_heads.LanguageRequest, status) -> None:
    """Page 6 with the animal language as its task: the curves, the attention of one sentence over training (the
    pronoun head forming), and each head's referent share over training."""

    from transformer.language import HELD_OUT, VOCAB, decode

    config = request.config
    snap, _, runs = progress.train_page6(request, status, learned_heads.curves, "records", "sentences",
                                         learned_heads.METRICS)
    st.subheader("Learning the animal language: pronouns and agreement")
    ui.chart(ui.figure(charts.sequence_curves, runs, metrics=learned_heads.METRICS,
                       title=f"Loss and accuracy on {2 * HELD_OUT:,} held-out sentences"))
    st.markdown(learned_heads.progress_sentence(snap.records))
    if request.compare and snap.other:
        on, off = (snap.records, snap.other) if config.positions else (snap.other, snap.records)
        st.markdown(f"**Positions on and off.** With positions: pronouns {on[-1].pronoun_acc:.1%}, agreement "
                    f"{on[-1].agreement_acc:.1%}; without: {off[-1].pronoun_acc:.1%} and "
                    f"{off[-1].agreement_acc:.1%}, after {on[-1].step} steps each.")
    st.subheader("Attention over training")
    words = charts.token_labels(decode(encode(EXAMPLES[0])[0]))
    progress.attention_over_training(snap.records, words,
                                     f"every layer and head on '{EXAMPLES[0]}'",
                                     "language_attention_over_training", lens_names=VOCAB,
                                     lens_what="where the right next word appears")
    rise = steepest_rise(snap.records, "pronoun_acc")  # the same jump the sentence above names
    st.caption("Rows are queries, columns are keys; the causal mask leaves the upper right empty. Look at the row "
               "'7: it': a head whose weight moves onto '1: cat'"
               + (f" around step {rise[0]}, where pronoun accuracy jumps" if rise else "") + ".")
    chance = learned_heads.default_chances(config.seed)
    progress.head_shares(snap.records, lambda r: r.shares["referent_share"], chance["referent_share"],
                         "the pronoun's noun")
    st.markdown("Measured on held-out sentences: " + learned_heads.head_sentence(snap.records[-1].shares, chance)
                + " Does the answer need that head? Knock it out on page 3 (heads that learned something).")
    st.page_link("views/multi_head.py", label="Knock heads out on page 3", icon=":material/view_module:")
