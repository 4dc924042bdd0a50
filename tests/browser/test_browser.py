"""End to end: `streamlit run app.py` in headless Chromium (Debian's, at /usr/bin/chromium), as a student sees it.

Skips when no browser is installed, unless REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails.
"""
import asyncio
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from scripts.browser import _COUNT_RUNS, CHROMIUM, PAGES, launch, rerun, settle, streamlit_server
from scripts.streamlit_ws import Session

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
def app(tmp_path_factory, language_job, language_store):
    missing = _browser_missing()
    if missing:
        if REQUIRED:
            pytest.fail(f"REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    from lab.server import archive, store
    from transformer.language import LanguageConfig

    log = tmp_path_factory.mktemp("server") / "server.log"
    # the server's own store holds just the language model this run trained once (so learned mode and page 7 do not
    # train it again in every server); whatever this server trains stays in its own store
    own = tmp_path_factory.mktemp("store")
    key = archive.key_of(LanguageConfig())
    store.SQLiteStore(own).put(key, store.SQLiteStore(language_store).get(key))
    # two trainings at once whatever the machine's cores, so the queue test sees a queue on any CI machine
    env = {"LAB_TRAINING_SLOTS": "2", "LAB_STORE": str(own)}
    with streamlit_server(log_path=log, env=env) as (url, _), sync_playwright() as pw:
        browser = launch(pw)
        yield url, browser, log
        browser.close()
    text = log.read_text()
    assert "Traceback" not in text and "torch.classes" not in text, text


@pytest.fixture
def contexts(app):
    """Make browser contexts (``contexts(viewport=...)``) that are closed after the test, pass or fail."""
    made = []

    def new(**kwargs):
        made.append(app[1].new_context(**{"viewport": {"width": 1280, "height": 900}, **kwargs}))
        return made[-1]

    yield new
    for context in made:
        context.close()


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


ALL_DRAWN = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .every(c => c.querySelector('canvas, svg'))"""


def charts_drawn(p) -> tuple[int, int]:
    """(charts on the page, charts drawn), once every chart is drawn or 10 s have passed: Vega draws a chart after
    the script run that sent it has ended, later on a busy machine."""
    try:
        p.wait_for_function(ALL_DRAWN, timeout=10_000)
    except Exception:  # the counts below say which are missing
        pass
    charts = p.locator('[data-testid="stVegaLiteChart"]')
    drawn = p.locator('[data-testid="stVegaLiteChart"]:has(canvas), [data-testid="stVegaLiteChart"]:has(svg)')
    return charts.count(), drawn.count()


def chart_titles(p) -> str:
    """The text of every chart's title (SVG text, which the page's inner text leaves out)."""
    return " | ".join(p.locator('[data-testid="stVegaLiteChart"] svg .role-title-text').all_text_contents())


def main_text(p) -> str:
    return p.locator('[data-testid="stMain"]').inner_text()


def test_every_page_through_the_navigation(app, page):
    url = app[0]
    page.goto(url)
    settle(page)
    links = page.locator('[data-testid="stSidebarNavLink"]')
    assert links.count() == len(PAGES)
    # page 2's √d_k chart is drawn only once its expander is opened
    expect_charts = {"shapes": 2, "self_attention": 4, "multi_head": 1, "why_attention": 1}
    for i in range(links.count()):
        link = page.locator('[data-testid="stSidebarNavLink"]').nth(i)
        href = link.get_attribute("href") or ""
        rerun(page, link.click)
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
    rerun(page, lambda: thumb.press("ArrowRight"))
    text = main_text(page)
    assert "[769, 6]" in text and "[769, 769]" in text


def test_two_epoch_training_draws_curves(app, page):
    page.goto(f"{app[0]}/training")
    settle(page)
    for label, value in (("run A", "1"), ("run B", "2"), ("run C", "2")):
        box = page.get_by_label(label)
        box.fill(value)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"done: \d+ of \d+ trainings finished")).wait_for(timeout=120_000)
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
    rerun(page, lambda: box.press("Enter"))
    assert page.dialogs == []
    assert page.locator('[data-testid="stMain"] img[src="x"]').count() == 0
    assert page.locator('[data-testid="stMain"] b:text-is("bold")').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "< | img | src | = | x | onerror" in main_text(page)  # the tags are shown as tokens, as text


# ---------------------------------------------------------------- what a student and a lecturer hit (issue 10)
def sidebar_titles(p) -> list[str]:
    links = p.locator('[data-testid="stSidebarNavLink"]')
    return [links.nth(i).inner_text().strip().splitlines()[-1] for i in range(links.count())]  # after the icon


def no_exception(p) -> None:
    boxes = p.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def sentence_box(p):
    return p.get_by_label("Sentence", exact=True).and_(p.locator("input"))


def test_own_sentence_then_toggles_and_sliders_do_not_crash(app, page):
    page.goto(f"{app[0]}/self_attention")
    settle(page)
    for text in ("my own sentence here", "a second and longer sentence of mine"):
        sentence_box(page).fill(text)
        rerun(page, lambda: sentence_box(page).press("Enter"))
        no_exception(page)
        rerun(page, page.get_by_text("causal mask", exact=True).click)
        no_exception(page)
        slider = page.get_by_role("slider").first  # d_model
        slider.focus()
        rerun(page, lambda s=slider: s.press("ArrowRight"))
        no_exception(page)
    assert "a | second | and | longer" in main_text(page)


@pytest.mark.parametrize("path,expect", [("/training", "Train a transformer classifier"),
                                         ("/shapes?d_model=512&n_tokens=10", "[512, 10]")])
def test_a_link_opened_first_on_a_fresh_server(app, contexts, tmp_path, path, expect):
    """Whoever wakes a Cloud app opens it through a link: the app's navigation, page config and the link's settings
    must show even though no session has run app.py yet."""
    from lab.pages import PAGES

    with streamlit_server(log_path=tmp_path / "fresh.log") as (url, _):
        p = contexts().new_page()
        p.goto(url + path)
        settle(p)
        no_exception(p)
        assert sidebar_titles(p) == [pg.title for pg in PAGES]  # not the raw file names, and no "app" page
        assert p.title() == "Transformer from Scratch"  # the page config ran
        width = p.locator('[data-testid="stMainBlockContainer"]').bounding_box()["width"]
        assert width > 900, f"layout is not wide: {width} px"
        assert expect in main_text(p)
    log = (tmp_path / "fresh.log").read_text()
    assert "Traceback" not in log, log


def go(page, title: str) -> None:
    """Through the sidebar, as a student does. Waits for the new page's own title: a quick page can run and finish
    within one frame, so the script's "running" state is not always there to be seen."""
    before = page.locator('[data-testid="stMain"] h1').first.inner_text()
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
    page.wait_for_function("""(before) => { const h = document.querySelector('[data-testid="stMain"] h1');
                                            return h && h.innerText !== before; }""", arg=before, timeout=120_000)
    settle(page)


def test_settings_survive_a_trip_through_the_sidebar(app, page):
    page.goto(f"{app[0]}/self_attention")
    settle(page)
    sentence_box(page).fill("attention is all you need")
    rerun(page, lambda: sentence_box(page).press("Enter"))
    go(page, "1. Shapes")
    rerun(page, page.get_by_text("rows: X is [tokens, d_model]").click)
    go(page, "2. Self-attention")
    assert sentence_box(page).input_value() == "attention is all you need"
    assert "sentence=attention" in page.url  # the link shows the settings again
    go(page, "1. Shapes")
    assert page.get_by_role("radio", name="rows: X is [tokens, d_model] (PyTorch)").is_checked()
    assert "layout=rows" in page.url


def press_train(p) -> None:
    p.get_by_role("button", name="Train", exact=True).click()
    p.get_by_text(re.compile(r"done: \d+ of \d+ trainings finished")).wait_for(timeout=120_000)
    settle(p)


TINY = "epochs_a=1&epochs_b=2&epochs_c=3&d_model=8&n_heads=2&n_layers=1"


def test_results_always_say_which_settings_made_them(app, page):
    url = app[0]
    page.goto(f"{url}/training?{TINY}&seed=2")
    settle(page)
    press_train(page)
    assert "Final metrics" in main_text(page) and "earlier settings" not in main_text(page)
    # away and back: the form and the link show the run's settings again, and its results
    go(page, "1. Shapes")
    go(page, "4. Train")
    assert page.get_by_label("seed").input_value() == "2" and "seed=2" in page.url
    assert "Final metrics" in main_text(page) and "earlier settings" not in main_text(page)
    # a preset changes the form: the results are marked as coming from the earlier settings
    rerun(page, page.get_by_role("button", name="Overfitting").click)
    text = main_text(page)
    assert "The results below come from earlier settings" in text and "train_fraction: 1.0 → 0.05" in text


def test_a_reload_during_training_shows_the_run(app, page):
    page.goto(f"{app[0]}/training?epochs_a=5&epochs_b=10&epochs_c=40&seed=5")
    settle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"-epoch run: epoch \d+ of")).first.wait_for(timeout=60_000)
    assert "run=1" in page.url
    page.reload()
    page.get_by_text(re.compile(r"done: \d+ of \d+ trainings finished")).wait_for(timeout=120_000)
    settle(page)
    text = main_text(page)
    assert "Choose settings and press" not in text and "Final metrics" in text
    assert page.get_by_label("seed").input_value() == "5"


def test_projector_mode_in_a_lecture_hall(app, contexts):
    """A lecturer's link opens in projector mode, keeps it across pages, and training progress is in view at
    1280x720 without scrolling."""
    url = app[0]
    p = contexts(viewport={"width": 1280, "height": 720}).new_page()
    p.goto(f"{url}/training?projector=1&{TINY}")
    settle(p)
    assert p.get_by_role("switch", name="Projector mode").is_checked()
    p.get_by_role("button", name="Train", exact=True).click()
    bar = p.get_by_text(re.compile(r"-epoch run: epoch \d+ of")).first
    bar.wait_for(timeout=60_000)
    box = bar.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= 720, box
    p.get_by_text(re.compile(r"done: \d+ of \d+ trainings finished")).wait_for(timeout=120_000)
    go(p, "2. Self-attention")
    assert p.get_by_role("switch", name="Projector mode").is_checked() and "projector=1" in p.url


@pytest.mark.parametrize("d_k", [9, 64])
def test_every_matrix_fits_and_none_overlap(app, page, d_k):
    page.goto(f"{app[0]}/self_attention?d_k={d_k}&sentence=" + "+".join(f"w{i}" for i in range(12)))
    settle(page)
    main = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]').first.bounding_box()
    drawings = page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks')
    boxes = [drawings.nth(i).bounding_box() for i in range(drawings.count())]
    assert len(boxes) >= 4  # Q, K and V in one chart; steps 2 and 3's bars in another; the weights; steps 4 and 5
    for b in boxes:  # inside the page's column
        assert b["x"] >= main["x"] - 1 and b["x"] + b["width"] <= main["x"] + main["width"] + 1, (b, main)
    for i, a in enumerate(boxes):  # and no two drawings on top of each other
        for b in boxes[i + 1:]:
            w = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
            h = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
            assert w <= 1 or h <= 1, (a, b)


def test_watch_attention_learn(app, page):
    page.goto(f"{app[0]}/attention_learns?length=4&steps=100&d_model=32&compare=1")
    settle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"done: \d+ of \d+ trainings finished")).wait_for(timeout=120_000)
    settle(page)
    no_exception(page)
    charts, drawn = charts_drawn(page)
    assert charts == drawn >= 4
    text = main_text(page)
    assert "step 100: every layer and head" in text and "With positions the model gets" in text
    main = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]').first.bounding_box()
    drawings = page.locator('[data-testid="stVegaLiteChart"] svg.marks, [data-testid="stVegaLiteChart"] canvas')
    assert drawings.count() >= 4
    for i in range(drawings.count()):  # every chart inside the page
        box = drawings.nth(i).bounding_box()
        assert box["x"] + box["width"] <= main["x"] + main["width"] + 1, (box, main)
    # the scrubber is a Vega-Lite parameter: moving it redraws the grid in the browser and runs no script
    page.evaluate(_COUNT_RUNS)
    title = page.locator('[data-testid="stVegaLiteChart"] svg text', has_text=re.compile(r"^step \d+: every layer"))
    assert title.first.text_content().startswith("step 100:")
    page.locator('[data-testid="stVegaLiteChart"] input[type="range"]').first.fill("0")
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg text')]
                                    .some(t => t.textContent.startsWith('step 0: every layer'))""", timeout=10_000)
    assert page.evaluate("window.__labRuns") == 0  # no script run: the step was chosen in the browser
    no_exception(page)


def test_generate_writes_and_its_step_is_picked_in_the_browser(app, page):
    """Page 7 on the language model (trained the first time): Generate streams the text, the step slider under the
    explorer moves every panel to another step without running the script, and every chart fits a phone."""
    page.goto(f"{app[0]}/generate")
    settle(page, limit=180)
    page.get_by_role("button", name="Generate", exact=True).click()
    page.locator('[data-testid="stVegaLiteChart"] svg text', has_text=re.compile(r"^step \d+: the likeliest")).first \
        .wait_for(timeout=60_000)
    settle(page)
    no_exception(page)
    charts, drawn = charts_drawn(page)
    assert charts == drawn >= 3
    assert page.locator(".st-key-generated").inner_text().startswith("the cat chased the dogs . then")
    assert "the same tokens both ways" in main_text(page)
    page.evaluate(_COUNT_RUNS)
    page.locator('[data-testid="stVegaLiteChart"] input[type="range"]').first.fill("0")
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg text')]
                                    .some(t => t.textContent.startsWith('step 0: the KV cache'))""", timeout=10_000)
    assert page.evaluate("window.__labRuns") == 0  # no script run: the step was chosen in the browser
    no_exception(page)
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone every chart of the page fits the screen
    settle(page)
    assert charts_past_the_edge(page, 390) == []


def test_knocking_heads_out_on_page_6(app, page):
    """Choose heads in the knock-out box: the page measures the task without them (on every held-out prompt)."""
    page.goto(f"{app[0]}/attention_learns?length=4&steps=100&d_model=16&n_heads=2&n_layers=1&seed=3")
    settle(page)
    press_train(page)
    assert "Knock heads out: which heads does the answer need?" in main_text(page)
    box = page.get_by_label("knock out these heads together (their outputs set to zero)")
    for name in ("layer 0, head 0", "layer 0, head 1"):  # whatever the search found, choose both
        if name in box.locator("xpath=ancestor::*[@data-testid='stMultiSelect']").inner_text():
            continue
        box.click()
        page.keyboard.type(name)
        # Enter only once the list shows the typed head (under load the list can lag the typing, and an Enter
        # pressed before it picks nothing)
        page.get_by_role("option", name=name, exact=True).wait_for()
        rerun(page, lambda: page.keyboard.press("Enter"))
    page.keyboard.press("Escape")
    text = main_text(page)
    assert re.search(r"Exact-match [\d.]+% \(intact [\d.]+%\), token accuracy [\d.]+% \(intact [\d.]+%\), on every "
                     r"held-out example, without layer 0, head \d, layer 0, head \d\.", text), text[-800:]
    no_exception(page)


def click_cell(page, chart, row: str, col: str) -> None:
    """Click the heatmap cell (query ``row``, key ``col``), found by its tooltip, and wait for the rerun."""
    chart.scroll_into_view_if_needed()
    box = chart.locator("canvas, svg.marks").first.bounding_box()

    def tooltip_at(x: float, y: float) -> str:
        page.mouse.move(x, y)
        tip = page.locator("#vg-tooltip-element")
        try:
            tip.wait_for(state="visible", timeout=300)
        except Exception:
            return ""
        return tip.inner_text()

    def hit(text: str) -> bool:
        return row in text.split("key token")[0] and col in text.split("key token")[-1]

    target = None
    # an SVG matrix describes each cell to screen readers: the cell by its label, checked by its tooltip
    cell = chart.locator(f'g.mark-rect path[aria-label*="(row) {row},"][aria-label*="(column) {col},"]')
    if cell.count() == 1:
        b = cell.bounding_box()
        guess = (b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
        target = guess if hit(tooltip_at(*guess)) else None
    for y in range(int(box["y"]) + 5, int(box["y"] + box["height"]), 16) if target is None else ():  # else scan
        if row in tooltip_at(box["x"] + box["width"] / 2, y).split("key token")[0]:
            for x in range(int(box["x"]) + 5, int(box["x"] + box["width"]), 8):
                if hit(tooltip_at(x, y)):
                    target = (x, y)
                    break
            break
    assert target, f"no cell ({row}, {col}) found under the mouse"
    rerun(page, lambda: page.mouse.click(*target))


def weight_matrix(page):
    """Page 2's step-3 weight matrix (the chart whose title names its rows and columns)."""
    return page.locator('[data-testid="stVegaLiteChart"]', has_text="rows: queries · columns: keys").first


def test_a_click_on_a_weight_explains_it(app, page):
    """Click the cell (query 2: sat, key 4: the) of step 3's weight matrix: the panel derives that weight."""
    page.goto(f"{app[0]}/self_attention")
    settle(page)
    click_cell(page, weight_matrix(page), "2: sat", "4: the")  # another row: the query moves too
    text = main_text(page)
    assert "Weight of key 4: the for query 2: sat" in text and "the cell you chose" in text
    click_cell(page, weight_matrix(page), "2: sat", "1: cat")  # the same row: only the panel reruns (a fragment)
    text = main_text(page)
    assert "Weight of key 1: cat for query 2: sat" in text and "scores of query 2: sat" in chart_titles(page)
    no_exception(page)


def test_q_k_or_v_is_picked_in_the_browser(app, page):
    """Past d_k = 4, page 2 draws Q, K and V as one chart with radio buttons under it: a pick redraws the chart in
    the browser and runs no script."""
    page.goto(f"{app[0]}/self_attention?d_k=8")
    settle(page)
    chart = page.locator('[data-testid="stVegaLiteChart"]', has_text="pick another under the chart").first
    assert "matrix Q" in chart.text_content()
    page.evaluate(_COUNT_RUNS)
    chart.locator('input[type="radio"][value="K"]').check()
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg text')]
                                    .some(t => t.textContent.startsWith('matrix K'))""", timeout=10_000)
    assert page.evaluate("window.__labRuns") == 0  # no script run: the matrix was chosen in the browser
    no_exception(page)


def test_learned_mode_it_finds_cat(app, page):
    """In learned mode (the language model trains the first time, progress in the sidebar), click the cell where
    'it' looks at 'cat': the panel derives that weight from the trained head, and it is the row's largest. Then page
    3's activation patching on the same model, on a desktop and a phone."""
    page.goto(f"{app[0]}/self_attention?mode=learned")
    settle(page, limit=180)
    assert "The head that resolves pronouns best" in main_text(page)
    click_cell(page, weight_matrix(page), "7: it", "1: cat")
    text = main_text(page)
    assert "Weight of key 1: cat for query 7: it" in text and "the cell you chose" in text
    weight = float(re.search(r"its weight is [\d.]+ / [\d.]+ = ([\d.]+), the cell you chose", text)[1])
    assert weight > 0.5, weight  # the trained head sends most of the pronoun's attention to its noun
    no_exception(page)
    # page 3 on the same trained model: activation patching's two grids, drawn, and fitting a phone
    page.goto(f"{app[0]}/multi_head")
    settle(page)
    rerun(page, page.get_by_text("show a trained model's heads").click)
    page.get_by_text("Which head makes it say meowed?").wait_for(timeout=60_000)
    settle(page)
    no_exception(page)
    assert "one head's output taken from the sentence into its twin" in chart_titles(page)
    assert "restores the most of 'meowed' against 'barked'" in main_text(page)
    page.set_viewport_size({"width": 390, "height": 844})
    settle(page)
    assert charts_past_the_edge(page, 390) == []


def test_a_fair_queue_with_a_place_and_cancel(app, contexts):
    """Two students with different settings on a server that trains two at a time (LAB_TRAINING_SLOTS=2, whatever
    the machine's cores): the second waits, sees their place in line, and can cancel; cancelling frees the server."""
    url = app[0]
    pages = []
    for seed in (7, 8):
        p = contexts().new_page()
        p.goto(f"{url}/training?epochs_a=10&epochs_b=50&epochs_c=100&seed={seed}")
        settle(p)
        pages.append(p)
    first, second = pages
    first.get_by_role("button", name="Train", exact=True).click()
    first.get_by_text(re.compile(r"100-epoch run: epoch \d+ of 100")).wait_for(timeout=60_000)
    second.get_by_role("button", name="Train", exact=True).click()
    second.get_by_text(re.compile(r"1st in line, about \d+ s")).first.wait_for(timeout=60_000)
    rerun(second, second.get_by_role("button", name="Cancel").click)
    assert "Choose settings and press" in main_text(second)  # nothing of theirs was lost: there was nothing yet
    rerun(first, first.get_by_role("button", name="Cancel").click)
    assert "Choose settings and press" in main_text(first)
    for p in pages:
        no_exception(p)


def test_a_session_without_a_browser(app):
    """The class-load benchmark's client (scripts/streamlit_ws.py) speaks Streamlit's websocket protocol: it opens
    a link, reads the page as the server sent it, and its press of Train brings the result."""
    url, _, _ = app

    async def drive() -> Session:
        async with Session(url, watch_for=(b"done: ",)) as s:
            await s.run("training", "epochs_a=1&epochs_b=2&epochs_c=2&seed=41")
            assert "4. Train a transformer classifier" in s.texts()
            assert "seed=41" in s.query_string
            with pytest.raises(LookupError, match="Train"):
                s.button("Fly")
            await s.press("Train", timeout=120)
            return s

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: Playwright's loop runs in this one
        s = pool.submit(asyncio.run, drive()).result()
    assert any(t.startswith("done: 2 of 2 trainings finished") for t in s.texts()), "\n".join(s.texts())
    assert b"done: " in s.seen and "run=1" in s.query_string
    assert not s.exceptions


def test_teacher_mode_in_the_browser(app, page):
    """A teacher's link leaves students the learning rate: every other control is greyed out, the page says so in
    the controls' own words, and the flag survives a trip through the sidebar."""
    page.goto(f"{app[0]}/training?only=lr&{TINY}")
    settle(page)
    assert "Your teacher's link leaves you this control to change: learning rate." in main_text(page)
    sliders = page.get_by_role("slider")
    labels = [s.get_attribute("aria-label") or "" for s in sliders.all()]
    lr = sliders.nth(next(i for i, a in enumerate(labels) if "learning rate" in a))
    assert lr.is_enabled()
    others = [sliders.nth(i) for i, a in enumerate(labels) if "learning rate" not in a]
    assert len(others) == 6 and all(s.is_disabled() for s in others)
    assert page.get_by_role("button", name="Overfitting").is_disabled()
    go(page, "1. Shapes")
    go(page, "4. Train a classifier")
    assert "only=lr" in page.url and "d_model=8" in page.url
    assert "leaves you this control to change: learning rate." in main_text(page)
    no_exception(page)


# ---------------------------------------------------------------- what a class hits (issue 19)
def test_back_returns_to_the_previous_settings(app, page):
    """Each settings change is one history entry: Back steps through them, in the address bar and in the form."""
    from playwright.sync_api import expect

    page.goto(f"{app[0]}/training")
    settle(page)
    run_c = page.get_by_label("run C (epochs)")
    page.get_by_role("button", name="Overfitting").click()
    expect(run_c).to_have_value("100", timeout=30_000)
    page.get_by_role("button", name="Learning rate too high").click()
    page.wait_for_url(re.compile(r"lr=0\.05"), timeout=30_000)
    expect(run_c).to_have_value("50")
    page.go_back()
    page.wait_for_url(re.compile(r"fraction=0\.05"), timeout=30_000)
    expect(run_c).to_have_value("100", timeout=30_000)
    assert "lr=" not in page.url
    page.go_back()
    page.wait_for_url(re.compile(r"/training$"), timeout=30_000)
    expect(run_c).to_have_value("50", timeout=30_000)
    page.go_forward()
    page.wait_for_url(re.compile(r"fraction=0\.05"), timeout=30_000)
    expect(run_c).to_have_value("100", timeout=30_000)
    settle(page)
    assert "fraction=0.05" in page.url  # the page's own publish did not overwrite the entry Forward went to
    no_exception(page)


def charts_past_the_edge(p, width: int) -> list:
    return p.evaluate("""(w) => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(c => {
        const r = c.querySelector('svg, canvas').getBoundingClientRect();
        return [Math.round(r.left), Math.round(r.right)]; }).filter(([l, r]) => l < 0 || r > w + 1)""", width)


def draw_a_one(p) -> None:
    """Tap three cells of page 4's canvas (a vertical stroke): the model's reading of the drawing appears."""
    canvas = p.locator('[data-testid="stVegaLiteChart"]').filter(has_text="tap a cell")
    canvas.scroll_into_view_if_needed()
    for row in (2, 3, 4):  # the third inked cell is the first the model reads
        box = canvas.locator("g.mark-rect path").nth(row * 8 + 4).bounding_box()
        rerun(p, lambda box=box: p.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2))
    assert "The model reads your drawing as" in main_text(p)


def test_every_chart_fits_a_phone(app, contexts):
    """At 390 x 844 every chart on every page, and the trained pages' results, fit the screen."""
    url = app[0]
    p = contexts(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    for path in PAGES:
        p.goto(f"{url}/{path}")
        settle(p)
        assert charts_past_the_edge(p, 390) == [], path
    for path in ("attention_learns?length=4&steps=50&d_model=16&n_heads=2&n_layers=1", f"training?{TINY}"):
        p.goto(f"{url}/{path}")
        settle(p)
        p.get_by_role("button", name="Train", exact=True).click()
        p.get_by_text(re.compile(r"done: \d+ of \d+ trainings finished")).wait_for(state="attached",
                                                                                    timeout=120_000)
        settle(p)
        if path.startswith("training"):  # a digit drawn with a finger, a pinned run, the look inside the model
            draw_a_one(p)
            rerun(p, p.get_by_role("button", name="Pin this run").click)
            p.get_by_text("Pinned runs").or_(p.get_by_text("1 pinned run")).first.wait_for(timeout=60_000)
            rerun(p, p.get_by_text("look inside: attention on a digit").click)
        charts, drawn = charts_drawn(p)
        assert charts == drawn >= 4, path
        assert charts_past_the_edge(p, 390) == [], path
        no_exception(p)


def test_page_6_estimate_follows_the_form_and_train_replaces_the_prompt(app, page):
    page.goto(f"{app[0]}/attention_learns")
    settle(page)

    from playwright.sync_api import expect

    # a fragment's rerun can start and end within one frame, so the test waits for the text, not for a "running"
    estimate = page.get_by_text(re.compile(r"Estimated training time: about \d+ s"))
    before = estimate.inner_text()
    steps = page.get_by_role("slider", name="training steps")
    steps.focus()
    steps.press("End")  # 1,000 steps, Train not pressed
    expect(estimate).not_to_have_text(before, timeout=30_000)
    after = estimate.inner_text()
    assert int(re.search(r"about (\d+) s", after)[1]) > int(re.search(r"about (\d+) s", before)[1])
    steps.press("Home")  # 50 steps: a quick run
    expect(estimate).not_to_have_text(after, timeout=30_000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training: the progress bars are in the sidebar").or_(page.get_by_text(
        re.compile(r"done: \d+ of \d+ trainings finished"))).first.wait_for(timeout=60_000)
    assert "Choose a task and press" not in main_text(page)
    page.get_by_text(re.compile(r"done: \d+ of \d+ trainings finished")).wait_for(timeout=120_000)
    no_exception(page)


def test_projector_mode_shows_results_first_and_large_values(app, contexts):
    url = app[0]
    p = contexts(viewport={"width": 1280, "height": 720}).new_page()
    p.goto(f"{url}/attention_learns?projector=1&length=4&steps=50&d_model=16&n_heads=2&n_layers=1")
    settle(p)
    size = p.evaluate("""() => parseFloat(getComputedStyle(document.querySelector(
        '[data-testid="stMainBlockContainer"] input')).fontSize)""")
    assert size >= 17, size  # the values inside the boxes, not only the labels
    press_train(p)
    chart = p.locator('[data-testid="stVegaLiteChart"]').first.bounding_box()
    assert chart["y"] < 720, chart  # the first screen shows a result, not only the form
    assert p.get_by_text("Settings: open to change them").count() == 1
    no_exception(p)


def test_a_lesson_walked_in_the_browser(app, contexts):
    """The multi-head lesson walked end to end on a 390 px phone, from the Lessons page's Start to its summary: a
    wrong prediction explained from the page's numbers, a right one, Next opening a step's settings in the address
    and the form, the browser's Back returning to the step before; the panel and the page both fit the phone."""
    from playwright.sync_api import expect

    page = contexts(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    page.goto(f"{app[0]}/lessons")
    settle(page)
    rerun(page, page.get_by_role("button", name="Start").nth(2).click)  # 3. Multi-head attention with einsum
    page.wait_for_url(re.compile(r"/multi_head\?.*lesson=multi_head&step=1"), timeout=30_000)
    panel = page.locator(".st-key-lesson_panel")

    def predict(text: str) -> None:
        panel.get_by_label("your prediction").fill(text)
        rerun(page, panel.get_by_role("button", name="Check my prediction").click)

    def next_step(step: int) -> None:
        rerun(page, panel.get_by_role("button", name=re.compile("^(Next|Finish)$")).click)
        page.wait_for_url(re.compile(rf"step={step}$"), timeout=30_000)
        settle(page)

    settle(page)
    predict("1, 5, 768, 12")
    expect(panel).to_contain_text("You predicted [1, 5, 768, 12]. The page computes [1, 5, 768]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the panel and the page fit the phone
    assert charts_past_the_edge(page, 390) == []
    for step in range(2, 7):
        next_step(step)
    assert "heads=8" in page.url  # step 6: the step's own settings
    predict("1 5 8 96")
    expect(panel).to_contain_text("right")
    page.go_back()
    page.wait_for_url(re.compile(r"step=5$"), timeout=30_000)
    settle(page)
    expect(panel).to_contain_text("step 5 of 8")
    assert "heads" not in page.url
    for step in range(6, 10):  # to the end: Finish shows the summary
        next_step(step)
    expect(panel).to_contain_text("1 of 8 predictions right, 1 wrong")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    no_exception(page)
