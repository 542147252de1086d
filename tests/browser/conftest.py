"""Real-browser tests: the dashboard served by `streamlit run` on the demo database, Debian chromium.

Run them with `pytest -m browser tests/browser`. Never `playwright install`: the system chromium is
used (toolchain notes §3).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from servers import CHROMIUM, CHROMIUM_ARGS, free_port, streamlit_server


def pytest_collection_modifyitems(items):
    """Everything in this folder is a browser test."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def dashboard_url(demo_db, tmp_path_factory) -> str:
    """The dashboard on a free loopback port, serving the session's demo database."""
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with streamlit_server(port, db_path=demo_db, log_path=log, timeout=90):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def page_errors(page) -> list[str]:
    """Uncaught JavaScript errors of the page (collected for the test to assert on)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
