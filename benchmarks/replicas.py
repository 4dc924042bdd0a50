"""Results beyond one server process: two replicas sharing one Redis against one server, and a restart that serves a
finished study from the store instead of training it again."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.classroom import press_train
from benchmarks.report import ROOT, Report

EPOCHS = 10  # each session's training: the default model for 10 epochs (under a second on one core)


@contextlib.contextmanager
def redis_server():
    """A redis-server of the benchmark's own on a free port (no persistence); its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("the replicas benchmark needs redis-server (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", folder],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import redis

            client = redis.Redis(port=port)
            for _ in range(500):
                with contextlib.suppress(redis.ConnectionError):
                    client.ping()
                    break
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.kill()
            proc.wait()


async def _press(urls: list[str], seeds: list[int]) -> tuple[float, int, int]:
    """``classroom.press_train``: (seconds until the last result arrived, results received, exceptions shown)."""
    clients, t0 = await press_train(urls, seeds, EPOCHS)
    got = [c.seen[b"done: "] - t0 for c in clients if b"done: " in c.seen]
    return (max(got) if got else float("inf")), len(got), sum(len(c.exceptions) for c in clients)


def _trained(logs: list[Path]) -> list[str]:
    return [line for log in logs for line in log.read_text().splitlines()
            if line.startswith("lab.server.jobs: trained here")]


def bench_replicas(report: Report, sessions: int = 40) -> None:
    """Forty sessions (our websocket client), each with settings of its own, press Train at once: on two replicas
    sharing one Redis (half the sessions on each, as sticky sessions would place them), then on one server with no
    store, in the same run. Then ten settings asked on both replicas at once, each by one session per replica."""
    add, check = report.add, report.check
    from scripts.browser import streamlit_server

    logs = [ROOT / "benchmarks" / f".replica{i}.log" for i in range(3)]
    with redis_server() as url:
        env = {"LAB_STORE": url, "LAB_LOG_TRAININGS": "1"}
        with streamlit_server(log_path=logs[0], env=env) as (a, _), streamlit_server(log_path=logs[1], env=env) as (
                b, _):
            two, got_two, errors_two = asyncio.run(_press([a, b], list(range(1000, 1000 + sessions))))
            both = [s for s in range(2000, 2010) for _ in range(2)]  # each seed twice: one session per replica
            shared, got_shared, errors_shared = asyncio.run(_press([a, b], both))
        trained = _trained(logs[:2])
    with streamlit_server(log_path=logs[2], env={"LAB_STORE": "off", "LAB_LOG_TRAININGS": "1"}) as (one, _):
        alone, got_one, errors_one = asyncio.run(_press([one], list(range(3000, 3000 + sessions))))
    alone_trained = _trained(logs[2:])
    for log in logs:
        log.unlink(missing_ok=True)
    first = [t for t in trained if any(f"seed={s}," in t for s in range(1000, 1000 + sessions))]
    again = [t for t in trained if any(f"seed={s}," in t for s in range(2000, 2010))]
    lost = (sessions - got_two) + (len(both) - got_shared) + (sessions - got_one)
    duplicates = (len(first) - len(set(first))) + (len(again) - len(set(again)))
    add("replicas", f"{sessions} sessions, distinct settings, press Train at once: two replicas on one Redis "
        "against one server (the same machine's 2 cores)", f"{two:.1f} s vs {alone:.1f} s",
        f"ratio {two / alone:.2f}×; trainings: {len(first)} on the replicas, {len(alone_trained)} on one server",
        check("replicas_vs_one", two / alone) + f" ({two / alone:.2f}×)")
    add("replicas", "the same 10 settings asked on both replicas at once (20 sessions): trainings computed",
        f"{len(again)}", f"results delivered to {got_shared} of {len(both)} sessions in {shared:.1f} s",
        check("replicas_trained_twice", abs(len(again) - 10)))
    add("replicas", "results lost, trainings computed twice, exceptions shown (all three runs)",
        f"{lost}, {duplicates}, {errors_two + errors_shared + errors_one}", "every session got its result once",
        check("replicas_faults", lost + duplicates + errors_two + errors_shared + errors_one))


RESTART = """
import json, time
from lab.server.jobs import REGISTRY
from lab.analyses.study import StudyRequest
request = StudyRequest()
t0 = time.perf_counter()
made = [REGISTRY.start(c) for c in request.trainings()]
for job in made:
    job.join()
print(json.dumps({"trained": REGISTRY.trained, "served": REGISTRY.served, "seconds": time.perf_counter() - t0}))
"""


def bench_restart(report: Report) -> None:
    """Page 5's study at its defaults, trained by one server process on a store folder; then a new process on the
    same folder (a restart) asks for it: how long until it has every result, and how many it trained."""
    add, check = report.add, report.check
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "LAB_STORE": folder}
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", RESTART], cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=900, check=True)
            runs.append(json.loads(out.stdout.splitlines()[-1]))
    first, second = runs
    add("restart", "page 5's study (30 trainings) after a restart: served from the store (SQLite folder)",
        f"{second['seconds']:.2f} s", f"trained {second['trained']}, served {second['served']}; the first server "
        f"trained it in {first['seconds']:.0f} s", check("restart_study_s", second["seconds"]))
    add("restart", "trainings the restarted server ran for the study", f"{second['trained']}", "",
        check("restart_trained", second["trained"]))
