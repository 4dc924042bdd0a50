"""Screenshots of every page of the real running app, for the README: docs/screenshots/<page>.png.

Usage (from the project root): .venv/bin/python scripts/screenshots.py [OUT_DIR=docs/screenshots] [--width 1280]
[--only NAME,NAME] (picture names, e.g. --only lessons,lesson_step)
The training page is shot after a press of Train with the default settings and the CNN baseline, looking inside
the trained model; page 5 after its study, with the layer timings; page 6 after training reverse with positions on
and off; page 7 after writing (its link's run=1); page 2 in learned mode as learned.png; a lesson's step after a
wrong prediction as lesson_step.png (the first screen only: the panel over its page).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from playwright.sync_api import sync_playwright  # noqa: E402

from scripts.browser import PAGES, ROOT, full_height, launch, rerun, settle, streamlit_server  # noqa: E402

QUERY = {"training": "?cnn=1", "attention_learns": "?compare=1",  # pages shot after a press of Train
         "generate": "?run=1"}  # a link that writes at once
PRESS = {"training": "Train", "attention_learns": "Train", "why_attention": "Run the study"}
EXTRA = {"learned": "self_attention?mode=learned"}  # more pictures: page 2 on the trained language model


def main() -> None:
    flags = {"--width", "--only"}  # each takes a value
    args = [a for i, a in enumerate(sys.argv[1:], 1) if not a.startswith("--") and sys.argv[i - 1] not in flags]
    out = Path(args[0]) if args else ROOT / "docs" / "screenshots"
    width = int(sys.argv[sys.argv.index("--width") + 1]) if "--width" in sys.argv else 1280
    out.mkdir(parents=True, exist_ok=True)
    with streamlit_server(log_path=out / "server.log") as (url, _), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": width, "height": 900})
        only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
        for path in [*PAGES, *EXTRA.values()]:
            name = next((k for k, v in EXTRA.items() if v == path), path or "home")
            if only and name not in only:
                continue
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{url}/{path}" + QUERY.get(path, ""))
            settle(page)
            if path in PRESS:  # train (the classifier with the CNN baseline; reverse with positions on and off; the
                # study, whose models page 5's claims are then tested on)
                page.get_by_role("button", name=PRESS[path], exact=True).click()
                page.get_by_text("done: ").wait_for(timeout=300_000)
                settle(page, limit=300)
            if path == "why_attention":  # and time the two layers
                rerun(page, page.get_by_role("button", name="Time one attention layer").click)
            if path == "training":  # then look inside the model
                rerun(page, page.get_by_text("look inside:").click)
            page.set_viewport_size({"width": width, "height": min(16000, full_height(page) + 80)})
            settle(page)  # the taller window redraws the charts
            settle(page, limit=300)  # learned mode trains the language the first time
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            print(out / f"{name}.png")
        if not only or "lesson_step" in only:  # a lesson's step: the prediction [768, 768] for the weights, explained
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{url}/shapes?lesson=shapes&step=2")
            settle(page)
            panel = page.locator(".st-key-lesson_panel")
            panel.get_by_label("your prediction").fill("768, 768")
            rerun(page, panel.get_by_role("button", name="Check my prediction").click)
            page.screenshot(path=str(out / "lesson_step.png"))
            print(out / "lesson_step.png")
        browser.close()


if __name__ == "__main__":
    main()
