"""The layout's rules, read from the code itself (docs/architecture.md draws them): which layer may import which,
lazy imports inside functions included; no import circle anywhere; no module over 600 lines; no module name in two
layers."""
import ast
from pathlib import Path

from conftest import ROOT

# what each layer may import from the project (a name covers its sub-modules); lab.pages is open to all of lab
ALLOWED = {
    "transformer": {"transformer"},
    "lab.pages": set(),
    "lab.charts": {"lab.charts"},
    "lab.server": {"lab.server", "transformer"},
    "lab.analyses": {"lab.analyses", "lab.server", "lab.pages", "transformer"},
    "lab.ui": {"lab", "transformer"},
    "lab": {"lab"},  # the package's own __init__ (a docstring)
    "views": {"lab", "transformer"},
    "app": {"lab", "transformer"},
    "benchmarks": {"benchmarks", "lab", "transformer", "scripts"},
    "scripts": {"scripts", "lab"},
}
LONGEST = 600  # lines, for a module of lab/, transformer/ or benchmarks/
FOLDERS = ("lab", "transformer", "benchmarks", "views", "scripts")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    files = [ROOT / "app.py", *(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))]
    return {module_name(p): p for p in files}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports anywhere in it (at the top or inside a function)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y, from . import y
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:  # `from lab import charts` imports the module lab.charts
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def layer(name: str) -> str:
    return max((key for key in ALLOWED if name == key or name.startswith(key + ".")), key=len)


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports(name, path, set(modules)) for name, path in modules.items()}


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for name, targets in graph().items():
        allowed = ALLOWED[layer(name)]
        wrong += [f"{name} imports {t}" for t in sorted(targets)
                  if not any(t == a or t.startswith(a + ".") for a in allowed)]
    assert not wrong, "\n".join(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_anywhere_lazy_imports_included():
    assert cycles(graph()) == []


def test_the_checks_see_relative_imports_and_circles():
    known = {"transformer.decoder", "transformer.induction", "transformer._seed"}
    assert imports("transformer.sequence", ROOT / "transformer" / "sequence.py", known) == {
        "transformer.decoder", "transformer._seed"}  # `from .decoder import ...`, resolved
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_over_600_lines_and_pages_stay_thin():
    for name, path in project_modules().items():
        lines = len(path.read_text().splitlines())
        if name.startswith(("lab", "transformer", "benchmarks")):
            assert lines <= LONGEST, f"{path.relative_to(ROOT)} has {lines} lines: split it by what it does"
        elif name.startswith("views."):
            assert lines <= 150, f"{path.relative_to(ROOT)} has {lines} lines: move logic into lab/"


def test_no_module_name_in_two_layers():
    """A module's own name says which it is, without an `import ... as` to tell two apart. Pages (views/) are left
    out: a page's file name is its address (/shapes), which shared links carry."""
    seen: dict[str, str] = {}
    for name in project_modules():
        if name.startswith("views.") or name == "app" or name.endswith("__main__"):
            continue
        stem = name.rpartition(".")[2]
        assert stem not in seen or seen[stem] == name, f"{name} and {seen[stem]} share the name {stem!r}"
        seen[stem] = name


def libraries(path: Path) -> set[str]:
    """The top-level packages ``path`` imports anywhere in it."""
    tree = ast.parse(path.read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


def test_only_the_ui_layer_imports_streamlit_and_charts_need_no_torch():
    for name, path in project_modules().items():
        if name.startswith(("lab", "transformer")) and not name.startswith("lab.ui"):
            assert "streamlit" not in libraries(path), f"{name} imports streamlit: move it to lab/ui/"
        if name.startswith("lab.charts"):
            assert "torch" not in libraries(path), f"{name} imports torch: hand charts plain numbers"
