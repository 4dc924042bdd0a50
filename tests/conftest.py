"""Shared fixtures: a clean RNG for every test, and for the app tests a fresh page through app.py with empty
caches, so that every test really runs the code it names (the live-training branch included)."""
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
APP_FILES = {"test_pages.py", "test_classroom.py"}


def pytest_collection_modifyitems(items):
    """Markers by file, so `-m unit`, `-m app` and `-m browser` pick a quick subset."""
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.browser if name == "test_browser.py" else
                        pytest.mark.app if name in APP_FILES else pytest.mark.unit)


@pytest.fixture(autouse=True)
def _same_start():
    """Every test starts from the same global RNG state."""
    torch.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _empty_caches(request):
    """App tests start with nothing cached: no chart spec, no finished training, no kept job."""
    if request.node.path.name in APP_FILES:
        import streamlit as st

        from lab.jobs import REGISTRY

        st.cache_data.clear()
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
