"""Streamlit helper for page 6's induction task: the curves with the jump marked, attention over training, each
head's prefix-matching score, the heads that form the circuit, knock-outs and the student's own sequence."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from lab import charts, ui
from lab.analyses import sequence_runs
from lab.server.requests import head_frame, steepest_rise
from lab.ui import knockout_panel, progress
from transformer import induction


def page6(request, status) -> None:
    config = request.config
    snap, models, runs = progress.train_page6(request, status, lambda recs, name: sequence_runs.curves({name: recs}),
                                              "main", "sequences", sequence_runs.INDUCTION_METRICS)
    rise = steepest_rise(snap.main, "token_acc")  # the same jump the sentence below names
    st.subheader("Learning induction: copy what came after this token last time")
    ui.chart(ui.figure(charts.sequence_curves, runs, metrics=sequence_runs.INDUCTION_METRICS,
                       marker=(rise[0], "jump") if rise else None,
                       title=f"Loss and accuracy on {induction.HELD_OUT} held-out sequences"))
    st.markdown(sequence_runs.induction_progress(snap.main))
    if request.compare and snap.other:
        on, off = (snap.main, snap.other) if config.positions else (snap.other, snap.main)
        st.markdown(f"**Positions on and off.** Repeated tokens right with positions: {on[-1].token_acc:.1%}; "
                    f"without: {off[-1].token_acc:.1%}, after {on[-1].step} steps each.")
    st.caption(f"Each sequence is {induction.LENGTH} random tokens from {induction.SYMBOLS} letters in which a run of "
               f"{induction.RUNS[0]} to {induction.RUNS[1]} tokens is repeated once, at a random distance: only the "
               "repeated tokens from the second on can be predicted, and only those are counted.")

    st.subheader("Attention over training")
    evaluation = induction.held_out(config.seed)
    words = sequence_runs.letters(evaluation.tokens[0, :-1])
    # 31 x 31 maps of every head are large: 8 records (the first, the jump, the last among them) keep it light
    steps = [r.step for r in snap.main]
    picked = set(np.linspace(0, len(steps) - 1, 8).round().astype(int).tolist())  # the first and last included
    if rise:
        picked.add(steps.index(rise[0]))
    records = [snap.main[i] for i in sorted(picked)]
    progress.attention_over_training(records, words, "every layer and head on one held-out sequence",
                                     "induction_attention_over_training", cell=14,
                                     lens_names=list(sequence_runs.LETTERS),
                                     lens_what="where the right next token appears")
    a, b, r = (int(v[0]) for v in (evaluation.first, evaluation.second, evaluation.run))
    st.caption(f"In this sequence positions {a}–{a + r - 1} are repeated at {b}–{b + r - 1}. An induction head's rows "
               f"{b}–{b + r - 1} light up one position after each token's earlier occurrence (a diagonal band "
               f"{b - a - 1} positions back); a previous-token head's every row lights up just left of the diagonal.")

    chance = sequence_runs.prefix_chance(config)
    st.subheader("What each head does, in numbers")  # each head's prefix matching over training, and the loss
    reading, window = sequence_runs.phase_change(snap.main)
    ui.chart(ui.figure(charts.circuit_chart, head_frame(snap.main, lambda r: r.share),
                       pd.DataFrame([{"step": r.step, "loss": r.loss} for r in snap.main]),
                       what="prefix-matching score", window=window))
    st.markdown(reading)
    model, circuit = models.get(config), None
    if model is not None:
        _, maps = model.attention_maps(evaluation.tokens[: induction.PROBES, :-1])
        previous = induction.previous_token(maps)
        st.markdown(sequence_runs.induction_sentence(snap.main[-1].share, previous, chance))
        circuit = sequence_runs.induction_heads(snap.main[-1].share, previous, chance)[0]
    knockout_panel.section(model, config, chosen_first=circuit)  # the box starts with the induction heads removed
    own_input(model, evaluation)


@st.fragment
def own_input(model, evaluation) -> None:
    """The student's own sequence: what the model predicts after every token, and where its best induction head
    looks. A fragment: typing a sequence reruns this section only."""
    st.subheader("Your own input")
    start = "".join(sequence_runs.LETTERS[int(t)] for t in evaluation.tokens[0, :-1])
    typed = st.text_input(f"a sequence of the letters a–x (at most {induction.LENGTH - 1}); repeat a run to see the "
                          "induction head copy it", start, key="induction_input", max_chars=3 * induction.LENGTH)
    tokens = sequence_runs.parse_letters(typed)
    if model is None:
        st.info("The trained model is not in this session. Press **Train** to try your own sequence.")
        return
    if not tokens or len(tokens) > induction.LENGTH - 1:
        st.warning(f"Type 1 to {induction.LENGTH - 1} letters from a to x, for example {start[:12]}; "
                   f"got {typed[:40]!r}.")
        return
    idx = torch.tensor([tokens])
    logits, maps = model.attention_maps(idx)
    prefix = induction.prefix_matching(maps, idx)
    later = prefix[1:] if prefix.shape[0] > 1 else prefix  # induction heads sit after layer 0
    layer, head = divmod(int(later.argmax()), prefix.shape[1])
    layer += prefix.shape[0] - later.shape[0]
    before = induction.earlier_occurrence(idx)[0]  # (T,): each token's earlier occurrence, -1 for none
    rows = [{"position": p, "token": sequence_runs.LETTERS[t],
             "predicts next": sequence_runs.LETTERS[int(logits[0, p].argmax())],
             "after its earlier occurrence came": sequence_runs.LETTERS[tokens[int(before[p]) + 1]] if before[p] >= 0
             else "—", f"layer {layer}, head {head} looks most at": int(maps[0, layer, head, p].argmax())}
            for p, t in enumerate(tokens)]
    ui.table(pd.DataFrame(rows))
    st.caption(f"Where a token occurred before, an induction circuit predicts the token that followed it then. "
               f"Layer {layer}, head {head} is the head with the highest prefix-matching score on this sequence.")
