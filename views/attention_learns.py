"""Watch attention learn: a GPT-style decoder, trained live on reverse, sort or copy, and what its heads learn."""
import streamlit as st
import torch

from lab import charts, ui
from lab.analyses import sequence_runs
from lab.analyses.learned_heads import LanguageRequest
from lab.analyses.sequence_runs import LABELS, LENGTHS, OPTIONS, WHAT, labels, token_name
from lab.ui import experiments, induction_panel, knockout_panel, learned_panel, links, page_fields, progress
from transformer import sequence as seq
from transformer.sequence import SeqConfig

st.title("6. Watch attention learn")
st.caption("The coursework's notebook goes on from multi-head attention to a GPT. Here a small GPT-style decoder, "
           "built from this package's own transformer block with the causal mask, learns a task while you watch.")

D = SeqConfig()
link = links.Link("attention_learns", page_fields.fields("attention_learns"))
if note := link.teacher_note(LABELS):
    st.caption(note)
def slider(col, name: str):
    return col.select_slider(LABELS[name], OPTIONS[name], value=link[name], key=name, disabled=link.locked(name))


@st.fragment
def settings():
    """The form: a change reruns only this part (the estimate follows it at once); Train reruns the page."""
    with ui.settings_box("seq_request"):
        a, b, c = st.columns([2, 1, 1])
        a.selectbox(LABELS["task"], OPTIONS["task"], index=link.index("task", OPTIONS["task"]), key="task",
                    disabled=link.locked("task"), format_func=lambda t: f"{t}: write {WHAT[t]}",
                    on_change=sequence_runs.task_steps, args=(st.session_state,))
        b.slider(LABELS["length"], *LENGTHS, link["length"], key="length", disabled=link.locked("length")
                 or st.session_state.get("task", link["task"]) in ("language", "induction"),
                 help="Not used by the language and induction tasks.")
        slider(c, "steps")
        m1, m2, m3, m4 = st.columns(4)
        slider(m1, "d_model")
        slider(m2, "n_heads")
        slider(m3, "n_layers")
        m4.number_input(LABELS["seed"], 0, 9999, link["seed"], key="seed", disabled=link.locked("seed"))
        p1, p2 = st.columns(2)
        p1.toggle(LABELS["positions"], value=link["positions"], key="positions", disabled=link.locked("positions"))
        p2.checkbox(LABELS["compare"], value=link["compare"], key="compare", disabled=link.locked("compare"))
        submitted = st.button("Train", type="primary", icon=":material/play_arrow:")
    values = link.current()
    try:
        form_request, error = sequence_runs.request_from(values), None
    except ValueError as err:
        form_request, error = None, str(err)
    return progress.shown("seq_request", form_request, submitted, link, error)


@st.fragment
def own_input(model, config: SeqConfig, example: list[int]) -> None:
    """The student's own prompt, the model's answer and where each head looked: a fragment, so typing a prompt reruns
    this section only, not the curves and grids above it."""
    st.subheader("Your own input")
    start = "".join(str(d) for d in example[:config.length])
    typed = st.text_input(f"{config.length} digits", start, key="seq_input", max_chars=3 * LENGTHS[1],
                          help="Digits 0-9; spaces and commas are ignored.")
    digits = sequence_runs.parse_digits(typed)
    if model is None:
        st.info("The trained model is not in this session (the run had ended before you opened the page). Press "
                "**Train** to try your own input.")
        return
    if digits is None or len(digits) != config.length:
        st.warning(f"Type exactly {config.length} digits (0-9), for example {start}; got {typed[:40]!r}.")
        return
    gen = seq.generate_steps(model, digits)
    want = seq.answer_for(config.task, torch.tensor([digits]))[0].tolist()
    marks = " ".join(f"**{t}**" if t == w else f"~~{t}~~ ({w})" for t, w in zip(gen.answer, want, strict=True))
    st.markdown(f"Prompt {' '.join(map(str, digits))} → · the model writes: {marks}")
    keys = labels(gen.prompt + gen.answer[:-1])
    rows = [f"{i}: writes {t}" + ("" if t == w else f", not {w}") for i, (t, w) in enumerate(zip(gen.answer, want,
                                                                                                  strict=True))]
    ui.chart(ui.figure(charts.attention_grid, gen.attention.permute(1, 2, 0, 3).numpy(), rows, keys, cell=ui.cell(18),
                       title="where each head looked while writing each answer token", max_width=ui.room()))


request = settings()
status = st.empty()  # one place for what the page is doing: replaced as soon as Train is pressed
if request is None:
    status.info(("Press **Train**" if link.locked("task") else "Choose a task and press **Train**")
                + f". At the defaults ({D.task}, {D.length} digits) training takes a few seconds on one core.")
    experiments.section("attention_learns", link.current()["seq_pins"], None)
    ui.show_code(seq.train_sequence_model, SeqConfig)
    st.stop()
if isinstance(request, LanguageRequest):  # the animal language: its own curves, grid and head shares
    learned_panel.page6(request, status)
    experiments.section("attention_learns", link.current()["seq_pins"], request)
    st.stop()
if request.config.task == "induction":  # random tokens with a repeat: the induction circuit
    induction_panel.page6(request, status)
    experiments.section("attention_learns", link.current()["seq_pins"], request)
    st.stop()
config = request.config
snap, models, runs = progress.train_page6(request, status, lambda recs, name: sequence_runs.curves({name: recs}),
                                          "main", "prompts")
st.subheader(f"Learning to {config.task}: {WHAT[config.task]}")
ui.chart(ui.figure(charts.sequence_curves, runs,
                   title=f"Loss and accuracy on {seq.n_held_out(config.length):,} held-out prompts"))
st.markdown(sequence_runs.progress_sentence(snap.main))
if request.compare and snap.other:  # right under the curves it describes
    st.markdown("**Positions on and off.** " + sequence_runs.positions_sentence(snap.main, snap.other, config))
st.caption("Exact-match counts prompts whose whole answer, written greedily one token at a time, is right; token "
           "accuracy counts answer tokens predicted right given the right tokens before them. The held-out prompts "
           "are never used for training.")

st.subheader("Attention over training")
tokens = sequence_runs.example_tokens(config)  # the held-out example whose attention every record keeps
progress.attention_over_training(snap.main, labels(tokens[:-1]), "every layer and head on one held-out example",
                                 "attention_over_training", lens_names=[token_name(t) for t in range(seq.VOCAB)],
                                 lens_what="where the right next digit appears")
st.caption(f"Rows are queries: the position writing the next token (from '{config.length}: →' on, the answer). "
           f"Columns are keys. The causal mask leaves the upper right empty. Look for a head whose answer rows "
           f"light up on {sequence_runs.TARGET[config.task]}.")

progress.head_shares(snap.main, lambda r: r.share, sequence_runs.chance_share(config), "the digit being written")
st.markdown(sequence_runs.head_sentence(snap.main, config))

model = models.get(config)
knockout_panel.section(model, config)
own_input(model, config, tokens)
experiments.section("attention_learns", link.current()["seq_pins"], request)

st.subheader("Check against torch.nn.TransformerEncoderLayer")
diffs = seq.check_against_torch_layers(model) if model is not None else []
if diffs:
    worst = max(diffs)
    st.metric("largest |difference|, every block of the trained model (causal mask)", f"{worst:.1e}",
              "pass (< 1e-5)" if worst < 1e-5 else "FAIL", delta_color="normal" if worst < 1e-5 else "inverse")
    st.caption("to_torch_layer copies each block's weights into nn.TransformerEncoderLayer(norm_first=True, "
               "activation='gelu', dropout=0), the notebook's reference, and both run the same tokens with the mask.")
ui.show_code(seq.to_torch_layer, seq.generate_steps, seq.train_sequence_model)
