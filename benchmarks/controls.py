"""How long a control takes to answer, measured in Chromium: from the key press (or click) to the end of the script
run it starts: the page's own script-state attribute leaving "running" and the first frame drawn after the run's
ScriptFinished message, whichever comes later (``ENDED``). Used by `python -m benchmarks controls`.

The clock starts at the key press as Chromium receives it: the keydown event's own time stamp (``KEY``, a capturing
listener), as for page 6's scrubber, not when this script asks Playwright to press: the key then travels from Python
through Playwright's driver and the DevTools protocol, time no student waits for. That delivery time is kept
(``DELIVERY``) and reported in a row of its own (a few milliseconds: 4-24 ms over 390 moves in one run).

Every control on a page is found by its Streamlit test id and moved five times: a slider one step (away from the end
it sits at, so each step is a new setting), a toggle, checkbox or radio flipped, a select box to another option, a
text box given a new value. A control whose move starts no script run (a Vega-Lite parameter) is timed to the moment
its chart shows the new value instead.
"""
from __future__ import annotations

import math
import os
import statistics

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from scripts.browser import PROTO_FIELDS

# a MutationObserver records when the script state becomes "running" and when it leaves it, in the page's clock
OBSERVE = """() => { window.__starts = []; window.__ends = [];
  new MutationObserver(() => {
    const el = document.querySelector('[data-test-script-state]');
    const s = el && el.getAttribute('data-test-script-state');
    (s === 'running' ? window.__starts : window.__ends).push(performance.now()); })
  .observe(document.body, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']}); }"""

# A run that ends within one frame of starting never shows "running" (the browser draws both states at once), so the
# observer above sees nothing. Installed before the page loads (``page.add_init_script(WATCH)``), this also notes the
# first frame after each ScriptFinished message arrives (field 6 of Streamlit's ForwardMsg): the end of such a run.
WATCH = """(() => { window.__finished = [];
  const fields = """ + PROTO_FIELDS + """;
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket { constructor(...args) { super(...args); this.binaryType = 'arraybuffer';
    this.addEventListener('message', (e) => { if (fields(e.data).includes(6))
      requestAnimationFrame(() => window.__finished.push(performance.now())); }); } }; })();"""

# the next keydown's time stamp, in the page's clock (performance.now()): when Chromium received the key, so a page
# still busy with earlier work makes the wait longer, as it would for a student
KEY = """() => { window.__keyAt = null;
  document.addEventListener('keydown', (e) => { window.__keyAt = e.timeStamp; }, {capture: true, once: true}); }"""
DELIVERY: list[float] = []  # ms from asking Playwright to press to Chromium receiving the key, every timed move

DEBUG = bool(os.environ.get("CONTROLS_DEBUG"))  # each move printed as it is timed
TIMEOUT = 20_000
KINDS = {"stSlider": "slider", "stCheckbox": "toggle", "stRadio": "radio", "stSelectbox": "select",
         "stTextInput": "text", "stNumberInput": "number", "stMultiSelect": "multiselect"}


def controls(page, within: str = '[data-testid="stMain"]') -> list[tuple[str, str, int]]:
    """(kind, label, index among its kind) of every control in the main area, top to bottom."""
    found = []
    for testid, kind in KINDS.items():
        boxes = page.locator(f'{within} [data-testid="{testid}"]')
        for i in range(boxes.count()):
            label = boxes.nth(i).locator('[data-testid="stWidgetLabel"]').first
            text = label.inner_text().strip().splitlines()[0] if label.count() else f"{kind} {i}"
            # a number box at its minimum or maximum disables one of its +/- buttons, not the box itself
            inner = "input[disabled]" if kind == "number" else "[disabled], [aria-disabled=true]"
            disabled = boxes.nth(i).locator(inner).count()
            if not disabled and not boxes.nth(i).locator("xpath=ancestor::form").count():
                found.append((kind, text, i))
    return found


def _act(page, kind: str, index: int, step: int, within: str):
    """Move one control by keyboard, as a student can; returns the last key to press (the clock starts there)."""
    box = page.locator(f'{within} [data-testid="{next(k for k, v in KINDS.items() if v == kind)}"]').nth(index)
    if kind == "slider":
        handle = box.get_by_role("slider").first  # an <input type="range">: value, min and max
        at_max = handle.input_value() == handle.get_attribute("max")
        return handle, "ArrowLeft" if at_max else "ArrowRight"
    if kind == "toggle":
        return box.locator("input").first, " "
    if kind == "radio":
        options = box.get_by_role("radio")
        checked = next(i for i in range(options.count()) if options.nth(i).is_checked())
        last = checked == options.count() - 1
        return options.nth(checked), "ArrowUp" if last else "ArrowDown"
    if kind == "select":
        field = box.locator("input").first
        field.focus()
        field.press("ArrowDown")  # opens the list on the current option
        page.get_by_role("option").first.wait_for()
        options = page.get_by_role("option")
        current = next((i for i in range(options.count()) if options.nth(i).get_attribute("aria-selected") == "true"),
                       0)
        last = current == options.count() - 1
        field.press("ArrowUp" if last else "ArrowDown")
        return field, "Enter"
    if kind == "multiselect":  # the last option removed, then one chosen again (works at its most options too); one
        # chosen first where none is (a run before, at other settings, may have left none: Backspace would do nothing)
        field = box.locator("input").first
        field.focus()
        if step % 2 == 0 and box.locator('[data-tag]').count():
            return field, "Backspace"
        field.press("ArrowDown")
        page.get_by_role("option").first.wait_for()
        return field, "Enter"
    if kind == "number":  # a new value typed, then Enter (the arrows change it without sending it)
        field = box.locator("input").first
        field.fill(str(int(float(field.input_value())) + (1 if step % 2 == 0 else -1)))
        return field, "Enter"
    field = box.locator("input").first  # a text box: a changed value, then Enter
    value = field.input_value()
    field.fill(value + " ." if step % 2 == 0 else value.removesuffix(" ."))
    return field, "Enter"


# the end of the run a move after t0 started (page clock, ms), or null while it has not ended: the later of the script
# state leaving "running" (after it was last drawn as "running") and the first frame drawn after the run's
# ScriptFinished message (the state can leave "running" a frame before that message's work is drawn, or after it); a
# run too quick to draw "running" at all ends at that frame
ENDED = """(t0) => {
  const el = document.querySelector('[data-test-script-state]');
  if (!el || el.getAttribute('data-test-script-state') === 'running') return null;
  const starts = window.__starts.filter(t => t > t0), ends = window.__ends.filter(t => t > t0);
  const finished = window.__finished.filter(t => t > t0);
  if (!finished.length) return null;
  if (!starts.length) return finished[0];
  const end = ends.length ? ends[ends.length - 1] : -Infinity;
  return end > starts[starts.length - 1] ? Math.max(end, finished[0]) : null; }"""


def time_control(page, kind: str, index: int, settle, within: str = '[data-testid="stMain"]', moves: int = 5):
    """Milliseconds from each of ``moves`` key presses on one control (as Chromium receives it: ``KEY``) to the end
    of the script run it starts (``ENDED``: the script state leaving "running" and the first frame after the run's
    ScriptFinished message, whichever is later; the page must have been opened with ``WATCH``)."""
    if not page.evaluate("'__finished' in window"):
        raise RuntimeError("open the page with page.add_init_script(controls.WATCH) first")
    times = []
    for step in range(moves):
        page.evaluate(OBSERVE) if not page.evaluate("'__ends' in window") else None
        target, key = _act(page, kind, index, step, within)
        target.focus()
        page.evaluate(KEY)
        t0 = page.evaluate("performance.now()")
        target.press(key)
        end = page.wait_for_function(f"({ENDED})({t0})", timeout=TIMEOUT).json_value()
        pressed = page.evaluate("window.__keyAt")
        if pressed is None or not t0 <= pressed <= end:
            raise RuntimeError(f"no key press seen between the call ({t0:.0f}) and the run's end ({end:.0f})")
        DELIVERY.append(pressed - t0)
        times.append(end - pressed)
        page.wait_for_timeout(300)  # the run's last messages drawn before the next move (a benchmark, not a test)
        if DEBUG:
            print(f"   end after {times[-1]:.0f} ms (key delivered after {pressed - t0:.0f} ms)", flush=True)
        settle(page)
    return times


def _warm(page, kind: str, index: int, settle, within: str = '[data-testid="stMain"]') -> None:
    target, key = _act(page, kind, index, 1, within)
    target.press(key)
    page.wait_for_timeout(500)
    settle(page, limit=600)


def measure_page(page, url: str, settle, skip=(), warm=(), goto: bool = True) -> list[tuple[str, float, list[float]]]:
    """(label, median ms, all ms) for every control on the page at ``url`` (already open unless ``goto``). A control
    whose label starts with one in ``warm`` is moved once, untimed, first (its first use trains a shared model)."""
    if goto:
        page.goto(url)
        settle(page)
    page.evaluate(OBSERVE)
    out = []
    for kind, label, index in controls(page):
        if label in skip:
            continue
        if DEBUG:
            print("  timing", kind, label, flush=True)
        if any(label.startswith(w) for w in warm):
            _warm(page, kind, index, settle)
        try:
            try:
                times = time_control(page, kind, index, settle)
            except PlaywrightTimeout:  # once more, on the page loaded afresh: a move can be lost while the page is
                page.keyboard.press("Escape")  # still busy, or a widget left in a state the keys do not move
                page.goto(url)
                settle(page)
                page.evaluate(OBSERVE)
                times = time_control(page, kind, index, settle)
        except PlaywrightTimeout:  # no script run started, or it never ended: reported, not hidden
            out.append((f"{kind} “{label}”: no script run ended within {TIMEOUT / 1000:.0f} s", math.inf, []))
            page.keyboard.press("Escape")  # close a list a select box may have left open
            settle(page)
            continue
        out.append((f"{kind} “{label}”", statistics.median(times), times))
    return out


# the scrubber's slider is a Vega-Lite binding: the clock starts at its key press (the keydown's time stamp, as for
# the other controls) and stops when the grid's title shows another step
SCRUB = """(pattern) => { window.__scrub = new Promise((resolve) => {
  const title = () => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg text')]
      .map(t => t.textContent).find(t => new RegExp(pattern).test(t));
  const before = title();
  let t0 = null;
  document.addEventListener('keydown', (e) => { t0 = e.timeStamp; }, {capture: true, once: true});
  const check = () => { if (t0 !== null && title() !== before) resolve(performance.now() - t0);
                        else requestAnimationFrame(check); };
  requestAnimationFrame(check);
  setTimeout(() => resolve(Infinity), 5000);  // never shown: reported as such
}); }"""


def time_scrubber(page, moves: int = 5, title: str = r"^step \d+: every layer") -> tuple[list[float], int]:
    """(milliseconds from each key press on a chart's step slider (page 6's training steps, page 7's generation
    steps) to the chart titled by ``title`` (a regular expression) showing the new step, script runs those presses
    started)."""
    page.evaluate(OBSERVE) if not page.evaluate("'__ends' in window") else None
    runs = page.evaluate("window.__starts.length")
    slider = page.locator('[data-testid="stVegaLiteChart"] input[type="range"]').first
    times = []
    for step in range(moves):
        slider.focus()
        page.evaluate(SCRUB, title)  # a promise in the page, waiting for the key press
        slider.press("ArrowLeft" if step % 2 == 0 else "ArrowRight")
        times.append(page.evaluate("window.__scrub"))
    page.wait_for_timeout(300)  # a run a press had started would have begun by now
    return times, page.evaluate("window.__starts.length") - runs
