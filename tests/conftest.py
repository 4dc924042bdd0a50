"""Shared fixtures: a clean RNG for every test, and for the app tests a fresh page through app.py with empty
caches, so that every test really runs the code it names (the live-training branch included)."""
import inspect
import re
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
APP_CALLS = re.compile(r"\b(open_page|page_with|small_training|small_sequence_run)\(|\bAppTest\b")


def needs(item) -> str:
    """What a test needs, read from the test itself: a browser (it takes the ``app`` fixture), the app through
    AppTest (it opens a page), or nothing but the packages."""
    if "app" in item.fixturenames:
        return "browser"
    function = getattr(item, "function", None)
    return "app" if function is not None and APP_CALLS.search(inspect.getsource(function)) else "unit"


def pytest_collection_modifyitems(items):
    """Markers by what each test needs, so `-m unit`, `-m app` and `-m browser` pick a quick subset."""
    for item in items:
        item.add_marker(getattr(pytest.mark, needs(item)))


@pytest.fixture(autouse=True)
def _same_start(monkeypatch):
    """Every test starts from the same global RNG state, and with an estimator that has learned nothing yet."""
    from lab.server import estimate

    torch.manual_seed(0)
    monkeypatch.setattr(estimate, "_factors", {})
    yield


@pytest.fixture(autouse=True)
def _empty_caches(request):
    """App tests start with nothing cached: no chart spec, no finished training, no kept job."""
    if request.node.get_closest_marker("app"):
        import streamlit as st

        from lab.server.jobs import REGISTRY
        from lab.ui import draw

        st.cache_data.clear()
        draw.figure.clear()
        st.cache_resource.clear()
        REGISTRY.clear()
    yield


def run(at: AppTest) -> AppTest:
    """Rerun the page and fail on any exception it shows."""
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(name: str | None = None, params: dict | None = None) -> AppTest:
    """A new session on the real entry point (app.py and its navigation), on page ``views/<name>.py``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    if name:
        at.switch_page(f"views/{name}.py")
        for k, v in (params or {}).items():
            at.query_params[k] = v
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_title(chart) -> str | list[str]:
    """A drawn chart's title in an AppTest run, read from its data where it travels there (``charts.title_text``)."""
    import json

    from lab import charts
    from lab.ui import draw

    sent = {"datasets": {d.name: d.data.data for d in chart.proto.datasets}}  # Arrow bytes, as ui.figure sends them
    return charts.title_text(json.loads(chart.proto.spec), draw._json_datasets(sent)["datasets"])
