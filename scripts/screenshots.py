"""Screenshots of every page of the real running app, for the README: docs/screenshots/<page>.png.

Usage (from the project root): .venv/bin/python scripts/screenshots.py [OUT_DIR=docs/screenshots] [--width 1280]
The training page is shot after a press of Train with the default settings and the CNN baseline, looking inside
the trained model; page 5 after its study, with the layer timings; page 6 after training reverse with positions on
and off; page 7 after writing (its link's run=1); page 2 in learned mode as learned.png.
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
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else ROOT / "docs" / "screenshots"
    width = int(sys.argv[sys.argv.index("--width") + 1]) if "--width" in sys.argv else 1280
    out.mkdir(parents=True, exist_ok=True)
    with streamlit_server(log_path=out / "server.log") as (url, _), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": width, "height": 900})
        for path in [*PAGES, *EXTRA.values()]:
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
            name = next((k for k, v in EXTRA.items() if v == path), path or "home")
            settle(page, limit=300)  # learned mode trains the language the first time
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            print(out / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
