"""A class on one server, driven through `streamlit run app.py`: cold start against a one-line page,
peak memory, ten sessions pressing Train with the same settings, thirty with distinct settings."""
from __future__ import annotations

import os
import statistics
import threading
import time

from benchmarks.report import ROOT, Report


def server_rss(proc) -> int:
    import psutil

    try:
        p = psutil.Process(proc.pid)
        return p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
    except psutil.Error:
        return 0


class PeakRSS:
    """Poll a server's resident memory every 50 ms in a thread; ``peak`` in bytes."""

    def __init__(self, proc):
        self.proc, self.peak, self._stop = proc, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, server_rss(self.proc))
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def cold_start_once(pw, app: str) -> float:
    """Seconds from starting `streamlit run <app>` to its first content in a browser. The server helper waits for
    the health endpoint with a deadline (never a bare retry loop), then the page is opened."""
    from scripts.browser import launch, streamlit_server

    browser = launch(pw)
    page = browser.new_page()
    try:
        t0 = time.perf_counter()
        with streamlit_server(app) as (url, _):
            page.goto(f"{url}/")
            page.locator('[data-testid="stMarkdownContainer"], h1').first.wait_for(timeout=60_000)
            return time.perf_counter() - t0
    finally:
        browser.close()


def bench_cold(report: Report, repeats: int = 15) -> None:
    add, check = report.add, report.check
    from playwright.sync_api import sync_playwright

    hellos, apps = [], []
    with sync_playwright() as pw:
        cold_start_once(pw, "benchmarks/hello_page.py")  # warm the disk cache and the browser binary once
        for _ in range(repeats):  # interleaved, so drift in the machine's speed hits both alike
            hellos.append(cold_start_once(pw, "benchmarks/hello_page.py"))
            apps.append(cold_start_once(pw, "app.py"))
    hello, app = statistics.median(hellos), statistics.median(apps)
    add(
        "cold start",
        f"streamlit run app.py to the landing page's first content (median of {repeats})",
        f"{app:.2f} s",
        f"one-line page {hello:.2f} s",
        check("cold_start_vs_hello", app / hello) + f" ({app / hello:.2f}×)",
    )
    add(
        "cold start",
        f"the same, fastest of {repeats}",
        f"{min(apps):.2f} s",
        f"one-line page {min(hellos):.2f} s",
        f"{min(apps) / min(hellos):.2f}×",
    )


def visit_every_page(page, url: str, train: bool) -> None:
    from scripts.browser import PAGES, settle

    for path in PAGES:
        page.goto(f"{url}/{path}")
        settle(page)
        if path == "training" and train:
            page.get_by_role("button", name="Train", exact=True).click()
            page.get_by_text("done:").wait_for(timeout=300_000)


def bench_memory(report: Report, sessions: int = 10) -> None:
    add, check = report.add, report.check
    from playwright.sync_api import sync_playwright

    from scripts.browser import launch, streamlit_server

    for n in (1, sessions):
        with streamlit_server() as (url, proc), sync_playwright() as pw, PeakRSS(proc) as rss:
            browser = launch(pw)
            contexts = []
            for _ in range(n):  # every session stays open while the next one visits
                ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                visit_every_page(ctx.new_page(), url, train=True)
                contexts.append(ctx)
            time.sleep(1)
            browser.close()
        verdict = check("server_peak_rss_mb", rss.peak / 2**20) if n == sessions else ""
        add(
            "memory",
            f"server peak RSS, {n} session(s) visiting every page (and training)",
            f"{rss.peak / 2**20:.0f} MB",
            "Cloud's smallest tier: 690 MB",
            verdict,
        )


def training_tabs(contexts, urls) -> tuple[list, dict]:
    """Open each URL in a new tab of its context and wait until it has settled; ``received`` fills with the time
    at which each tab's websocket first carries the training page's "done:" line."""
    from scripts.browser import settle

    pages, received = [], {}
    for i, (context, url) in enumerate(zip(contexts, urls, strict=True)):
        p = context.new_page()

        def watch(ws, i=i):
            def frame(payload):
                if i not in received and isinstance(payload, bytes) and b"done: " in payload:
                    received[i] = time.perf_counter()

            ws.on("framereceived", frame)

        p.on("websocket", watch)
        p.goto(url)
        settle(p)
        pages.append(p)
    return pages, received


def bench_class(report: Report, sessions: int = 10) -> None:
    """Sessions press Train with the same settings at once; the clock stops when every session has *received*
    its finished result over its websocket. In class each browser draws on its student's own machine, so the
    ten simulated browsers' drawing, which here shares the server's two cores, is not counted (for the
    one-session reference either). The same run also reports when the last browser had drawn it."""
    add, check = report.add, report.check
    from playwright.sync_api import sync_playwright

    from scripts.browser import launch, streamlit_server

    def press_train(n: int) -> tuple[float, float]:
        with streamlit_server() as (url, _), sync_playwright() as pw:
            browser = launch(pw)
            pages, received = training_tabs([browser.new_context(viewport={"width": 1280, "height": 900})
                                             for _ in range(n)], [f"{url}/training"] * n)
            t0 = time.perf_counter()
            for p in pages:
                p.get_by_role("button", name="Train", exact=True).click()
            for p in pages:
                p.get_by_text("done:").wait_for(timeout=600_000)
            drawn = time.perf_counter() - t0
            browser.close()
            if len(received) != n:
                raise RuntimeError(f"only {len(received)} of {n} sessions saw the result arrive")
            return max(received.values()) - t0, drawn

    one, one_drawn = press_train(1)
    many, many_drawn = press_train(sessions)
    add(
        "class load",
        f"{sessions} sessions press Train at once (same settings): all results received",
        f"{many:.2f} s",
        f"one session {one:.2f} s",
        check("class_same_settings_vs_one", many / one) + f" ({many / one:.2f}×)",
    )
    add(
        "class load",
        f"the same, until the last of the {sessions} browsers on this machine had drawn it",
        f"{many_drawn:.2f} s",
        f"one session {one_drawn:.2f} s",
        f"{many_drawn / one_drawn:.2f}×",
    )


async def press_train(urls: list[str], seeds: list[int], epochs: int) -> tuple[list, float]:
    """Session i opens page 4 on server ``urls[i % len(urls)]`` (and stays there, as a sticky session would) with
    runs of ``epochs`` and seed ``seeds[i]``, one after another; then all press Train at once. The sessions, closed
    once every one has its result, and when Train was pressed."""
    import asyncio

    from scripts.streamlit_ws import Session

    clients = [Session(urls[i % len(urls)], watch_for=(b"done: ",)) for i in range(len(seeds))]
    for client, seed in zip(clients, seeds, strict=True):
        await client.__aenter__()
        await client.run("training", f"epochs_a={epochs}&epochs_b={epochs}&epochs_c={epochs}&seed={seed}")
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(client.press("Train", timeout=900) for client in clients))
    finally:
        for client in clients:
            await client.__aexit__()
    return clients, t0


def bench_class30(report: Report, sessions: int = 30, repeats: int = 3) -> None:
    """Thirty sessions press Train within a second, each with settings of its own (the default model, one 50-epoch
    run, a seed each), on one `streamlit run app.py`. The sessions speak Streamlit's own websocket protocol
    (scripts/streamlit_ws.py), with no browser: in class each page is drawn on its student's machine, and thirty
    headless tabs drawing here would share the server's two cores. A session has its result when the "done:" line
    reaches its websocket. The reference is one such session alone, on the same server in the same run; the ideal
    for the class is (30 / cores) times that. The whole is repeated ``repeats`` times, each on a fresh server: the
    budget holds the worst run, and the spread is reported."""
    add, check = report.add, report.check
    import asyncio

    from lab.server.jobs import CORES
    from scripts.browser import streamlit_server
    os.environ["LAB_LOG_TRAININGS"] = "1"  # the server writes a line for every training it starts
    log = ROOT / "benchmarks" / ".class30.log"

    async def press_all(url: str, seeds: list[int]) -> tuple[dict, dict, list[int]]:
        """Sessions open the training page with a seed each, one after another, then all press Train at once."""
        clients, t0 = await press_train([url], seeds, epochs=50)
        received = {i: c.seen[b"done: "] - t0 for i, c in enumerate(clients) if b"done: " in c.seen}
        shown = [i for i, c in enumerate(clients) if any(t.startswith("done: 1 of 1 trainings") for t in c.texts())]
        return received, {i: len(c.exceptions) for i, c in enumerate(clients)}, shown

    # one server per repeat: a warm-up training (the first in a fresh process is slower), three sessions alone, the
    # class, three more alone; the reference is the median of the six alone, taken before and after so that drift in
    # the machine's speed during the run moves it as it moves the class
    class_seeds = list(range(103, 103 + sessions))
    groups = [[99], [100], [101], [102], class_seeds, [200], [201], [202]]
    runs = []
    for _ in range(repeats):
        with streamlit_server(log_path=log) as (url, proc), PeakRSS(proc) as rss:
            results = [asyncio.run(press_all(url, seeds)) for seeds in groups]
        started = [line for line in log.read_text().splitlines()
                   if line.startswith("lab.server.jobs: training started")]
        log.unlink()
        alone = [results[i][0].get(0, float("inf")) for i in (1, 2, 3, 5, 6, 7)]
        waits, errors, shown = results[4]
        total = max(waits.values()) if len(waits) == sessions else float("inf")
        ideal = sessions / CORES * statistics.median(alone)
        runs.append({"total": total, "ideal": ideal, "alone": alone, "ratio": total / ideal, "peak": rss.peak,
                     "waits": sorted(waits.values()), "duplicates": len(started) - len(set(started)),
                     "started": len(started), "lost": sessions - len(set(waits) & set(shown)),
                     "exceptions": sum(errors.values())})
    worst = max(runs, key=lambda r: r["ratio"])
    ratios = [r["ratio"] for r in runs]
    add("class 30", f"{sessions} sessions (websocket protocol, no browser), distinct settings, press Train at once: "
        f"all results received, worst of {repeats} runs (a fresh server each)", f"{worst['total']:.1f} s",
        f"ideal {worst['ideal']:.1f} s = {sessions}/{CORES} × {statistics.median(worst['alone']):.2f} s alone "
        "(median of 6: " + ", ".join(f"{a:.2f}" for a in worst["alone"]) + ")",
        check("class30_vs_ideal", worst["ratio"]) + f" ({worst['ratio']:.2f}×)")
    add("class 30", f"the same, ratio to the ideal in each of the {repeats} runs",
        " · ".join(f"{r:.2f}×" for r in ratios),
        f"spread {min(ratios):.2f}–{max(ratios):.2f}×, median {statistics.median(ratios):.2f}×", "")
    w = worst["waits"]
    add("class 30", "the longest any one session waited for its result (worst run)", f"{w[-1]:.1f} s" if w else "none",
        f"median {w[len(w) // 2]:.1f} s" if w else "", "")
    peak = max(r["peak"] for r in runs)
    add("class 30", "server peak RSS, 30 sessions training (highest run)", f"{peak / 2**20:.0f} MB",
        "Cloud's smallest tier: 690 MB", check("server_peak_rss_mb", peak / 2**20))
    lost, duplicates, exceptions = (sum(r[k] for r in runs) for k in ("lost", "duplicates", "exceptions"))
    add("class 30", "sessions without their result (never received, or not on the page when its run ended), all runs",
        str(lost), "", check("class30_lost", lost))
    add("class 30", "duplicate trainings (the server's own count), all runs", str(duplicates),
        f"{worst['started']} started per run (30, 6 alone, 1 warm-up)",
        check("class30_duplicates", duplicates))
    add("class 30", "sessions sent an exception, all runs", str(exceptions), "",
        check("class30_exceptions", exceptions))
