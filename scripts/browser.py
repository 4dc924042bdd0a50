"""Start `streamlit run app.py` on a free loopback port and drive it in Debian's headless Chromium.

Shared by the end-to-end test (tests/browser/test_browser.py) and the screenshot script (scripts/screenshots.py).
Never downloads a browser: it uses /usr/bin/chromium (or $CHROMIUM).
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from lab.pages import PAGES as _PAGES  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
PAGES = [p.url_path for p in _PAGES]  # url paths, "" is home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(app: str = "app.py", log_path: str | os.PathLike | None = None, timeout: float = 60.0,
                     env: dict[str, str] | None = None):
    """Yield the base URL of a running `streamlit run app.py` (with ``env`` added to its environment); stop it
    afterwards."""
    port = free_port()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
        env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() - t0 > timeout:
                raise RuntimeError(f"streamlit did not start (exit code {proc.poll()}); see {log_path}")
            time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log_path:
            log.close()


# Resolves once the page has shown elements and neither a running script nor a loading skeleton for five polls in a
# row, 80 ms apart (or false at the limit): polled inside the page, so a wait costs one round trip, not three a poll
SETTLED = """(limit) => new Promise((resolve) => {
  const t0 = performance.now();
  let quiet = 0;
  const poll = () => {
    const n = document.querySelectorAll('[data-testid="stElementContainer"]').length;
    const busy = document.querySelectorAll('[data-test-script-state="running"], [data-testid="stSkeleton"]').length;
    quiet = n && !busy ? quiet + 1 : 0;
    if (quiet >= 5) resolve(true);
    else if (performance.now() - t0 > limit) resolve(false);
    else setTimeout(poll, 80);
  };
  poll();
})"""


def settle(page, limit: float = 120.0) -> float:
    """Wait until the script has finished and nothing is loading; return the seconds it took. A page still busy
    after ``limit`` seconds raises TimeoutError: a test never goes on with a page that has not settled."""
    t0 = time.monotonic()
    while True:
        try:
            if page.evaluate(SETTLED, 1000 * (limit - (time.monotonic() - t0))):
                return time.monotonic() - t0
            break
        except Exception as err:  # the page navigated away mid-wait (a rerun that loads a page): wait on the new one
            if "Execution context was destroyed" not in str(err) or time.monotonic() - t0 > limit:
                raise
    raise TimeoutError(f"the page at {page.url} was still running (or empty) after {limit:.0f} s")


# A JavaScript function: the top-level field numbers of a protobuf message (an ArrayBuffer or a typed array), enough
# to tell Streamlit's ScriptFinished (ForwardMsg field 6) or a rerun request (BackMsg field 11) from other messages.
PROTO_FIELDS = """(data) => {
  const u = data instanceof ArrayBuffer ? new Uint8Array(data)
    : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(0);
  const fields = []; let i = 0;
  const varint = () => { let v = 0, shift = 0, b; do { b = u[i++]; v += (b & 0x7f) * 2 ** shift; shift += 7; }
                         while (b & 0x80 && i < u.length); return v; };
  while (i < u.length) {
    const tag = varint(), wire = tag % 8;
    fields.push(Math.floor(tag / 8));
    if (wire === 0) varint(); else if (wire === 2) { const n = varint(); i += n; } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4; else break;
  }
  return fields; }"""

_COUNT_RUNS = """() => {
  // window.__labRuns > 0 once a script run is asked for or seen: every rerun request the page sends (a BackMsg with
  // field 11, rerun_script), and every time the script state shows "running" (a run too quick to draw that state is
  // still counted by its request). A page whose script is already running (a training it follows) counts as one run:
  // the click stops it and starts the next without the state ever leaving "running".
  window.__labRuns = document.querySelector('[data-test-script-state="running"]') ? 1 : 0;
  const seen = () => { if (document.querySelector('[data-test-script-state="running"]')) window.__labRuns++; };
  if (!window.__labObserver) {
    window.__labObserver = new MutationObserver(seen);
    window.__labObserver.observe(document.body, {attributes: true, subtree: true, childList: true,
                                                 attributeFilter: ['data-test-script-state']});
  }
  if (!window.__labSend) {
    window.__labSend = WebSocket.prototype.send;
    const fields = """ + PROTO_FIELDS + """;
    WebSocket.prototype.send = function (data) {
      if (fields(data).includes(11)) window.__labRuns++;
      return window.__labSend.call(this, data); };
  }
}"""


def rerun(page, action, limit: float = 120.0) -> float:
    """Do ``action`` (a click, a key press) and wait until the script run it causes has started and finished: no
    fixed sleep, and no race with a run that has not begun yet. Returns the seconds it took."""
    t0 = time.monotonic()
    page.evaluate(_COUNT_RUNS)
    action()
    page.wait_for_function("() => window.__labRuns > 0", timeout=limit * 1000)
    settle(page, limit)
    return time.monotonic() - t0


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def full_height(page) -> int:
    """Height of the app's scrolling main area (Streamlit scrolls inside it, not the window)."""
    return int(
        page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.body.scrollHeight; }"
        )
    )
