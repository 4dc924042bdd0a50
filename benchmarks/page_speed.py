"""How fast pages answer: AppTest reruns against a one-slider reference page, and every control moved
in Chromium, timed from the key press to the end of the script run it starts."""
from __future__ import annotations

import statistics
import time

from benchmarks.report import ROOT, Report

PAGE_MAX = {
    "shapes": [("slider", "d_model", 4096), ("slider", "n_tokens", 512)],
    "self_attention": [("slider", "d_model", 64), ("slider", "d_k", 64), ("text_input", "sentence", "word " * 1000)],
    "multi_head": [
        ("slider", "batch", 8),
        ("slider", "tokens", 64),
        ("select_slider", "embdim", 1024),
        ("slider", "heads", 16),
    ],
    "training": [],
    "why_attention": [("slider", "n_tokens", 256), ("select_slider", "kernel", 9), ("slider", "layers", 16)],
}


def median_rerun(at, n: int = 15, clear=None) -> float:
    times = []
    for _ in range(n):
        if clear:
            clear()
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, [e.value for e in at.exception]
    return statistics.median(times)


def bench_latency(report: Report) -> None:
    add, check = report.add, report.check
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from lab.ui import draw

    ref = AppTest.from_file(str(ROOT / "benchmarks" / "reference_page.py"), default_timeout=60)
    ref.run()
    t_ref = median_rerun(ref, 25)
    add("latency", "reference page rerun (1 slider, 8x8 softmax heatmap)", f"{t_ref * 1000:.1f} ms", "", "")
    for page, settings in PAGE_MAX.items():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page(f"views/{page}.py").run()
        t_def = median_rerun(at)
        add(
            "latency",
            f"{page}: rerun at defaults",
            f"{t_def * 1000:.1f} ms",
            f"{t_def / t_ref:.1f}× reference",
            check("page_rerun_vs_reference", t_def / t_ref),
        )
        if settings:
            for kind, key, value in settings:
                widget = getattr(at, kind)(key=key)
                widget.input(value) if kind == "text_input" else widget.set_value(value)
            at.run()
            t_max = median_rerun(at)
            add(
                "latency",
                f"{page}: rerun at maximum settings",
                f"{t_max * 1000:.1f} ms",
                f"{t_max / t_ref:.1f}× reference",
                "",
            )
            t_cold = median_rerun(at, 7, clear=lambda: (st.cache_data.clear(), draw.figure.clear()))
            add(
                "latency",
                f"{page}: maximum, caches cleared (a new setting)",
                f"{t_cold * 1000:.1f} ms",
                f"{t_cold / t_ref:.1f}× reference",
                "",
            )


CONTROL_PAGES = {  # page: {setting: its link}; each page at its defaults and at its largest settings
    "shapes": {"defaults": "", "largest": "d_model=4096&n_tokens=512&tie_dk=false&d_k=4096"},
    "self_attention": {"defaults": "", "largest": "d_model=64&d_k=64&sentence=" + "+".join(f"w{i}" for i in range(12))},
    "multi_head": {"defaults": "", "largest": "batch=8&tokens=64&embdim=1024&heads=16"},
    # page 6 after a training: its largest prompt and most heads (its largest model is a long training, bounded)
    "attention_learns": {"defaults": "", "12 digits, 8 heads": "length=12&n_heads=8&steps=100"},
    # page 7 after writing (its link writes at once): the language model's sentence, and 32 tokens at temperature 2
    "generate": {"after writing": "run=1", "32 tokens, temperature 2": "run=1&temperature=2&max_new=32&seed=3"},
}
SCRUBBERS = {"attention_learns": ("training-step scrubber", "the grid's redraw", r"^step \d+: every layer"),
             "generate": ("generation-step slider", "the bars' redraw", r"^step \d+: the likeliest")}


WARM = {"vectors and weights", "show a trained model's heads"}  # first use trains a shared model: timed after it


def bench_controls(report: Report) -> None:
    """Every control on pages 1-3, 6 and 7 moved five times in Chromium, at the page's defaults and at its largest
    settings, each timed from the key press to the end of the script run it starts (its script state left "running"
    and its last message drawn; benchmarks/controls.py). Page 6 is measured after a training, page 7 after writing;
    their step sliders are Vega-Lite parameters, timed to the chart's redraw, and must start no script run. Page 7's
    model switch is left out: its other choice (a page-6 model) is empty in a fresh session."""
    add, check = report.add, report.check
    from playwright.sync_api import sync_playwright

    from benchmarks.controls import DELIVERY, WATCH, measure_page, time_scrubber
    from scripts.browser import launch, settle, streamlit_server

    with streamlit_server(log_path=ROOT / "benchmarks" / ".controls.log") as (url, _), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(WATCH)  # sees the end of a run too quick to show "running" (benchmarks/controls.py)
        for name, settings in CONTROL_PAGES.items():
            for which, query in settings.items():
                page.goto(f"{url}/{name}?{query}")
                settle(page)
                if name == "attention_learns":
                    page.get_by_role("button", name="Train", exact=True).click()
                    page.get_by_text("done: ").wait_for(timeout=300_000)
                    settle(page, limit=600)
                if name in SCRUBBERS:
                    what, shown, title = SCRUBBERS[name]
                    times, runs = time_scrubber(page, title=title)
                    med = statistics.median(times)
                    add("controls", f"{name}, {which}: {what} (Vega-Lite), to {shown}",
                        f"{med:.0f} ms", f"script runs started: {runs}; " + ", ".join(f"{t:.0f}" for t in times),
                        check("scrubber_ms", med))
                    check("scrubber_script_runs", runs)
                for label, med, times in measure_page(page, f"{url}/{name}?{query}", settle, warm=WARM,
                                                      goto=name not in SCRUBBERS, skip={"the model that writes"}):
                    add("controls", f"{name}, {which}: {label}", f"{med:.0f} ms", ", ".join(f"{t:.0f}" for t in times),
                        check("control_run_ms", med))
        browser.close()
    wait = sorted(DELIVERY)
    add("controls", "harness: from asking Playwright to press to Chromium receiving the key (not in the rows above)",
        f"{statistics.median(wait):.0f} ms median", f"{wait[0]:.0f}-{wait[-1]:.0f} ms over {len(wait)} moves", "")
    (ROOT / "benchmarks" / ".controls.log").unlink(missing_ok=True)


FIRST_TOKEN = """async (prompt) => {
    const button = [...document.querySelectorAll('button')].find(b => b.innerText.trim().endsWith('Generate'));
    const t0 = performance.now();
    const shown = new Promise(resolve => {
        const check = () => {
            const box = document.querySelector('.st-key-generated');
            return box && box.innerText.trim().length > prompt.length;
        };
        const watch = new MutationObserver(() => {
            if (check()) { watch.disconnect(); resolve(performance.now() - t0); }
        });
        watch.observe(document.body, {subtree: true, childList: true, characterData: true});
    });
    button.click();
    return await shown;
}"""


def bench_first_token(report: Report, times: int = 7) -> None:
    """Page 7 in Chromium, on the trained language model at its defaults: from the click on Generate (in the page) to
    the first written token appearing after the prompt, each time in a fresh session (the page opened again)."""
    add, check = report.add, report.check
    from playwright.sync_api import sync_playwright

    from scripts.browser import launch, settle, streamlit_server

    with streamlit_server(log_path=ROOT / "benchmarks" / ".first_token.log") as (url, _), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        waits = []
        for _ in range(times + 1):  # the first visit trains the language model; its click warms the page's code
            page.goto(f"{url}/generate")
            settle(page, limit=300)
            waits.append(page.evaluate(FIRST_TOKEN, "the cat chased the dogs . then"))
            settle(page)
        browser.close()
    (ROOT / "benchmarks" / ".first_token.log").unlink(missing_ok=True)
    med = statistics.median(waits[1:])
    add("generate page", "page 7: click on Generate to the first written token on screen (language model)",
        f"{med:.0f} ms", f"median of {times}, fresh sessions: " + ", ".join(f"{t:.0f}" for t in waits[1:]),
        check("first_token_ms", med))


def bench_drawing(report: Report, taps: int = 9) -> None:
    """Page 4's canvas in Chromium on a 390 px phone (touch): from a tap on an empty cell to the model's new reading
    on screen (its prediction sentence; the bars and the rollout are drawn in the same script run)."""
    add, check = report.add, report.check
    from playwright.sync_api import sync_playwright

    from scripts.browser import launch, settle, streamlit_server

    tiny = "epochs_a=1&epochs_b=2&epochs_c=3&n_layers=1&run=1"
    cells = [(1, 4), (2, 4), (3, 4), (4, 4), (5, 4), (6, 4), (1, 3), (1, 5), (6, 3), (6, 5), (3, 3), (4, 5)]
    with streamlit_server(log_path=ROOT / "benchmarks" / ".drawing.log") as (url, _), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page.goto(f"{url}/training?{tiny}")
        settle(page, limit=300)
        waits = []
        for i, (r, c) in enumerate(cells[: taps + 3]):
            canvas = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="tap a cell")
            canvas.scroll_into_view_if_needed()
            box = canvas.locator("g.mark-rect path").nth(r * 8 + c).bounding_box()
            if i >= 3:  # from the third inked cell on, the model reads the drawing: time the reading's change
                page.evaluate("""() => { window.__changedAt = null; const text = () => [...document.querySelectorAll(
                    '[data-testid="stMarkdown"]')].map(e => e.innerText).find(t => t.includes('reads your drawing'));
                    const before = text(); const watch = new MutationObserver(() => { if (text() !== before) {
                    window.__changedAt = performance.now(); watch.disconnect(); } });
                    watch.observe(document.body, {subtree: true, childList: true, characterData: true});
                    window.__tapped = performance.now(); }""")
            page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            if i >= 3:
                page.wait_for_function("window.__changedAt !== null", timeout=30_000)
                waits.append(page.evaluate("window.__changedAt - window.__tapped"))
            settle(page)
        browser.close()
    (ROOT / "benchmarks" / ".drawing.log").unlink(missing_ok=True)
    med = statistics.median(waits)
    add("drawing", "page 4: a tap on the canvas to the model's new reading on screen (390 px phone, touch)",
        f"{med:.0f} ms", f"median of {len(waits)} taps: " + ", ".join(f"{t:.0f}" for t in waits),
        check("drawing_ms", med))
