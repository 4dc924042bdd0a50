"""Shareable links: each page's settings mirrored in the address bar, and kept across a trip through the sidebar.

``Link(page, fields)`` gives every widget its starting value (``link[name]``):

- the URL's value when the address has any of this page's settings (a shared link, or a reload), or on the
  browser's Back and Forward (then a setting missing from the address is its default, and the widgets follow), else
- the value this session last used on the page (Streamlit forgets a widget's state once another page has run), else
- the default.

A warning names the URL values that could not be used. ``link.publish()`` after the widgets writes the current
values back into the URL (only those that differ from the default, plus app-wide flags such as projector mode)
and keeps them for the session; every change it writes is one entry in the browser's history.
"""
from __future__ import annotations

import re

import streamlit as st

GLOBAL_FLAGS = ("projector", "teacher")  # app-wide switches that every page's URL carries along


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


def Float(lo: float, hi: float, default: float) -> Field:
    def parse(raw: str) -> float:
        value = float(raw)
        if not lo <= value <= hi:  # NaN fails too
            raise ValueError(f"outside {lo:g}..{hi:g}")
        return value

    return Field(default, parse, lambda v: f"{v:g}")


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


def Text(default: str, max_len: int) -> Field:
    """Free text, at most ``max_len`` characters: give the text box the same ``max_chars``, so every text the page
    accepts makes a link that opens again."""
    def parse(raw: str) -> str:
        if len(raw) > max_len:
            raise ValueError(f"longer than {max_len} characters")
        return raw

    field = Field(default, parse)
    field.max_len = max_len
    return field


def history_navigation() -> bool:
    """True when this run comes from the browser's Back or Forward button (Streamlit marks such reruns)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "is_history_navigation", False))


def parse_flag(raw: str | None) -> bool:
    return raw is not None and raw.lower() in ("1", "true", "yes", "on")


def starting_values(fields: dict[str, Field], kept: dict, reread: bool, forgotten=()) -> tuple[dict, list[str]]:
    """Each setting's starting value, as ``Link`` gives it: the URL's, when the address has any of the page's
    settings or is ``reread`` (Back, Forward, a lesson's step: then a missing one is its default), else what the
    session ``kept``, else the default; ``forgotten`` ones ignore the URL. Also the URL values that could not be used,
    as "name='value'". Reads the URL only."""
    values, bad = {}, []
    from_url = reread or any(name in st.query_params for name in fields)
    for name, f in fields.items():
        raw = st.query_params.get(name) if from_url and name not in forgotten else None
        try:
            values[name] = f.parse(raw) if raw is not None else f.default if reread else kept.get(name, f.default)
        except (ValueError, TypeError):
            values[name] = f.default
            bad.append(f"{name}={raw[:40]!r}")
    return values, bad


def address(fields: dict[str, Field], values: dict) -> dict[str, str]:
    """The URL query for a page's settings: those that differ from their defaults, then the app-wide flags that are
    on, then where an open lesson stands (lab.ui.lesson_panel). A link publishes it; a lesson's step opens it."""
    query = {name: fields[name].dump(v) for name, v in values.items() if v != fields[name].default}
    query |= {flag: "1" for flag in GLOBAL_FLAGS if st.session_state.get(flag)}
    return query | st.session_state.get("_lesson", {})


class Link:
    def __init__(self, page: str, fields: dict[str, Field]):
        self.page, self.fields = page, fields
        self._keep, self._forget = f"_link_{page}", f"_forget_{page}"
        kept = st.session_state.get(self._keep, {})
        forgotten = st.session_state.pop(self._forget, set())  # ``forget``: this run starts them at their defaults
        # teacher mode: ?only=lr,seed leaves students just those controls (the others show the link's values, locked);
        # ?only=presets leaves just the presets, ?only=none nothing but Train. Kept in the URL and for the session.
        only = st.query_params.get("only", st.session_state.get(f"_only_{page}"))
        self.only = {o.strip() for o in only.split(",") if o.strip() not in ("", "none")} if only else None
        st.session_state[f"_only_{page}"] = only
        # Back or Forward in the browser: the address it returns to is the setting to show, a missing value meaning
        # the default; every settings change the page published is one history entry, so Back steps through them. A
        # lesson's step opening this page (``_reload_<page>``) is read the same way: its settings, the rest at defaults
        history = history_navigation() or st.session_state.pop(f"_reload_{page}", False)
        self.values, bad = starting_values(fields, kept, history, forgotten)
        for name, value in self.values.items():
            if history and name in st.session_state:  # the widget shows the address's value, not its last state
                st.session_state[name] = value
        if bad:
            st.warning("This link has settings that cannot be used, so their defaults are shown instead: "
                       + ", ".join(bad) + ".", icon=":material/link_off:")

    def __getitem__(self, name: str):
        return self.values[name]

    def locked(self, name: str) -> bool:
        """True when a teacher's link fixes this setting (``only`` names the ones students may change)."""
        return self.only is not None and name not in self.only

    def teacher_note(self, labels: dict[str, str]) -> str | None:
        """What a teacher's link leaves students to change, in the controls' own words (None without ``only``).
        ``labels``: every name ``only`` may hold -> that control's label; other names are reported, not hidden."""
        if self.only is None:
            return None
        free = [f"**{labels[o]}**" for o in labels if o in self.only]
        text = (f"Your teacher's link leaves you {'this control' if len(free) == 1 else 'these controls'} to change: "
                + (", ".join(free[:-1]) + " and " if len(free) > 1 else "") + free[-1]
                + ". The greyed-out settings are fixed.") if free else (
            "Your teacher's link fixes every setting (greyed out): press **Train** to run them.")
        unknown = sorted(self.only - labels.keys())
        if unknown:
            text += f" Ignored, as this page has no such setting: {', '.join(unknown)}."
        return text

    def index(self, name: str, options) -> int:
        """Position of the starting value in ``options`` (for radio and selectbox)."""
        return list(options).index(self.values[name])

    def current(self, **overrides) -> dict:
        """Every setting as the page now shows it: widget values (by key), else ``overrides``, else the start."""
        return {name: overrides[name] if name in overrides else st.session_state.get(name, self.values[name])
                for name in self.fields}

    def forget(self, *names: str) -> None:
        """Start these settings at their defaults on the next run, whatever the URL and the session kept (for a
        callback, such as a switch that makes them mean something else). The URL is left as it is until that run
        publishes, so Back still returns to the settings before."""
        kept = st.session_state.get(self._keep, {})
        for name in names:
            kept.pop(name, None)
        st.session_state[self._forget] = set(names)

    def publish(self, **overrides) -> None:
        """Write the current settings into the URL and keep them for this session. ``overrides`` are settings that
        are not a widget of the same name (for example a value derived from other widgets)."""
        values = self.current(**overrides)
        st.session_state[self._keep] = values
        query = address(self.fields, values)
        if self.only is not None:
            query["only"] = ",".join(sorted(self.only)) or "none"
        if dict(st.query_params) != query:
            st.query_params.from_dict(query)


def preset(label: str, values: dict, *, help: str | None = None, key: str | None = None,
           disabled: bool = False) -> None:
    """A button that puts a set of widget values in place (before the widgets are drawn on the rerun)."""
    def apply():
        for k, v in values.items():
            st.session_state[k] = v

    st.button(label, on_click=apply, help=help, key=key or "preset_" + re.sub(r"\W+", "_", label),
              icon=":material/tune:", disabled=disabled)
