"""The servers of the concurrency benchmark, started as in production, and their CPU time.

Both set-ups run `streamlit run dashboard/app.py` in a working directory holding the production
Streamlit configuration (deploy/streamlit/config.toml): one server reached directly, or the hosted
layout of deploy/ (nginx with TLS and sticky sessions in front of two replicas), brought up by
tests/deploy_stack.py exactly as tests/test_deploy.py does.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

from bench.bench_browser import cpu_seconds
from bench.concurrency_clients import Endpoint
from tests.deploy_stack import ROUTE_COOKIE, SERVER_NAME, production_site, route_to, running_stack
from tests.servers import free_port, streamlit_server

ONE_SERVER = "1 serveur"
TWO_REPLICAS = "2 réplicas + nginx"
SETUPS = (ONE_SERVER, TWO_REPLICAS)
SERVER_START_S = 180  # a loaded 2-core machine can take a while to import Streamlit


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants still alive (nginx: the master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def cpu_of(pids: tuple[int, ...]) -> float:
    """User + system CPU seconds of these processes (each with its threads) so far."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    clock = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:8]) - idle) / clock, sum(ticks[:8]) / clock


@contextlib.contextmanager
def one_server(db_path: Path, directory: Path) -> Iterator[Endpoint]:
    """One `streamlit run`, production configuration, visitors straight to it."""
    port = free_port()
    site = production_site(directory)
    log = directory / f"streamlit-{port}.log"
    with streamlit_server(
        port, db_path=db_path, cwd=site, log_path=log, timeout=SERVER_START_S
    ) as process:
        yield Endpoint(
            name=ONE_SERVER,
            ws_url=f"ws://127.0.0.1:{port}/_stcore/stream",
            http_base=f"http://127.0.0.1:{port}",
            server_pids=(process.pid,),
        )


@contextlib.contextmanager
def two_replicas(db_path: Path, directory: Path) -> Iterator[Endpoint]:
    """nginx (deploy/nginx, TLS, HTTP/2) in front of two replicas; clients spread evenly over them
    with a route cookie that nginx's hash sends to each replica in turn."""
    with running_stack(directory, db_path, timeout=SERVER_START_S) as stack:
        routes = tuple(route_to(stack, port) for port in stack.backend_ports)
        context = ssl.create_default_context(cafile=str(stack.certificate))
        yield Endpoint(
            name=TWO_REPLICAS,
            ws_url=f"wss://{SERVER_NAME}:{stack.https_port}/_stcore/stream",
            http_base=stack.origin,
            server_pids=tuple(process.pid for process in stack.backends.values()),
            proxy_pids=tuple(process_tree(stack.nginx.pid)),
            ssl_context=context,
            connect_to=("127.0.0.1", stack.https_port),
            routes=routes,
            cookie_name=ROUTE_COOKIE,
            chromium_args=(f"--host-resolver-rules=MAP {SERVER_NAME} 127.0.0.1",),
        )


def started(setup: str, db_path: Path, directory: Path):
    """The context manager that brings `setup` up (and down)."""
    directory.mkdir(parents=True, exist_ok=True)
    return {ONE_SERVER: one_server, TWO_REPLICAS: two_replicas}[setup](db_path, directory)
