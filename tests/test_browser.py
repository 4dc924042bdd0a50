"""End to end: `streamlit run app.py` in headless Chromium (Debian's, at /usr/bin/chromium), as a student sees it.

Skips when no browser is installed, unless REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails.
"""
import os
import re

import pytest

from scripts.browser import CHROMIUM, PAGES, launch, settle, streamlit_server

REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    missing = _browser_missing()
    if missing:
        if REQUIRED:
            pytest.fail(f"REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    log = tmp_path_factory.mktemp("server") / "server.log"
    with streamlit_server(log_path=log) as (url, _), sync_playwright() as pw:
        browser = launch(pw)
        yield url, browser, log
        browser.close()
    text = log.read_text()
    assert "Traceback" not in text and "torch.classes" not in text, text


@pytest.fixture
def page(app):
    url, browser, _ = app
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    dialogs = []
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    p.dialogs = dialogs
    yield p
    context.close()


def charts_drawn(p) -> tuple[int, int]:
    charts = p.locator('[data-testid="stVegaLiteChart"]')
    drawn = p.locator('[data-testid="stVegaLiteChart"]:has(canvas), [data-testid="stVegaLiteChart"]:has(svg)')
    return charts.count(), drawn.count()


def main_text(p) -> str:
    return p.locator('[data-testid="stMain"]').inner_text()


def test_every_page_through_the_navigation(app, page):
    url = app[0]
    page.goto(url)
    settle(page)
    links = page.locator('[data-testid="stSidebarNavLink"]')
    assert links.count() == len(PAGES)
    expect_charts = {"shapes": 2, "self_attention": 10, "multi_head": 1, "why_attention": 1}
    for i in range(links.count()):
        link = page.locator('[data-testid="stSidebarNavLink"]').nth(i)
        href = link.get_attribute("href") or ""
        link.click()
        page.wait_for_timeout(300)
        settle(page)
        name = href.rstrip("/").split("/")[-1]
        assert page.locator('[data-testid="stException"]').count() == 0, f"exception on {href}"
        assert page.locator("h1").count() >= 1, f"no title on {href}"
        charts, drawn = charts_drawn(page)
        assert charts == drawn, f"{href}: {charts - drawn} of {charts} charts not drawn"
        if name in expect_charts:
            assert charts >= expect_charts[name], f"{href}: {charts} charts"


def test_a_slider_changes_the_shape(app, page):
    page.goto(f"{app[0]}/shapes")
    settle(page)
    assert "[768, 6]" in main_text(page)
    thumb = page.get_by_role("slider").first  # d_model
    thumb.focus()
    thumb.press("ArrowRight")
    page.wait_for_timeout(500)
    settle(page)
    text = main_text(page)
    assert "[769, 6]" in text and "[769, 769]" in text


def test_two_epoch_training_draws_curves(app, page):
    page.goto(f"{app[0]}/training")
    settle(page)
    for label, value in (("run A", "1"), ("run B", "2"), ("run C", "2")):
        box = page.get_by_label(label)
        box.fill(value)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"done: \d+ epochs trained")).wait_for(timeout=120_000)
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    charts, drawn = charts_drawn(page)
    assert charts == drawn >= 2
    text = main_text(page)
    assert "1 epochs" in text and "2 epochs" in text and "Final metrics" in text


def test_html_in_the_sentence_stays_text(app, page):
    page.goto(f"{app[0]}/self_attention")
    settle(page)
    box = page.get_by_label("Sentence", exact=True).and_(page.locator("input"))
    box.fill('<img src=x onerror=alert(1)> <script>alert(2)</script> <b>bold</b>')
    box.press("Enter")
    page.wait_for_timeout(500)
    settle(page)
    assert page.dialogs == []
    assert page.locator('[data-testid="stMain"] img[src="x"]').count() == 0
    assert page.locator('[data-testid="stMain"] b:text-is("bold")').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "< | img | src | = | x | onerror" in main_text(page)  # the tags are shown as tokens, as text
