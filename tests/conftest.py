"""Shared fixtures and helpers. A test's kind is its folder: ``unit/`` (the packages on their own), ``app/`` (every
page through app.py with AppTest) and ``browser/`` (``streamlit run app.py`` in headless Chromium); the folder gives
the marker, so ``-m unit``, ``-m app`` and ``-m browser`` pick a quick subset. Every test starts with a clean RNG, and
an app test with a fresh page and empty caches, so that it really runs the code it names (live training included)."""
import dataclasses
import os
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

# no result store unless a test asks for one (tests/unit/test_store.py): a test about training must train, and the
# servers the browser tests start inherit this
os.environ.setdefault("LAB_STORE", "off")
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
KINDS = ("unit", "app", "browser")
# one torch thread per test process, as the app runs (lab.server.runtime): the suite runs one process per core
# (pytest-xdist), and OpenMP threads spinning for a core another process holds only burn time
torch.set_num_threads(1)


def pytest_collection_modifyitems(items):
    """The marker of each test is its folder's name; a test outside the three folders is an error."""
    for item in items:
        kind = item.path.parent.name
        if kind not in KINDS:
            raise pytest.UsageError(f"{item.nodeid}: put tests in tests/unit/, tests/app/ or tests/browser/")
        item.add_marker(getattr(pytest.mark, kind))


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


def settle(at: AppTest) -> AppTest:
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


@pytest.fixture(scope="session")
def language_store(tmp_path_factory) -> Path:
    """A result-store folder shared by every worker of this test run (lab.server.store): the language model is
    trained once for the whole run, by the first worker to ask; the others wait on its lease and read it."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "language_store"


@pytest.fixture(scope="session")
def language_job(language_store):
    """The language model at its defaults (pages 2, 3 and 6's learned heads), trained once per test run (the shared
    store serves it to the other workers): the tests about what it learned read it, and app tests that only need it
    served adopt it."""
    from lab.server.archive import Archive
    from lab.server.jobs import JobRegistry
    from lab.server.store import SQLiteStore
    from transformer.language import LanguageConfig

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    job = JobRegistry(archive=Archive(SQLiteStore(language_store), owner=worker)).start(LanguageConfig())
    job.join()
    assert job.state == "done", job.error
    return job


@pytest.fixture
def language_served(language_job):
    """The trained language model served by the app's registry, as on a server that trained it before (for app
    tests about what learned mode shows, not about its training)."""
    from lab.server.jobs import REGISTRY

    REGISTRY.adopt(language_job)


def without_clocks(records: list) -> list:
    """Training records with their clocks zeroed: what a seeded training must reproduce exactly."""
    return [dataclasses.replace(r, seconds=0.0, cpu_seconds=0.0) for r in records]


def study_results(cnn_small: float, cnn_full: float):
    """Page 5's study results as its trainings report them: both models on 5% and 100% of the images, 3 seeds
    each, the transformer at 70% and 96% (give or take a point), the CNN at ``cnn_small`` and ``cnn_full``."""
    import pandas as pd

    rows = []
    for share, vit in ((0.05, 0.70), (1.0, 0.96)):
        for seed, wobble in enumerate((-0.01, 0.0, 0.01)):
            cnn = cnn_small if share == 0.05 else cnn_full
            rows += [{"model": "transformer", "share": share, "seed": seed, "val_acc": vit + wobble, "cpu_seconds": 1},
                     {"model": "CNN", "share": share, "seed": seed, "val_acc": cnn + wobble, "cpu_seconds": 2}]
    return pd.DataFrame(rows)
