"""Your own experiments on pages 4 and 6: pin a finished run and compare the pins (curves, a table, a sentence built
from their numbers), and take a run home as a Python script and its records as CSV.

Pins are kept as text in the page's link (``pins`` on page 4, ``seq_pins`` on page 6): only the settings travel, and
a link opened on a fresh server trains the pinned runs again, or serves them from the finished jobs it keeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lab import charts, ui
from lab.analyses import classifier_runs, comparison, sequence_runs, study, takeaway
from lab.server.jobs import REGISTRY
from lab.ui import progress


@dataclass(frozen=True)
class Kind:
    spec: comparison.PinSpec
    pin_of: object  # request -> pin
    key: str  # the link field (and session key) holding the pins
    result: str  # where the page keeps its finished request: (request, snapshot, models)
    what: str  # the script's header
    page: str
    script_runs: object  # request -> the script's runs (name -> config)
    records: object  # (request, snapshot) -> the records the page drew, by run


KINDS = {
    "training": Kind(classifier_runs.PINS, classifier_runs.pin_of, "pins", "train_result",
                     "the digit classifier's runs", "page 4 (Train a classifier)", takeaway.classifier_runs,
                     takeaway.classifier_records),
    "attention_learns": Kind(sequence_runs.SEQ_PINS, sequence_runs.pin_of, "seq_pins", "seq_result",
                             "the GPT-style decoder", "page 6 (Watch attention learn)", takeaway.sequence_runs,
                             takeaway.sequence_records),
}


def _pins(kind: Kind, text: str) -> list[dict]:
    try:
        return comparison.decode(kind.spec, text)
    except ValueError:  # the link's own warning has named it; the page goes on without those pins
        return []


def section(page: str, text: str, request) -> None:
    """Under a finished training: pin it, the comparison of the pins, and the take-home downloads. ``text``: the
    pins as the page's link holds them. Without a finished ``request`` (a link with pins, before any Train): the
    comparison alone."""
    kind = KINDS[page]
    pins = _pins(kind, text)
    if request is None:
        if pins:
            st.subheader("Pinned runs")
            compare(page, kind, pins)
        return
    st.subheader("Your experiments")
    here = kind.pin_of(request)
    pin, note = st.columns([1, 3], vertical_alignment="center")
    full, pinned = len(pins) >= comparison.MAX_PINS, here in pins
    pin.button("Pin this run", key=f"pin_{page}", on_click=_set, args=(kind, pins + [here]),
               disabled=full or pinned, icon=":material/push_pin:")
    note.caption("Pinned: it is in the comparison below." if pinned else
                 f"{comparison.MAX_PINS} runs are pinned, the most a comparison holds: remove one to pin this run."
                 if full else "Pin this run, change a setting, train again and pin that one: the pinned runs are "
                 "drawn together below, and kept in the link.")
    if pins:
        compare(page, kind, pins)
    take_home(page, kind, request)


def _set(kind: Kind, pins: list[dict]) -> None:
    st.session_state[kind.key] = comparison.encode(kind.spec, pins)


def compare(page: str, kind: Kind, pins: list[dict]) -> None:
    spec = kind.spec
    configs = tuple(spec.config(p) for p in pins)
    names = comparison.labels(spec, pins)

    def live(snap) -> dict:
        done = [(n, snap.records[c]) for n, c in zip(names, configs, strict=True) if snap.records.get(c)]
        data = comparison.frame(spec, [n for n, _ in done], [r for _, r in done])
        return ui.figure(charts.pinned_curves, data, "accuracy", x=spec.x, y_title=spec.accuracy_name,
                         title="Pinned runs, training", width=340, percent=True)

    snap, _ = progress.watch(f"pins_result_{page}", comparison.PinsRequest(configs), live,
                             note="The pinned runs are trained again (or served, if this server kept them).")
    records = [snap.records[c] for c in configs]
    data = comparison.frame(spec, names, records)
    st.markdown(f"**{len(pins)} pinned run{'s' if len(pins) > 1 else ''}**, named by what differs between them.")
    left, right = st.columns(2)
    with left:
        ui.chart(ui.figure(charts.pinned_curves, data, "accuracy", x=spec.x, y_title=spec.accuracy_name,
                           title=f"{spec.accuracy_name.capitalize()} against {spec.x}", width=340,
                           percent=True))
    with right:
        ui.chart(ui.figure(charts.pinned_curves, data, "loss", x=spec.x, y_title=spec.loss_name,
                           title=f"{spec.loss_name.capitalize()} against {spec.x}", width=340))
    table = comparison.table(spec, pins, names, records)
    ui.table(table.style.map(lambda _: "background-color: #fdf1d6; font-weight: bold",
                             subset=[c for c in table.columns if c.endswith(comparison.DIFFERS)]))
    st.caption(f"Settings marked {comparison.DIFFERS.strip()} (shaded) differ between the pinned runs; the others are "
               "the same in all of them.")
    finals = [spec.accuracy(r[-1]) for r in records]
    spread, source = yardstick(page, pins, finals)
    st.info(comparison.sentence(spec, names, finals, spread, source), icon=":material/compare_arrows:")
    cols = st.columns(len(pins))
    for i, (col, name) in enumerate(zip(cols, names, strict=True)):
        col.button(f"Remove {name}", key=f"unpin_{page}_{i}", on_click=_set,
                   args=(kind, pins[:i] + pins[i + 1:]), icon=":material/close:", width="stretch")


def yardstick(page: str, pins: list[dict], finals: list[float]) -> tuple[float | None, str]:
    """How far seeds alone move the final accuracy: measured between pins that differ only in their seed, else (page
    4) by page 5's study, if this session or this server has run it."""
    own = comparison.seed_spread(pins, finals)
    if own is not None:
        return own, "between your pinned runs that differ only in their seed"
    if page != "training":
        return None, ""
    kept = st.session_state.get("study_result")
    results = kept[1].results if kept is not None else _server_study()
    found = study.seed_spread(results, pins[0]["fraction"]) if results is not None else None
    if found is None:
        return None, ""
    share, spread = found
    return spread, f"page 5's study, the transformer's seeds at {share:.0%} of the images"


def _server_study():
    """The default study's results, when this server has every one of its trainings (another session ran it)."""
    request = study.StudyRequest()
    jobs = {c: j for c in request.trainings() if (j := REGISTRY.get(c)) is not None and j.done}
    return request.snapshot(jobs).results if len(jobs) == len(request.trainings()) else None


def take_home(page: str, kind: Kind, request) -> None:
    """The run as a script that trains it again with the same settings and seeds, and its records as CSV."""
    kept = st.session_state.get(kind.result)
    if kept is None or kept[0] != request:
        return
    a, b = st.columns(2)
    a.download_button("Download as a script", takeaway.script(kind.script_runs(request), kind.what, kind.page),
                      file_name=f"{page}_run.py", mime="text/x-python", icon=":material/code:", width="stretch",
                      help="One Python file that trains these runs again with the same settings and seeds and "
                      "prints every record: the same numbers as here on the same machine and torch version.")
    b.download_button("Download the records (CSV)", takeaway.records_csv(kind.records(request, kept[1])),
                      file_name=f"{page}_records.csv", mime="text/csv", icon=":material/table:", width="stretch")
    st.caption("The script imports this project's `transformer` package: run it from the project's folder "
               "(`python " + f"{page}_run.py`). It trains on one thread, as the app does.")
