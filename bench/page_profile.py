"""Where a page opened by its URL spends its time: one Chromium visit taken apart (#19 item 2).

    python -m bench.page_profile --base bench/out/db/demo-…/x30.duckdb [--pages vue-d-ensemble,…]
        [--visits 3] [--cache both|warm|empty] [--json out.json] [--dev]

Starts `streamlit run` on the database (production flags, as bench_browser does) and Chromium,
in the production configuration (deploy/streamlit/config.toml, as bench_browser), opens every page
once by URL (the server's caches see it), then opens each page again, `--visits` times, by URL in
the same tab (a new Streamlit session: a returning visitor, HTTP cache warm, as bench_browser's
« warm ») and, with `--cache empty|both`, in a new browser context (a first-time visitor: empty
cache), then once more traced. Each visit
records, through the Chrome DevTools Protocol:
- the network: every request's start and end relative to navigation, bytes on the wire against
  bytes of content (compression), whether it came from the cache;
- the WebSocket: opened, first message sent (the page's run request), first message received,
  `script_finished` received; every message decoded (ForwardMsg) so the bytes of each kind show;
- Chromium's main thread (a trace): time in script evaluation and compilation per file, function
  calls (React, Plotly), style/layout/paint, garbage collection, and the thread's idle time;
- the server process's CPU during the visit (/proc/<pid>/stat).
Prints one table per page (median of the visits) and writes every visit to `--json`.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.bench_browser import (
    MAP_PATH,
    _environment,
    _wait_drawn,
    cpu_seconds,
    page_paths,
)
from tests.deploy_stack import production_site
from tests.servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_process,
    stop_process,
    streamlit_command,
    wait_for_url,
)

TRACE_CATEGORIES = ",".join(
    [
        "devtools.timeline",
        "disabled-by-default-devtools.timeline",
        "v8",
        "v8.execute",
        "blink",
        "loading",
    ]
)
SCRIPT_EVENTS = {"EvaluateScript", "v8.evaluateModule", "v8.compile", "v8.compileModule"}
CALL_EVENTS = {"FunctionCall", "TimerFire", "FireAnimationFrame", "EventDispatch", "RunMicrotasks"}
RENDER_EVENTS = {"UpdateLayoutTree", "Layout", "Paint", "PrePaint", "Layerize", "ParseHTML"}
VIEWPORT = {"width": 1400, "height": 900}
GC_EVENTS = {"MinorGC", "MajorGC", "V8.GCScavenger", "V8.GCCompactor", "BlinkGC.AtomicPhase"}


class Visit:
    """The CDP events of one navigation, turned into a breakdown (seconds from navigation)."""

    def __init__(self) -> None:
        self.requests: dict[str, dict] = {}
        self.frames: list[tuple[float, str, int, str]] = []  # (time, direction, bytes, kind)
        self.ws_created: float | None = None
        self.t0: float | None = None

    def listen(self, cdp) -> None:
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.webSocketCreated", self._ws_created)
        cdp.on("Network.webSocketFrameSent", lambda e: self._frame(e, "sent"))
        cdp.on("Network.webSocketFrameReceived", lambda e: self._frame(e, "received"))

    def _sent(self, event: dict) -> None:
        if self.t0 is None and event.get("type") == "Document":
            self.t0 = event["timestamp"]
        self.requests[event["requestId"]] = {
            "url": event["request"]["url"],
            "type": event.get("type"),
            "start": event["timestamp"],
        }

    def _response(self, event: dict) -> None:
        request = self.requests.setdefault(event["requestId"], {"url": event["response"]["url"]})
        response = event["response"]
        request["status"] = response["status"]
        request["encoding"] = response["headers"].get(
            "content-encoding", response["headers"].get("Content-Encoding", "")
        )
        request["cache_control"] = response["headers"].get(
            "cache-control", response["headers"].get("Cache-Control", "")
        )
        request["from_cache"] = request.get("from_cache") or response.get("fromDiskCache", False)
        request["response"] = event["timestamp"]

    def _finished(self, event: dict) -> None:
        request = self.requests.setdefault(event["requestId"], {"url": "?"})
        request["end"] = event["timestamp"]
        request["wire_bytes"] = event.get("encodedDataLength", 0)

    def _from_cache(self, event: dict) -> None:
        self.requests.setdefault(event["requestId"], {"url": "?"})["from_cache"] = True

    def _ws_created(self, event: dict) -> None:
        self.ws_created = time.perf_counter()

    def _frame(self, event: dict, direction: str) -> None:
        response = event["response"]
        payload = response.get("payloadData", "")
        kind, size = _decode(payload, response.get("opcode"), direction)
        self.frames.append((event["timestamp"], direction, size, kind))

    def summary(self, drawn_at: float, nav_at: float, body_sizes: dict[str, int]) -> dict:
        """Times relative to the document request (CDP clock), drawn_at on the perf_counter clock."""
        t0 = self.t0 or 0.0
        scripts = [r for r in self.requests.values() if r.get("type") == "Script"]
        document = next((r for r in self.requests.values() if r.get("type") == "Document"), {})
        sent = [f for f in self.frames if f[1] == "sent"]
        received = [f for f in self.frames if f[1] == "received"]
        finished = next((f for f in received if f[3] == "script_finished"), None)
        kinds: dict[str, int] = defaultdict(int)
        for frame in received:
            kinds[frame[3]] += frame[2]
        return {
            "drawn_s": drawn_at - nav_at,
            "document_end_s": document.get("end", t0) - t0,
            "requests": len(self.requests),
            "scripts": len(scripts),
            "scripts_from_cache": sum(1 for r in scripts if r.get("from_cache")),
            "scripts_end_s": max((r.get("end", t0) - t0 for r in scripts), default=0.0),
            "wire_bytes": sum(r.get("wire_bytes", 0) for r in self.requests.values()),
            "content_bytes": sum(body_sizes.values()),
            "uncompressed_text": sorted(
                {
                    r["url"].rsplit("/", 1)[-1]
                    for r in self.requests.values()
                    if not r.get("encoding")
                    and not r.get("from_cache")
                    and r.get("wire_bytes", 0) > 10_000
                }
            ),
            "ws_first_sent_s": sent[0][0] - t0 if sent else None,
            "ws_first_received_s": received[0][0] - t0 if received else None,
            "ws_script_finished_s": finished[0] - t0 if finished else None,
            "ws_received_bytes": sum(f[2] for f in received),
            "ws_bytes_by_kind": dict(kinds),
        }


def _decode(payload: str, opcode: int | None, direction: str) -> tuple[str, int]:
    """A WebSocket message's kind (ForwardMsg/BackMsg field) and size in bytes."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    if opcode != 2:
        return "text", len(payload)
    data = base64.b64decode(payload)
    message = ForwardMsg() if direction == "received" else BackMsg()
    try:
        message.ParseFromString(data)
    except Exception:  # noqa: BLE001 - an unknown message is reported as such
        return "undecoded", len(data)
    kind = message.WhichOneof("type") or "?"
    if kind == "delta":
        kind = "delta." + (message.delta.WhichOneof("type") or "?")
        if kind == "delta.new_element":
            kind = "element." + (message.delta.new_element.WhichOneof("type") or "?")
    return kind, len(data)


def main_thread_breakdown(trace: dict) -> dict:
    """Seconds of the page's renderer main thread by kind of work, and per script evaluated.

    The page's thread is the busiest CrRendererMain of the trace; `busy_s` sums its top-level
    tasks (a nested task is inside its parent's time)."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    threads = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    by_thread: dict[tuple, list[dict]] = defaultdict(list)
    for event in events:
        key = (event.get("pid"), event.get("tid"))
        if key in threads and event.get("ph") == "X":
            by_thread[key].append(event)
    if not by_thread:
        return {"busy_s": 0.0, "top_scripts": {}}
    main = max(
        by_thread.values(),
        key=lambda evs: sum(e.get("dur", 0) for e in evs if e["name"] == "RunTask"),
    )
    totals: dict[str, float] = defaultdict(float)
    per_script: dict[str, float] = defaultdict(float)
    busy, task_end = 0.0, -1.0
    for event in sorted(main, key=lambda e: e["ts"]):
        seconds = event.get("dur", 0) / 1e6
        name = event.get("name", "")
        if name == "RunTask":
            if event["ts"] >= task_end:  # top level
                busy += seconds
                task_end = event["ts"] + event.get("dur", 0)
        elif name in SCRIPT_EVENTS:
            totals["script " + name] += seconds
            if name in {"EvaluateScript", "v8.evaluateModule"}:
                url = event.get("args", {}).get("data", {}).get("url", "")
                per_script[url.rsplit("/", 1)[-1] or "(inline)"] += seconds
        elif name in CALL_EVENTS:
            totals["calls " + name] += seconds
        elif name in RENDER_EVENTS:
            totals["render " + name] += seconds
        elif name in GC_EVENTS:
            totals["gc"] += seconds
    top = dict(sorted(per_script.items(), key=lambda kv: -kv[1])[:5])
    return {"busy_s": busy, **{k: round(v, 4) for k, v in totals.items()}, "top_scripts": top}


def visit(browser, page, url: str, server_pid: int, *, map_page: bool, trace: bool) -> dict:
    """One navigation of `page` to `url` (a new Streamlit session), taken apart (Chromium's trace
    slows the page: a traced visit gives the breakdown, untraced ones the times)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    record = Visit()
    record.listen(cdp)
    bodies: dict[str, int] = {}

    def remember(response) -> None:
        bodies[response.url] = int(response.headers.get("content-length", 0))

    page.on("response", remember)
    trace_path = Path(tempfile.mkstemp(suffix=".json")[1])
    if trace:
        browser.start_tracing(
            page=page, path=str(trace_path), categories=TRACE_CATEGORIES.split(",")
        )
    cpu_before = cpu_seconds(server_pid)
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    if map_page:
        page.wait_for_function(
            "() => document.querySelectorAll('path.choroplethlocation').length >= 45"
        )
    _wait_drawn(page)
    drawn = time.perf_counter()
    server_cpu = cpu_seconds(server_pid) - cpu_before
    if trace:
        browser.stop_tracing()
    page.wait_for_timeout(200)  # the last CDP events
    result = record.summary(drawn, started, bodies)
    result["server_cpu_s"] = server_cpu
    result["traced"] = trace
    result["main_thread"] = (
        main_thread_breakdown(json.loads(trace_path.read_text())) if trace else {}
    )
    trace_path.unlink()
    cdp.detach()
    page.remove_listener("response", remember)
    return result


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def print_page(path: str, label: str, all_visits: list[dict]) -> None:
    visits = [v for v in all_visits if not v["traced"]] or all_visits
    traced = [v for v in all_visits if v["traced"]]

    def med(key: str) -> str:
        value = _median([v[key] for v in visits])
        return "—" if value is None else f"{value:.3f}"

    def med_thread(key: str) -> float:
        return _median([v["main_thread"].get(key, 0.0) for v in traced]) or 0.0

    print(f"\n## {path} ({label}, {len(visits)} visits)")
    for key in (
        "drawn_s",
        "document_end_s",
        "scripts_end_s",
        "ws_first_sent_s",
        "ws_first_received_s",
        "ws_script_finished_s",
        "server_cpu_s",
    ):
        print(f"  {key:24} {med(key)}")
    last = visits[-1]
    print(
        f"  requests {last['requests']}, scripts {last['scripts']} "
        f"({last['scripts_from_cache']} from cache), wire {last['wire_bytes'] / 1e3:.0f} kB, "
        f"content {last['content_bytes'] / 1e3:.0f} kB, WebSocket received "
        f"{last['ws_received_bytes'] / 1e3:.0f} kB"
    )
    print("  uncompressed > 10 kB: " + ", ".join(last["uncompressed_text"][:8]))
    kinds = sorted(last["ws_bytes_by_kind"].items(), key=lambda kv: -kv[1])[:6]
    print("  WebSocket bytes by kind: " + ", ".join(f"{k} {v / 1e3:.1f} kB" for k, v in kinds))
    if not traced:
        return
    keys = sorted({k for v in traced for k in v["main_thread"] if k != "top_scripts"})
    print(
        f"  traced ({len(traced)}), drawn {_median([v['drawn_s'] for v in traced]):.3f} s; main thread: "
        + ", ".join(f"{k} {med_thread(k):.3f}" for k in keys)
    )
    top = traced[-1]["main_thread"]["top_scripts"]
    print("  scripts evaluated: " + ", ".join(f"{k} {v:.3f}" for k, v in top.items()))


def run(
    db_path: Path, pages: list[str], visits: int, cache: str, out: Path | None, dev: bool = False
) -> dict:
    from playwright.sync_api import sync_playwright

    log_dir = Path(tempfile.mkdtemp(prefix="page-profile-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The hosted dashboard's Streamlit configuration, or the repository's (`make run`).
    site = Path.cwd() if dev else production_site(log_dir)
    environment = _environment(db_path, log_dir, port)
    process = start_process(streamlit_command(port), log_dir / "streamlit.log", site, environment)
    results: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    try:
        wait_for_url(f"{base}/_stcore/health", process, log_dir / "streamlit.log", timeout=120)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                returning = browser.new_page(viewport=VIEWPORT)
                for path in pages:  # the server's caches and the browser's see every page once
                    returning.goto(f"{base}/{path}", wait_until="commit")
                    _wait_drawn(returning)
                for round_ in range(visits + 1):  # the last round traced
                    for path in pages:
                        url, is_map = f"{base}/{path}", path == MAP_PATH
                        traced = round_ == visits
                        if cache in {"warm", "both"}:
                            results[path]["returning"].append(
                                visit(
                                    browser,
                                    returning,
                                    url,
                                    process.pid,
                                    map_page=is_map,
                                    trace=traced,
                                )
                            )
                        if cache in {"empty", "both"}:
                            fresh = browser.new_context(viewport=VIEWPORT)
                            results[path]["first-time"].append(
                                visit(
                                    browser,
                                    fresh.new_page(),
                                    url,
                                    process.pid,
                                    map_page=is_map,
                                    trace=traced,
                                )
                            )
                            fresh.close()
            finally:
                browser.close()
    finally:
        stop_process(process)
    for path, by_kind in results.items():
        for label, page_visits in by_kind.items():
            print_page(path, label, page_visits)
    if out:
        out.write_text(json.dumps(results, indent=1, default=str))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the database (e.g. the 30× demo)")
    parser.add_argument("--pages", default="", help="url paths, comma-separated (default: all)")
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--cache", choices=["warm", "empty", "both"], default="both")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--dev",
        action="store_true",
        help="the repository's Streamlit configuration (make run) instead of production's",
    )
    args = parser.parse_args()
    pages = [p for p in args.pages.split(",") if p] or page_paths()
    run(args.base, pages, args.visits, args.cache, args.json, dev=args.dev)


if __name__ == "__main__":
    main()
