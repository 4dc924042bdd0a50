"""Take a run home: a Python script that trains the same models with the same settings and seeds and prints the same
records, and the records as CSV. No streamlit here.

The script is made from the configs' fields only: every value is a number, a bool or a word from the config's own
options, checked before it is written, so no text a student typed ever becomes code.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import re

import torch

CLOCKS = ("seconds", "cpu_seconds")  # a record's timings: the only fields a rerun does not reproduce
_WORD = re.compile(r"^[A-Za-z0-9_.+-]{0,40}$")


def literal(value) -> str:
    """A config value as Python source; ValueError for anything but a finite number, a bool or a short word."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return repr(value)
    if isinstance(value, str) and _WORD.match(value):
        return repr(value)
    raise ValueError(f"a config value that cannot go into a script: {value!r}")


def config_source(config) -> str:
    """``ClassName(field=value, ...)`` for a frozen config dataclass: only the fields that differ from the
    defaults, so the script reads like the settings the page shows."""
    default = type(config)()
    changed = [f"{f.name}={literal(getattr(config, f.name))}" for f in dataclasses.fields(config)
               if getattr(config, f.name) != getattr(default, f.name)]
    return f"{type(config).__name__}({', '.join(changed)})"


def script(runs: dict[str, object], what: str, page: str) -> str:
    """A script that trains every config of ``runs`` (name -> config) and prints each record as a line of JSON with
    its run's name. ``what`` and ``page`` go into the header (the app's own words, not a student's)."""
    for name in runs:
        if not _WORD.match(name.replace(" ", "_")):
            raise ValueError(f"a run name that cannot go into a script: {name!r}")
    imports = sorted({(type(c).__module__, type(c).__name__) for c in runs.values()})
    lines = [
        f'"""Transformer from Scratch: {what}, as trained on the app\'s {page}, with the same settings and seeds.',
        "",
        "This file imports the project's own `transformer` package (nothing is inlined): run it from the project's",
        "root folder, where `transformer/` is:  python this_file.py",
        "",
        "It prints every record the app drew, one JSON line per record with its run's name. On the same machine and",
        f"torch version (the app's: {torch.__version__}) the numbers match the app's to the last digit; the clocks",
        "(seconds, cpu_seconds) are this run's own. It trains on one thread, as the app's trainings do.",
        '"""',
        "import json",
        "",
        "import torch",
        "",
        *[f"from {module} import {name}" for module, name in imports],
        "",
        "torch.set_num_threads(1)",
        "RUNS = {",
        *[f"    {name!r}: {config_source(c)}," for name, c in runs.items()],
        "}",
        "",
        "for run, config in RUNS.items():",
        "    model = config.build()",
        "    for record in config.train(model):",
        '        print(json.dumps({"run": run, **record.as_dict()}))',
        "",
    ]
    return "\n".join(lines)


def records_csv(runs: dict[str, list[dict]]) -> str:
    """Every run's records as CSV, a row per record with the run's name first."""
    rows = [{"run": name, **r} for name, records in runs.items() for r in records]
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def without_clocks(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in CLOCKS}


def classifier_runs(request) -> dict[str, object]:
    """Page 4's request as the script's runs: every distinct training it drew (the check run aside: it repeats the
    start of the longest), named as the page names them."""
    runs = [c for c in request.trainings() if c != request.check_config]
    return {(f"{c.epochs} epochs" if c.model != "cnn" else f"CNN {c.epochs} epochs"): c for c in runs}


def run_name(config) -> str:
    """A page-6 run's name: what tells a model and its compared twin apart."""
    return f"positions {'on' if config.positions else 'off'}"


def sequence_runs(request) -> dict[str, object]:
    """Page 6's request as the script's runs: the model, and its twin with positions switched when compared."""
    return {run_name(c): c for c in request.trainings()}


def classifier_records(request, snap) -> dict[str, list[dict]]:
    """Page 4's records as its page drew them, by run (the CNN's too), for the CSV."""
    return {f"{n} epochs": r for n, r in snap.runs.items()} | ({"CNN": snap.cnn} if snap.cnn else {})


def sequence_records(request, snap) -> dict[str, list[dict]]:
    """Page 6's records as its page drew them, by run (the language model's snapshot names them ``records``)."""
    main = snap.main if hasattr(snap, "main") else snap.records
    return {run_name(c): [r.as_dict() for r in recs]
            for c, recs in ((request.config, main), (request.other, getattr(snap, "other", []))) if c and recs}
