"""A benchmark run's report: the rows measured, each figure's verdict against its budget (every budget here, keyed by
a short name), and RESULTS.md written from them. A ``Report`` is made per run and handed to every benchmark, so no
state outlives a run."""
from __future__ import annotations

import os
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


@dataclass(frozen=True)
class Budget:
    limit: float
    kind: str  # "max" or "min"
    unit: str
    what: str  # what is measured, for the message of a missed budget

    def holds(self, value: float) -> bool:
        return value <= self.limit if self.kind == "max" else value >= self.limit

    @property
    def text(self) -> str:
        return f"{'≤' if self.kind == 'max' else '≥'} {self.limit}{self.unit}"


# Every budget in one place. A ratio is against a reference measured in the same run; the memory limit is Streamlit
# Community Cloud's smallest tier.
BUDGETS = {
    "training_vs_naive_vit": Budget(0.5, "max", "×", "training vs naive ViT"),
    "training_vs_torch_layer": Budget(1.1, "max", "×", "training vs nn.TransformerEncoderLayer"),
    "fused_vs_loop_adamw": Budget(1.0, "max", "×", "fused vs per-parameter AdamW, two trainings at once"),
    "validation_accuracy": Budget(0.95, "min", "", "validation accuracy"),
    "page_rerun_vs_reference": Budget(8, "max", "×", "page rerun vs reference page"),
    "cold_start_vs_hello": Budget(1.2, "max", "×", "cold start vs one-line page"),
    "server_peak_rss_mb": Budget(690, "max", " MB", "server peak RSS, MB"),
    "class_same_settings_vs_one": Budget(2, "max", "×", "class load (same settings) vs one session"),
    "sequence_seconds_to_99": Budget(10, "max", " s", "sequence model: seconds to 99% exact-match"),
    "sequence_vs_naive_gpt": Budget(0.5, "max", "×", "sequence model vs naive GPT, time to 99%"),
    "study_seconds": Budget(60, "max", " s", "data-efficiency study, seconds"),
    "class30_vs_ideal": Budget(1.3, "max", "×", "30 distinct requests vs (30 / cores) x one alone"),
    "class30_lost": Budget(0, "max", "", "30 distinct requests: sessions without their result"),
    "class30_duplicates": Budget(0, "max", "", "30 distinct requests: duplicate trainings"),
    "class30_exceptions": Budget(0, "max", "", "30 distinct requests: exceptions"),
    "cnn_minus_plain_cnn": Budget(0, "min", "", "CNN baseline minus plain CNN, worst share (points)"),
    "estimate_vs_measured": Budget(2.0, "max", "×", "estimate vs measured time (either way)"),
    "language_seconds_to_99": Budget(10, "max", " s", "language model: seconds to 99% on pronouns and agreement"),
    "language_referent_knockout": Budget(30, "min", "", "pronoun accuracy lost without the referent head (points)"),
    "induction_seconds_to_90": Budget(20, "max", " s", "induction: seconds to 90% on the repeated tokens"),
    "induction_prefix_score": Budget(0.6, "min", "", "induction: best layer-1 prefix-matching score"),
    "induction_knockout": Budget(30, "min", "", "induction: accuracy lost without the induction heads (points)"),
    "generate_cached_vs_uncached": Budget(0.1, "max", "×", "generation with the KV cache vs without, 512 tokens"),
    "patching_pair_seconds": Budget(1, "max", " s", "head and residual patching of one pair, both grids, seconds"),
    "lens_ms": Budget(100, "max", " ms", "logit lens of one sentence, ms"),
    "first_token_ms": Budget(300, "max", " ms", "page 7: click on Generate to the first token on screen, ms"),
    "drawing_ms": Budget(300, "max", " ms", "page 4: a tap on the canvas to the model's new reading on screen, ms"),
    "replicas_vs_one": Budget(1.5, "max", "×", "40 sessions on two replicas sharing Redis vs one server, same cores"),
    "replicas_trained_twice": Budget(0, "max", "", "settings asked on both replicas: trainings beyond one each"),
    "replicas_faults": Budget(0, "max", "", "replicas: results lost + trainings computed twice + exceptions"),
    "restart_study_s": Budget(10, "max", " s", "page 5's study served from the store after a restart, seconds"),
    "restart_trained": Budget(0, "max", "", "trainings a restarted server runs for a study it had finished"),
    "claims_perturbation_seconds": Budget(3, "max", " s", "page 5's claims, all perturbation curves, seconds"),
    "control_run_ms": Budget(250, "max", " ms", "a control's script run, key press to its end, ms (median of 5)"),
    "scrubber_ms": Budget(100, "max", " ms", "step sliders (pages 6, 7): key press to the chart showing the step, ms"),
    "scrubber_script_runs": Budget(0, "max", "", "step sliders (pages 6, 7): script runs started"),
}


@dataclass
class Report:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # section, measure, value, ref, verdict
    missed: list[str] = field(default_factory=list)  # the budgets this run did not meet
    quiet: bool = False

    def add(self, section: str, measure: str, value: str, reference: str = "", verdict: str = "") -> None:
        self.rows.append((section, measure, value, reference, verdict))
        if not self.quiet:
            print(f"{section:<12} {measure:<58} {value:<16} {reference:<26} {verdict}", flush=True)

    def check(self, budget: str, value: float) -> str:
        """The verdict on ``value`` against ``BUDGETS[budget]``; a miss is remembered for the exit status."""
        b = BUDGETS[budget]
        if not b.holds(value):
            self.missed.append(f"{budget} ({b.what}): {value:.3g} (budget {b.text})")
        return f"{b.text}: {'PASS' if b.holds(value) else 'FAIL'}"


def _first(path: str, prefix: str) -> str | None:
    """The rest of the first line of ``path`` that starts with ``prefix`` (None where the file does not exist, as
    on macOS)."""
    try:
        with open(path) as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(prefix)), None)
    except OSError:
        return None


def machine() -> str:
    import torch

    cpu = _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown processor"
    mem = _first("/proc/meminfo", "MemTotal")
    ram = f"{int(mem.split()[0]) / 2**20:.0f} GiB RAM" if mem else "RAM unknown"
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, {ram}; "
        f"Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )


def rerun_note(previous: str, chosen: list[str]) -> str:
    """The header's note after a partial run: every section rerun since the last full run, with its date (those of
    earlier partial runs kept), so that the table says where each row comes from."""
    today = time.strftime("%Y-%m-%d")
    dates: dict[str, str] = {}
    if m := re.search(r"Rows rerun after the last full run: (.*?); the others", previous):
        dates |= dict(part.split(" on ", 1) for part in m.group(1).split(", ") if " on " in part)
    elif m := re.search(r"Sections rerun on (\S+): (.*?); the other", previous):  # the note's earlier form
        dates |= {name: m.group(1) for name in m.group(2).split(", ")}
    dates = {name: d for name, d in dates.items() if name not in chosen} | {name: today for name in chosen}
    return ("Rows rerun after the last full run: " + ", ".join(f"{name} on {d}" for name, d in dates.items())
            + "; the others are from the full run, on the same machine.")


def write_results(report: Report, command: str, seconds: float, rerun: set[str] | None, chosen: list[str]) -> str:
    """RESULTS.md from ``report``'s rows; a partial run (``rerun``: the section labels it ran) replaces its own
    sections' rows and keeps the others, saying so. Returns the machine's description."""
    desc = machine()
    lines = [
        "# Benchmark results",
        "",
        f"`{command}`",
        f"on {time.strftime('%Y-%m-%d')}, {seconds:.0f} s in all.",
        "",
        f"Machine: {desc}.",
        "",
        "Every ratio compares with a reference measured in the same run. Budgets: `BUDGETS` in benchmarks/report.py.",
        "",
        "| section | measure | value | reference | budget |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in report.rows]
    if rerun is not None and RESULTS.exists():
        previous = RESULTS.read_text()
        kept = [line for line in previous.splitlines()
                if line.startswith("| ") and not line.startswith(("| section", "|---"))
                and line.split("|")[1].strip() not in rerun]
        lines[7] += f" {rerun_note(previous, chosen)}"
        lines += kept
    RESULTS.write_text("\n".join(lines) + "\n")
    return desc
