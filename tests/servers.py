"""Start real servers for tests (Streamlit, anything with a health URL) and always stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STREAMLIT = Path(sys.executable).with_name("streamlit")
DASHBOARD_APP = ROOT / "dashboard" / "app.py"


def find_chromium() -> str:
    """Debian's chromium (what `make test` installs), or $OBSERVATOIRE_CHROMIUM, or the Chromium
    that `playwright install chromium` downloaded on a machine without apt-get."""
    chosen = os.environ.get("OBSERVATOIRE_CHROMIUM")
    if chosen:
        return chosen
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    browsers = Path(
        os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright"
    )
    downloaded = sorted(browsers.glob("chromium-*/chrome-linux*/chrome"))
    return str(downloaded[-1]) if downloaded else "/usr/bin/chromium"


CHROMIUM = find_chromium()
# The toolchain notes' flags (shared/tools/shoot.py): no sandbox in containers, no GPU, no network
# chatter, /dev/shm is small here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(pas de journal)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for_url(
    url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60.0
) -> None:
    """Poll `url` until it answers 200; fail early with the log if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Le processus s'est arrêté (code {process.returncode}) :\n{log_tail(log_path)}"
            )
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(url, timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} ne répond pas après {timeout:.0f} s :\n{log_tail(log_path)}")


def start_process(
    command: list[str], log_path: Path, cwd: Path, env: dict[str, str]
) -> subprocess.Popen:
    """Start `command` in its own process group, stdout and stderr into `log_path`."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers (idempotent)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def streamlit_command(port: int, app: Path = DASHBOARD_APP, *flags: str) -> list[str]:
    """The command line of the production unit; every other setting comes from the config file."""
    return [
        str(STREAMLIT),
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--global.developmentMode",
        "false",
        *flags,
    ]


@contextlib.contextmanager
def streamlit_server(
    port: int,
    *,
    db_path: Path,
    cwd: Path = ROOT,
    log_path: Path,
    app: Path = DASHBOARD_APP,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Iterator[subprocess.Popen]:
    """`streamlit run` on 127.0.0.1:`port`, ready when /_stcore/health answers; stopped on exit.

    `cwd` decides which `.streamlit/config.toml` applies (the project one by default). HOME points
    next to the log so no personal ~/.streamlit leaks in.
    """
    home = log_path.parent / f"home-{port}"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OBSERVATOIRE_DB": str(db_path), "HOME": str(home), **(extra_env or {})}
    process = start_process(streamlit_command(port, app), log_path, cwd, env)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/_stcore/health", process, log_path, timeout)
        yield process
    finally:
        stop_process(process)
