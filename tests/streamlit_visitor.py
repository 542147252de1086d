"""A visitor speaking Streamlit's WebSocket protocol: a real session on a running server.

It asks the server to run a page (as a browser opening a URL does) or to rerun it with one widget
changed (as a browser does when a filter changes), and reads what comes back until the script has
finished. Used by tests/test_concurrent_load.py (visitors during loads) and by
bench/bench_concurrency.py (many visitors at once); no browser and no JavaScript involved.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

FINISHED_SUCCESSFULLY = 0  # ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
ERROR_ALERT = 1  # Alert.Format.ERROR
REPLY_TIMEOUT_S = 180
MAX_CACHED_MESSAGE_AGE = 2  # Streamlit's global.maxCachedMessageAge: script runs a message is kept


@dataclass(frozen=True)
class Selectbox:
    """A selectbox the page drew: its widget id and its options as the visitor sees them."""

    id: str
    label: str
    options: tuple[str, ...]
    value: str | None = None  # the option the server set (a first run from the URL or the state)


@dataclass
class PageRun:
    page: str
    metrics: dict[str, str] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    status: int | None = None  # ScriptFinishedStatus: 0 = finished successfully
    seconds: float = 0.0  # request sent → script_finished received
    bytes_received: int = 0
    selectboxes: dict[str, Selectbox] = field(default_factory=dict)  # by widget id

    def number(self, label: str) -> int | None:
        """The metric `label` as an integer (digits only), None when the page did not show it."""
        value = self.metrics.get(label)
        return int(re.sub(r"\D", "", value)) if value else None

    @property
    def ok(self) -> bool:
        return self.status == FINISHED_SUCCESSFULLY and not self.exceptions and not self.errors


class Visitor:
    """One browser session: it asks the server to run a page and reads what comes back.

    `url` is the session WebSocket (ws://host:port/_stcore/stream); through a TLS proxy pass a
    wss:// URL with `ssl_context`, `connect_to` (the address to dial: the proxy's loopback port)
    and `headers` (e.g. the proxy's routing cookie). With `cache_messages`, it keeps the large
    elements it received as a browser does and tells the server at each rerun, so an element that
    has not changed comes back as a short reference (its content is then not read again).
    """

    def __init__(
        self,
        url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connect_to: tuple[str, int] | None = None,
        headers: dict[str, str] | None = None,
        cache_messages: bool = False,
    ) -> None:
        options: dict[str, object] = {}
        if ssl_context is not None:
            options["ssl"] = ssl_context
        if connect_to is not None:
            options["sock"] = socket.create_connection(connect_to, timeout=30)
        # No keep-alive pings: a browser's WebSocket sends none (and a loaded 2-core machine may
        # answer one late), so only real failures end a session.
        self.connection = connect(
            url,
            subprotocols=["streamlit"],
            max_size=64 * 1024 * 1024,
            ping_interval=None,
            additional_headers=headers,
            open_timeout=60,
            **options,
        )
        self.page_script_hash = ""
        self.query_string = ""
        self.cache_messages = cache_messages
        self._cached: dict[str, int] = {}  # message hash → the run that last received it
        self._runs = 0

    def __enter__(self) -> Visitor:
        self.socket = self.connection.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.connection.__exit__(*exc_info)

    def run(self, page: str, query: str = "") -> PageRun:
        """Open `page` (its URL path; "" for the home page) with `query` as its query string."""
        request = BackMsg()
        request.rerun_script.page_name = page
        request.rerun_script.query_string = query
        self.query_string = query
        return self._send(request, page)

    def change(self, selectbox: Selectbox, option: str, page: str = "") -> PageRun:
        """Rerun the current page with `selectbox` set to `option`, as a browser does when a
        visitor picks it (the other widgets keep the values the session holds)."""
        request = BackMsg()
        request.rerun_script.page_script_hash = self.page_script_hash
        request.rerun_script.query_string = self.query_string
        state = request.rerun_script.widget_states.widgets.add()
        state.id = selectbox.id
        state.string_value = option
        return self._send(request, page)

    def _send(self, request: BackMsg, page: str) -> PageRun:
        if self.cache_messages:
            request.rerun_script.cached_message_hashes.extend(self._cached)
        result = PageRun(page)
        started = time.perf_counter()
        self.socket.send(request.SerializeToString())
        while True:
            raw = self.socket.recv(timeout=REPLY_TIMEOUT_S)
            result.bytes_received += len(raw)
            message = ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            if self.cache_messages and (message.metadata.cacheable or kind == "ref_hash"):
                self._cached[message.hash or message.ref_hash] = self._runs
            if kind == "navigation":  # the page this run drew (st.navigation's choice)
                self.page_script_hash = message.navigation.page_script_hash
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                self._read(message.delta.new_element, result)
            elif kind == "script_finished":
                result.status = message.script_finished
                result.seconds = time.perf_counter() - started
                self._expire_cache()
                return result

    def _expire_cache(self) -> None:
        """As the browser does: forget messages not received in the last few script runs."""
        self._runs += 1
        self._cached = {
            key: run
            for key, run in self._cached.items()
            if self._runs - run <= MAX_CACHED_MESSAGE_AGE
        }

    @staticmethod
    def _read(element, result: PageRun) -> None:
        kind = element.WhichOneof("type")
        if kind == "metric":
            result.metrics[element.metric.label] = element.metric.body
        elif kind == "exception":
            result.exceptions.append(element.exception.message)
        elif kind == "alert" and element.alert.format == ERROR_ALERT:
            result.errors.append(element.alert.body)
        elif kind == "selectbox":
            box = element.selectbox
            value = box.raw_value if box.set_value else None
            result.selectboxes[box.id] = Selectbox(box.id, box.label, tuple(box.options), value)
