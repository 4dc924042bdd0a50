"""A headless Streamlit session: speaks the app's own websocket protocol (``/_stcore/stream``), with no browser.

It does what the browser does on the wire: it sends ``BackMsg.rerun_script`` with the page, the link's query
string and the widget states (a button press is a trigger value), and reads the server's ``ForwardMsg`` stream.
Nothing is rendered, so many sessions cost the machine only what they cost the server. The class-load benchmark
(``python -m benchmarks class30``) uses it; ``test_a_session_without_a_browser`` (tests/browser/) checks it against a
real server.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState


@dataclass
class Session:
    """One session of the app at ``url`` (``http://host:port``). ``elements`` maps each delta path to the
    latest element there; ``seen`` records when a text first arrived (``watch_for``)."""

    url: str
    watch_for: tuple[bytes, ...] = ()
    elements: dict[tuple[int, ...], object] = field(default_factory=dict)
    seen: dict[bytes, float] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    page_hash: str = ""
    query_string: str = ""
    runs_finished: int = 0
    closed: bool = False

    async def __aenter__(self) -> Session:
        stream = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self._ws = await websockets.connect(stream, subprotocols=["streamlit"], max_size=None)
        self._finished = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        self._reader.cancel()
        await self._ws.close()

    async def _read(self) -> None:
        try:
            await self._receive()
        finally:  # the server closed the connection (or it failed): no run ends any more, so waiting stops
            async with self._finished:
                self.closed = True
                self._finished.notify_all()

    async def _receive(self) -> None:
        async for frame in self._ws:
            now = time.perf_counter()
            for text in self.watch_for:
                if text not in self.seen and text in frame:
                    self.seen[text] = now
            msg = ForwardMsg()
            msg.ParseFromString(frame)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.elements.clear()  # a new script run draws the page again
            elif kind == "navigation":
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query_string = msg.page_info_changed.query_string
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                self.elements[tuple(msg.metadata.delta_path)] = element
                if element.WhichOneof("type") == "exception":
                    self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
            elif kind == "script_finished":
                async with self._finished:
                    self.runs_finished += 1
                    self._finished.notify_all()

    async def run(self, page: str = "", query_string: str | None = None, widgets: tuple[WidgetState, ...] = (),
                  timeout: float = 600) -> None:
        """Rerun the script (on ``page``, a url path, the first time) and wait until the run has finished."""
        client = ClientState()
        if query_string is not None:
            self.query_string = query_string  # what the address bar holds, until the page changes it
        client.query_string = self.query_string
        if self.page_hash:
            client.page_script_hash = self.page_hash
        else:
            client.page_name = page
        client.widget_states.widgets.extend(widgets)
        async with self._finished:
            before = self.runs_finished
            message = BackMsg(rerun_script=client)
            await self._ws.send(message.SerializeToString())
            await asyncio.wait_for(self._finished.wait_for(lambda: self.runs_finished > before or self.closed),
                                   timeout)
            if self.runs_finished == before:
                raise ConnectionError(f"the server closed the session before its run ended ({self.url})")

    def button(self, label: str) -> str:
        """The widget id of the (form submit) button labelled ``label`` on the page as last drawn."""
        for element in self.elements.values():
            if element.WhichOneof("type") == "button" and element.button.label == label:
                return element.button.id
        raise LookupError(f"no button labelled {label!r}; buttons: "
                          f"{[e.button.label for e in self.elements.values() if e.WhichOneof('type') == 'button']}")

    async def press(self, label: str, timeout: float = 600) -> None:
        """Press the button labelled ``label`` and wait until the run it starts has finished."""
        await self.run(widgets=(WidgetState(id=self.button(label), trigger_value=True),), timeout=timeout)

    def texts(self) -> list[str]:
        """Markdown, captions and progress texts on the page as last drawn."""
        out = []
        for element in self.elements.values():
            kind = element.WhichOneof("type")
            if kind == "markdown":
                out.append(element.markdown.body)
            elif kind == "progress":
                out.append(element.progress.text)
            elif kind in ("alert", "heading"):
                out.append(getattr(element, kind).body)
        return out
