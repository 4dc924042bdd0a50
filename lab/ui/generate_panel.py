"""Streamlit helper for the Generate page: the model that writes (the language model the server trains once, or the
student's own page-6 model), its text streamed token by token, the step explorer, the cost of a step with and
without the KV cache, and the temperature study. The numbers and sentences come from ``lab.analyses.writing``."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from lab import charts, ui
from lab.analyses import learned_heads, writing
from lab.server.jobs import REGISTRY
from lab.ui import learned_panel, links, progress
from transformer import generate as gen

MODELS = {"language": "the animal language (trained once on this server)", "page6": "your model from page 6"}
PAGE6 = "views/attention_learns.py"
LIKELY, UNLIKELY = 0.5, 0.2  # the streamed text's colour bands (the chart and the table give every probability)


def _language_model():
    """The language model at its defaults if this session or this server has it trained already (no training here),
    else None."""
    job = REGISTRY.get(learned_heads.LanguageRequest().config)
    ready = "language_result" in st.session_state or job is not None and job.state == "done"
    return learned_panel.trained_model()[0] if ready else None


def chosen(choice: str) -> writing.Writer | None:
    """The model that writes, or None after saying how to get one. The language model is the one pages 2 and 3
    share (trained when it is first asked to write, if this server has not trained it yet); a page-6 model is this
    session's, waited for if it is still training."""
    if choice == "language":
        return writing.language_writer(_language_model())
    kept = st.session_state.get("seq_result")  # (request, snapshot, models): page 6 keeps its last training here
    asked = st.session_state.get("seq_request")  # what page 6 last asked for: maybe still waiting or training
    if asked is not None and (kept is None or kept[0] != asked):
        note = st.empty()
        note.info("Your page-6 training has not finished: it goes on (progress in the sidebar), and this page "
                  "writes with it as soon as it is done.", icon=":material/hourglass_top:")
        _, models = progress.watch("seq_result", asked, live_chart=_live, request_key="seq_request")
        note.empty()
        kept = (asked, None, models)
    model = kept[2].get(kept[0].config) if kept else None
    if model is None:
        st.info("No page-6 model in this session yet: train one on page 6 (reverse, sort, copy, induction or the "
                "language), then come back here. It is kept while this tab stays open.", icon=":material/info:")
        st.page_link(PAGE6, label="6. Watch attention learn", icon=":material/visibility:")
        return None
    c = model.config
    st.caption(f"Your page-6 model: {getattr(c, 'task', c.kind)}, d_model {c.d_model}, {c.n_heads} heads, "
               f"{c.n_layers} layers, {c.steps} steps, positions {'on' if c.positions else 'off'}, seed {c.seed}.")
    return writing.writer(model)


def prompt_box(w: writing.Writer, link) -> str:
    """The key of the prompt box for ``w``'s kind of model (each kind keeps its own prompt: a sentence is no prompt
    for a digit model), started from the link's prompt where this model can read it, else the model's example; Back
    and Forward bring the address's prompt back."""
    key = f"prompt_{w.kind}"
    if key not in st.session_state or links.history_navigation():
        try:
            w.parse(link["prompt"])
            st.session_state[key] = link["prompt"]
        except ValueError:
            st.session_state[key] = w.default_prompt
    return key


def _live(snap) -> dict:
    """The light chart of a page-6 training this page waits for."""
    frame = pd.DataFrame([{"run": "training", **r} for r in snap.live_records])
    language = "pronoun_acc" in frame  # the animal language has its own measures
    return ui.figure(charts.sequence_curves, frame, metrics=learned_heads.METRICS if language else None,
                     title="Your page-6 model, training")


def _coloured(word: str, p: float) -> str:
    text = ui.md_escape(word)
    return f":blue-background[{text}]" if p >= LIKELY else f":orange-background[{text}]" if p < UNLIKELY else text


def _pieces(w: writing.Writer, prompt: list[int], steps) -> Iterator[str]:
    """The text as markdown, piece by piece: the prompt in bold, then each step's token coloured by its
    probability (``steps``: a generation's, or a stream's as they come)."""
    yield "**" + ui.md_escape(" ".join(w.show(prompt))) + "**"
    for s in steps:
        yield " " + _coloured(w.names[s.token], float(s.probs[s.token]))


@dataclass(frozen=True)
class Written:
    """One press of Generate and everything drawn from it, computed once: reruns (a control moved) only draw."""

    key: tuple  # (the model's config, the prompt's ids, the settings)
    made: gen.Generation  # with the KV cache
    again: gen.Generation  # the same text without it
    # the step explorer's spec (None when nothing was written), built once from writing.step_rows (thousands of
    # rows for induction): a rerun draws it without building or even hashing its rows again
    explorer: dict | None
    cost: list  # writing.cost_rows


def written(w: writing.Writer, typed: str, settings: dict, pressed: bool, from_link: bool):
    """The text for these settings: written now, token by token, when Generate is pressed (or a link asks for it),
    the language model trained first if this server has not trained it; kept for the session and shown again on
    every rerun; None before the first. Returns (the writer with its model, the ``Written``, whether it was written
    with the settings shown); False after saying why the prompt or settings cannot be written."""
    try:
        ids = w.parse(typed)
        gen.check_sampling(settings["temperature"], settings["top_k"], settings["top_p"])
    except ValueError as err:
        st.error(f"This cannot be written: {err}", icon=":material/edit_off:")
        return False
    key = (w.config, tuple(ids[0].tolist()), tuple(settings.items()))
    kept: Written | None = st.session_state.get("generation")

    def box():  # the text's frame, drawn only once there is text for it (an empty frame would look broken)
        return st.container(border=True, key="generated")

    if kept is not None and kept.key == key:  # already written with these settings: served, not written again
        box().markdown("".join(_pieces(w, kept.made.tokens[:kept.made.prompt_len], kept.made.steps)))
        return w, kept, True
    if not (pressed or from_link and kept is None):  # nothing asked: the last text of this model, marked as old
        if kept is None or kept.key[0] != w.config or w.model is None:
            return None
        st.warning("The text below was written with earlier settings, not the ones shown above: press "
                   "**Generate** to write with these.", icon=":material/history:")  # above the text it is about
        box().markdown("".join(_pieces(w, kept.made.tokens[:kept.made.prompt_len], kept.made.steps)))
        return w, kept, False
    if w.model is None:  # the language model, not trained on this server yet: now (progress in the sidebar)
        w = dataclasses.replace(w, model=learned_panel.trained_model()[0])
    box().write_stream(_pieces(w, ids[0].tolist(), gen.stream(w.model, ids, **settings)))  # shown as it is drawn
    again = gen.generate(w.model, ids, cache=False, **settings)  # the same text, every step from scratch
    # and with the cache once more, the one kept: the same seed writes the same text, and now that both ways have
    # run, its times do not carry the first call's costs (the streamed run paid them)
    made = gen.generate(w.model, ids, **settings)
    explorer = ui.figure(charts.step_explorer, writing.step_rows(w, made, settings["temperature"], settings["top_k"],
                                                                 settings["top_p"]),
                         start=writing.default_step(w, made)) if made.steps else None
    done = Written(key, made, again, explorer, writing.cost_rows(w.model, made, again) if made.steps else [])
    st.session_state["generation"] = done
    return w, done, True


def explore(w: writing.Writer, done: Written) -> None:
    """The step explorer (a browser-side slider: no script run), and the table of every step."""
    made = done.made
    if not made.steps:
        st.info("Nothing was written: the prompt already ends where the model stops (a sentence's final '.', or "
                "the model's whole context). Shorten it.")
        return
    ui.chart(done.explorer)
    if found := writing.pronoun_sentence(w, made):
        st.markdown(found)
    st.caption("Move the step slider: the outlined token is the one that step wrote. The bars are the likeliest "
               "next tokens after the temperature, the drawn one orange, those top-k or top-p removed grey (the "
               "reason beside each bar and on hover). The grid under them is where that token's query looked in "
               "every head"
               + (", opened on the sound after the pronoun: look for the head whose row lands on the referent noun."
                  if writing.pronoun_step(w, made) is not None else ".")
               + " The KV cache holds each layer's keys and values of the tokens already read; a step adds one "
               "column (+) and reads the rest from the cache.")
    ui.table(pd.DataFrame(writing.table(w, made)),
             column_config={"probability": st.column_config.NumberColumn(format="percent")})


def cost(done: Written) -> None:
    if done.cost:
        ui.chart(ui.figure(charts.generation_cost, done.cost))
        st.markdown(writing.cost_sentence(done.cost))


@st.cache_data(max_entries=8, show_spinner="Sampling 800 sentences…")
def _study(config_key: str, _model) -> list[writing.TemperatureRow]:
    return writing.temperature_study(_model)


def temperature(w: writing.Writer) -> None:
    """The temperature study on the chosen language model (computed once per model, shared by every session)."""
    if w.kind != "language":
        st.info("The study samples sentences of the animal language, whose grammar can be checked: choose the "
                "language model above to run it.")
        return
    rows = _study(repr(w.model.config), w.model)
    ui.chart(ui.figure(charts.temperature_chart, writing.study_frame(rows)))
    st.markdown(writing.study_sentence(rows))
    ui.table(pd.DataFrame([{
        "temperature": r.temperature, "grammatical": r.grammatical, "different sentences": r.distinct,
        "pronoun sentences": r.pronoun, "sound fits": r.fits,
        "commonest errors": "; ".join(f"{e} ({c})" for e, c, _ in r.errors[:2]) or "none"} for r in rows]),
        column_config={k: st.column_config.NumberColumn(format="percent") for k in ("grammatical", "sound fits")})
    st.caption(f"{writing.SENTENCES} sentences at each temperature, all starting from 'the', checked by "
               "language.grammatical: two different animals, one singular and one plural; the pronoun's sound is "
               "its referent's; was/were agrees with the first noun.")
