"""Small Streamlit helpers shared by the pages (the package stays free of streamlit)."""
from __future__ import annotations

import inspect
import threading

import streamlit as st


def show_code(*objects, caption: str = "The package code this page ran, exactly as it is in the repository:") -> None:
    """A "Show the code" expander with the source of each function or class."""
    with st.expander("Show the code"):
        st.caption(caption)
        for obj in objects:
            st.code(inspect.getsource(obj), language="python")


def set_torch_threads() -> None:
    """One torch thread per computation (LAB_TORCH_THREADS to change it): this app's matrices are small, a second
    thread gains little, and with several sessions at once OpenMP threads spinning for a busy core cost far more.
    Training jobs run side by side instead, one per core (jobs.py)."""
    import os

    import torch

    wanted = int(os.environ.get("LAB_TORCH_THREADS", 1))
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def chart(c, *, stretch: bool = False, into=None) -> None:
    """Draw an Altair chart (or its spec dict) in the page, or ``into`` a placeholder.

    The chart builders are validated against the Vega-Lite schema in the unit tests, so here the spec is handed
    over without re-validating it (that check costs ~15 ms a chart on every rerun). Sizes mean the plot's own
    size: "pad" (or "fit-x" across the page when ``stretch``), so a title or legend never squeezes the plot.
    """
    spec = dict(c) if isinstance(c, dict) else c.to_dict(validate=False)
    single = not any(k in spec for k in ("facet", "hconcat", "vconcat", "concat", "repeat"))
    spec["autosize"] = {"type": "fit-x", "contains": "padding"} if stretch and single else {"type": "pad"}
    (into or st).vega_lite_chart(spec, width="stretch" if stretch else "content")


def table(df, **kwargs) -> None:
    """A data table as wide as the page and tall enough to show every row without scrolling."""
    st.dataframe(df, hide_index=True, width="stretch", height=35 * (len(df) + 1) + 3, **kwargs)


_MD_SPECIAL = "\\`*_{}[]()<>#+-.!|~$:"


def md_escape(text: str) -> str:
    """User text made inert for st.markdown: every markdown (and HTML) character backslash-escaped."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))


# ------------------------------------------------------------------ shareable links
class Field:
    """One setting mirrored in the page's URL: its default and how to read it back from text."""

    def __init__(self, default, parse, dump=str):
        self.default, self._parse, self.dump = default, parse, dump

    def parse(self, raw: str):
        return self._parse(raw)


def Int(lo: int, hi: int, default: int) -> Field:
    def parse(raw: str) -> int:
        value = int(raw)
        if not lo <= value <= hi:
            raise ValueError(f"outside {lo}..{hi}")
        return value

    return Field(default, parse)


def Choice(options, default) -> Field:
    by_text = {str(o): o for o in options}

    def parse(raw: str):
        if raw not in by_text:
            raise ValueError("not one of the choices")
        return by_text[raw]

    return Field(default, parse)


def Bool(default: bool) -> Field:
    def parse(raw: str) -> bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("not true or false")

    return Field(default, parse, lambda v: "1" if v else "0")


def Text(default: str, max_len: int = 300) -> Field:
    def parse(raw: str) -> str:
        if len(raw) > max_len:
            raise ValueError(f"longer than {max_len} characters")
        return raw

    return Field(default, parse)


class Link:
    """A page's settings and its URL's query string, kept in step so a teacher can share an exact setting.

    ``Link(fields)`` reads the URL once per run: each widget gets ``link[name]`` as its starting value (the link's
    value where it is valid, else the default) and a warning names the values that could not be used.
    ``link.publish()`` after the widgets writes their current values back (only those that differ from the default).
    """

    def __init__(self, fields: dict[str, Field]):
        self.fields, self.values, bad = fields, {}, []
        for name, f in fields.items():
            raw = st.query_params.get(name)
            try:
                self.values[name] = f.default if raw is None else f.parse(raw)
            except (ValueError, TypeError):
                self.values[name] = f.default
                bad.append(f"{name}={raw[:40]!r}")
        if bad:
            st.warning("This link has settings that cannot be used, so their defaults are shown instead: "
                       + ", ".join(bad) + ".", icon=":material/link_off:")

    def __getitem__(self, name: str):
        return self.values[name]

    def index(self, name: str, options) -> int:
        """Position of the starting value in ``options`` (for radio and selectbox)."""
        return list(options).index(self.values[name])

    def publish(self) -> None:
        current = {}
        for name, f in self.fields.items():
            value = st.session_state.get(name, self.values[name])
            if value != f.default:
                current[name] = f.dump(value)
        if dict(st.query_params) != current:
            st.query_params.from_dict(current)


def preset(label: str, values: dict, *, help: str | None = None, key: str | None = None) -> None:
    """A button that puts a set of widget values in place (before the widgets are drawn on the rerun)."""
    def apply():
        for k, v in values.items():
            st.session_state[k] = v

    st.button(label, on_click=apply, help=help, key=key or f"preset_{label}", icon=":material/tune:")


# ------------------------------------------------------------------ test yourself
def self_check(name: str, make_question) -> None:
    """A "Test yourself" box: a seeded random question, typed answers marked one by one, a running score."""
    import quiz

    seed_key, score_key = f"{name}_quiz_seed", f"{name}_quiz_score"
    st.session_state.setdefault(seed_key, 0)
    st.session_state.setdefault(score_key, [0, 0])  # right, asked

    def new_question():
        st.session_state[seed_key] += 1

    seed = st.session_state[seed_key]
    question = make_question(seed)
    with st.container(border=True):
        head, button = st.columns([4, 1])
        head.markdown(f"**Question {seed + 1}.** {question.setting}")
        button.button("New question", on_click=new_question, key=f"{name}_new", icon=":material/refresh:")
        with st.form(f"{name}_quiz_form"):
            cols = st.columns(len(question.items))
            answers = [c.text_input(f"shape of {item.name}", key=f"{name}_q{seed}_{i}", placeholder="e.g. 768, 6")
                       for i, (c, item) in enumerate(zip(cols, question.items))]
            checked = st.form_submit_button("Check my answers")
        if checked:
            right = 0
            for item, answer in zip(question.items, answers):
                why = quiz.explain(item, quiz.parse_shape(answer), question.sizes)
                if why is None:
                    right += 1
                    st.success(f"{item.name}: {quiz.fmt(item.shape)} is right.", icon=":material/check:")
                else:
                    st.error(f"{item.name}: {why}", icon=":material/close:")
            st.session_state[score_key][0] += right
            st.session_state[score_key][1] += len(question.items)
        got, asked = st.session_state[score_key]
        if asked:
            st.caption(f"Your score this session: {got} of {asked} shapes right.")


def exports(chart, name: str, *, csv: bytes | None = None, svg: bool = True) -> None:
    """Download buttons for a chart: PNG (and SVG), made only when pressed; CSV of its data if given."""
    import charts

    cols = st.columns([1, 1, 1, 5])  # the buttons side by side, at the left
    cols[0].download_button("PNG", lambda: charts.to_png(chart), file_name=f"{name}.png", mime="image/png",
                            icon=":material/image:", key=f"{name}_png", on_click="ignore")
    if svg:
        cols[1].download_button("SVG", lambda: charts.to_svg(chart), file_name=f"{name}.svg", mime="image/svg+xml",
                                icon=":material/draw:", key=f"{name}_svg", on_click="ignore")
    if csv is not None:
        cols[2 if svg else 1].download_button("CSV", csv, file_name=f"{name}.csv", mime="text/csv", icon=":material/table:",
                                key=f"{name}_csv", on_click="ignore")


_warm_up_lock = threading.Lock()
_warm_up_thread: threading.Thread | None = None


def warm_up() -> threading.Thread | None:
    """Once per server process, after the landing page is drawn: import torch and the package and run one
    meta-device operation in a background thread, so the first teaching page opens without that wait (about
    2 s on a 2-core laptop). The landing page itself never waits for it. LAB_WARM_UP=0 turns it off."""
    global _warm_up_thread
    import os

    if os.environ.get("LAB_WARM_UP", "1") == "0":
        return None
    with _warm_up_lock:
        if _warm_up_thread is None:
            def work():
                import transformer.train  # noqa: F401  (torch, the model and the data loader)
                from transformer.shapes import self_attention_shapes

                self_attention_shapes(2, 2)  # the first meta-device operation loads PyTorch's shape rules

            _warm_up_thread = threading.Thread(target=work, name="warm-up", daemon=True)
            _warm_up_thread.start()
    return _warm_up_thread
