"""Repository rules that keep the README honest."""
import re

from conftest import ROOT


def readme_command(section: str) -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split(f"## {section}", 1)[1]
    return re.search(r"```bash\n(.+?)\n```", block, re.S).group(1).strip()


def test_ci_runs_the_readme_test_command():
    command = readme_command("Test it")
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text()


def test_readme_run_command_starts_the_app():
    assert readme_command("Run it").endswith("streamlit run app.py")


def test_every_requirement_is_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.+]*", line), f"{name}: {line!r} is not pinned"
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text()
    runtime = (ROOT / "requirements.txt").read_text()
    assert "pytest" not in runtime and "playwright" not in runtime  # development tools stay out of Cloud's install


def test_the_package_never_imports_streamlit_or_prints():
    for path in (ROOT / "transformer").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import streamlit|from streamlit)", text, re.M), path
        assert not re.search(r"^\s*print\(", text, re.M), path


def test_nothing_loose_at_the_root():
    assert sorted(p.name for p in ROOT.glob("*.py")) == ["app.py"]


def test_the_readme_layout_names_every_module():
    layout = (ROOT / "README.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    for path in [*(ROOT / "lab").rglob("*.py"), *(ROOT / "transformer").glob("*.py")]:
        if not path.name.startswith("_"):
            assert path.name in layout, f"README's layout section does not mention {path.parent.name}/{path.name}"


def test_one_page_list():
    from lab.pages import PAGES

    assert [p.path for p in PAGES] == [f"views/{p.url_path or 'home'}.py" for p in PAGES]
    assert sorted(p.path for p in PAGES) == sorted(f"views/{f.name}" for f in (ROOT / "views").glob("*.py"))
    for user in ("app.py", "views/home.py", "scripts/browser.py"):
        assert "lab.pages import PAGES" in (ROOT / user).read_text(), user


def test_a_partial_benchmark_run_says_which_rows_it_replaced():
    from benchmarks.report import rerun_note

    first = rerun_note("no note yet", ["training"])
    assert first.startswith("Rows rerun after the last full run: training on ")
    second = rerun_note(f"header. {first}\n| rows |", ["class30", "training"])
    assert second.count("training on") == 1 and "class30 on" in second  # earlier reruns are kept, once each
    assert "latency on 2026-01-02" in rerun_note("Sections rerun on 2026-01-02: latency; the other rows", ["cold"])


def docstring_modules(package: str) -> set[str]:
    import importlib

    doc = importlib.import_module(package).__doc__
    return set(re.findall(r"^- ``(\w+)``", doc, re.M))


def test_the_package_docstrings_list_every_module():
    for package in ("lab", "lab.ui", "lab.server", "lab.analyses", "lab.charts", "transformer"):
        folder = ROOT.joinpath(*package.split("."))
        files = {p.stem for p in folder.glob("*.py") if not p.name.startswith("_")}
        files |= {p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
        assert docstring_modules(package) == files, package


def test_the_readme_states_the_kept_jobs_and_shows_every_page():
    from lab.server.jobs import JobRegistry

    readme = (ROOT / "README.md").read_text()
    keep = JobRegistry().keep
    assert f"{keep} finished ones kept" in readme and "12 finished" not in readme
    gallery = readme.split("## The pages", 1)[1].split("\n## ", 1)[0]
    for page in (ROOT / "views").glob("*.py"):
        assert f"docs/screenshots/{page.stem}.png" in gallery, f"README's gallery has no picture of {page.name}"
