"""One command for every speed and memory budget: `.venv/bin/python -m benchmarks` from the project root.

Every figure is a ratio against a reference measured in the same run, on the same machine, so a noisy or slower
machine moves both sides. Prints a table and writes benchmarks/RESULTS.md. Not part of the test suite. Benchmarks can
be picked by name: `python -m benchmarks training latency` (a partial run replaces its own rows in RESULTS.md and
says so). Exits with status 1 when any budget (``benchmarks/report.py``) is missed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# every benchmark measures work done, not work served from an earlier run's store (the replicas benchmark sets its own)
os.environ.setdefault("LAB_STORE", "off")

from benchmarks import classroom, data_study, decoders, estimates, page_speed, replicas, training  # noqa: E402
from benchmarks.report import RESULTS, Report, write_results  # noqa: E402

# name on the command line: (the section its rows carry in RESULTS.md, the benchmark)
BENCHMARKS = {
    "training": ("training", training.bench_training),
    "latency": ("latency", page_speed.bench_latency),
    "cold": ("cold start", classroom.bench_cold),
    "memory": ("memory", classroom.bench_memory),
    "class": ("class load", classroom.bench_class),
    "class30": ("class 30", classroom.bench_class30),
    "sequence": ("sequence", decoders.bench_sequence),
    "study": ("study", data_study.bench_study),
    "robust": ("robust", data_study.bench_robust),
    "controls": ("controls", page_speed.bench_controls),
    "estimates": ("estimates", estimates.bench_estimates),
    "language": ("language", decoders.bench_language),
    "induction": ("induction", decoders.bench_induction),
    "generate": ("generate", decoders.bench_generate),
    "first_token": ("generate page", page_speed.bench_first_token),
    "patching": ("patching", decoders.bench_patching),
    "drawing": ("drawing", page_speed.bench_drawing),
    "replicas": ("replicas", replicas.bench_replicas),
    "restart": ("restart", replicas.bench_restart),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, "all"], default="all",
                        help="the benchmarks to run (default: all; a partial run replaces its own rows in RESULTS.md)")
    args = parser.parse_args(argv)
    picked = [args.names] if isinstance(args.names, str) else args.names
    chosen = list(BENCHMARKS) if "all" in picked else list(dict.fromkeys(picked))
    report, t0 = Report(), time.perf_counter()
    for name in chosen:
        BENCHMARKS[name][1](report)
    full = chosen == list(BENCHMARKS)
    command = ".venv/bin/python -m benchmarks" + ("" if full else " " + " ".join(chosen))
    desc = write_results(report, command, time.perf_counter() - t0,
                         None if full else {BENCHMARKS[k][0] for k in chosen}, chosen)
    print(f"\nwritten: {RESULTS}")
    print(f"machine: {desc}")
    for miss in report.missed:
        print(f"budget missed: {miss}", file=sys.stderr)
    return 1 if report.missed else 0


if __name__ == "__main__":
    sys.exit(main())
