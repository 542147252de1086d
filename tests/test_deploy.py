"""Hosted deployment (deploy/): nginx in front of two dashboard replicas, systemd units, backups.

The live tests render the committed nginx template with loopback ports, a throw-away certificate and
the host name `observatoire.test` (resolved to 127.0.0.1 by the test's own clients), then start
nginx and two `streamlit run dashboard/app.py` processes configured exactly as in production: the
working directory holds deploy/streamlit/config.toml as `.streamlit/config.toml`. Nothing leaves
127.0.0.1; every process is killed in the fixture's teardown.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import hashlib
import http.client
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import duckdb
import pytest
from deploy_stack import (
    DEPLOY,
    NGINX,
    NGINX_TEMPLATE,
    PLACEHOLDER,
    PRODUCTION_CONFIG,
    ROUTE_COOKIE,
    SERVER_NAME,
    Stack,
    access_log_lines,
    fetch,
    render_template,
    route_to,
    running_stack,
    upstream_of,
)
from servers import CHROMIUM, CHROMIUM_ARGS, ROOT, stop_process

from etl.analysis.feed import feed_path
from etl.publish import next_version

SYSTEMD_DIR = DEPLOY / "systemd"
BACKUP_SCRIPT = DEPLOY / "backup.py"
needs_nginx = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="nginx absent (apt-get install nginx-light)"
)
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium absent (apt-get install chromium)"
)


# --- template -------------------------------------------------------------------------------------


def declared_placeholders(template: str) -> set[str]:
    """The placeholders listed on the template's `# placeholder:` lines (what envsubst replaces)."""
    lines = re.findall(r"^# *placeholder: *(.*)$", template, re.MULTILINE)
    return set(PLACEHOLDER.findall(" ".join(lines)))


def content_security_policy(template: str) -> dict[str, list[str]]:
    value = re.search(r'add_header Content-Security-Policy "([^"]+)"', template).group(1)
    directives = [part.split() for part in value.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


def streamlit_inline_script_hashes() -> set[str]:
    """CSP hashes of the inline <script> blocks of the installed Streamlit's page."""
    import streamlit

    index = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    bodies = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", index, re.DOTALL)
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in bodies
    }


def test_template_declares_exactly_the_placeholders_it_uses():
    template = NGINX_TEMPLATE.read_text()
    body = "\n".join(line for line in template.splitlines() if not line.startswith("#"))
    assert set(PLACEHOLDER.findall(body)) == declared_placeholders(template)


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst absent (gettext-base)")
def test_documented_envsubst_command_renders_like_the_tests(tmp_path):
    values = {
        name: f"valeur-{name.lower()}" for name in declared_placeholders(NGINX_TEMPLATE.read_text())
    }
    # The command from the template's header, as an administrator would type it.
    command = (
        "envsubst \"$(sed -n 's/^# *placeholder: *//p' observatoire.conf.template)\" "
        "< observatoire.conf.template"
    )
    rendered = subprocess.run(
        command,
        shell=True,
        cwd=NGINX_TEMPLATE.parent,
        env={**os.environ, **values},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert rendered == render_template(NGINX_TEMPLATE.read_text(), values)
    assert "$http_upgrade" in rendered  # nginx's own variables are left alone


def test_csp_allows_streamlit_inline_scripts_and_nothing_unsafe():
    policy = content_security_policy(NGINX_TEMPLATE.read_text())
    assert streamlit_inline_script_hashes() <= set(policy["script-src"])
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"]


def test_nginx_body_limit_matches_streamlit_upload_limit():
    from dashboard.components.upload import MAX_UPLOAD_MB

    upload_mb = tomllib.loads(PRODUCTION_CONFIG.read_text())["server"]["maxUploadSize"]
    assert upload_mb == MAX_UPLOAD_MB  # the admin page's own check says the same
    body_limit = re.search(r"client_max_body_size (\d+)m;", NGINX_TEMPLATE.read_text())
    # A file of exactly maxUploadSize MB passes, with at most 1 MB of multipart envelope on top.
    assert upload_mb <= int(body_limit.group(1)) <= upload_mb + 1


# --- production Streamlit configuration -------------------------------------------------------------


def test_production_config_is_locked_down_and_keeps_the_project_settings():
    production = tomllib.loads(PRODUCTION_CONFIG.read_text())
    development = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = production["server"]
    assert server["enableXsrfProtection"] is True
    # In Streamlit 1.67, enableCORS = false would mean `Access-Control-Allow-Origin: *`.
    assert server["enableCORS"] is True and server["corsAllowedOrigins"] == []
    assert server["headless"] is True and server["runOnSave"] is False
    assert server["enableStaticServing"] is True
    assert server["maxUploadSize"] == 10
    assert production["browser"]["gatherUsageStats"] is False
    assert production["client"]["toolbarMode"] == "minimal"
    assert production["theme"] == development["theme"]
    # No full garbage collection after every script run (bench/README.md), in both configurations.
    assert production["runner"]["postScriptGC"] is False
    assert development["runner"]["postScriptGC"] is False


# --- systemd -----------------------------------------------------------------------------------------


def unit_settings(path: Path) -> dict[str, list[str]]:
    """Key → values of a unit file (keys may repeat); continuation lines joined."""
    settings: dict[str, list[str]] = {}
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_dashboard_unit_cannot_write_the_data_or_the_code():
    settings = unit_settings(SYSTEMD_DIR / "observatoire-dashboard@.service")
    read_only = " ".join(settings["ReadOnlyPaths"]).split()
    data_dir = str(Path(settings["Environment"][0].split("=", 1)[1]).parent)
    assert settings["Environment"][0].startswith("OBSERVATOIRE_DB=")
    assert data_dir in read_only and "/opt/observatoire" in read_only
    assert "ReadWritePaths" not in settings
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["NoNewPrivileges"] == ["yes"] and settings["PrivateTmp"] == ["yes"]
    assert "--server.port %i" in settings["ExecStart"][0]


def test_replicas_share_one_writable_sign_in_lockout():
    """Every instance of the template gets the same state directory (not one per port), the one
    place a replica writes besides its runtime directory: the lockout counts across replicas."""
    settings = unit_settings(SYSTEMD_DIR / "observatoire-dashboard@.service")
    assert settings["StateDirectory"] == ["observatoire-connexions"]
    assert settings["StateDirectoryMode"] == ["0700"]
    assert settings["RuntimeDirectory"] == ["observatoire-dashboard-%i"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_systemd_units_verify(tmp_path):
    """systemd's own checker, with the install paths pointed at this checkout."""

    def install(source: Path, target: Path) -> None:
        text = source.read_text().replace("/opt/observatoire/.venv/bin/python", sys.executable)
        target.write_text(text.replace("/opt/observatoire", str(ROOT)))

    for unit in SYSTEMD_DIR.glob("observatoire-*"):
        install(unit, tmp_path / unit.name)
    # The admin replica: the template plus its drop-in, as in deploy/README.md.
    drop_in_dir = tmp_path / "observatoire-dashboard@8503.service.d"
    drop_in_dir.mkdir()
    install(SYSTEMD_DIR / "admin" / "ecriture.conf", drop_in_dir / "ecriture.conf")
    units = [
        "observatoire-dashboard@8501.service",
        "observatoire-dashboard@8503.service",
        "observatoire-dashboard.target",
        "observatoire-backup.service",
        "observatoire-backup.timer",
    ]
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit) for unit in units)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # no unknown key, no bad value


# --- backups -----------------------------------------------------------------------------------------


def write_marker(db_path: Path, marker: str) -> None:
    """Publish a version of a small database whose only content is `marker`."""
    with next_version(db_path) as con:
        con.execute("create or replace table marker (value varchar)")
        con.execute("insert into marker values (?)", [marker])


def read_marker(db_path: Path) -> str:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.sql("select value from marker").fetchall()[0][0]
    finally:
        con.close()


def run_backup_script(*args: str, db_path: Path, backup_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(BACKUP_SCRIPT),
            *args,
            "--base",
            str(db_path),
            "--dossier",
            str(backup_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def backup_module():
    """deploy/backup.py imported as a module (deploy/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("observatoire_backup", BACKUP_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backup_keeps_the_newest_dated_copies(tmp_path, backup_module):
    db_path, backup_dir = tmp_path / "data" / "observatoire.duckdb", tmp_path / "copies"
    write_marker(db_path, "v1")
    nights = [dt.datetime(2026, 11, day, 2, 30) for day in (25, 26, 27)]
    for night in nights:
        backup_module.back_up(db_path, backup_dir, keep=2, now=night)
    # Three nights, two kept: the 25th is gone.
    assert [p.name for p in sorted(backup_dir.iterdir())] == [
        "observatoire-20261126-023000.duckdb",
        "observatoire-20261127-023000.duckdb",
    ]
    assert read_marker(backup_dir / "observatoire-20261127-023000.duckdb") == "v1"


def load_run_kinds(db_path: Path) -> list[str]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return [row[0] for row in con.sql("select kind from load_runs order by run_id").fetchall()]
    finally:
        con.close()


def published_at(public_file: Path) -> dt.datetime:
    con = duckdb.connect(str(public_file), read_only=True)
    try:
        return con.sql("select published_at from public.release").fetchall()[0][0]
    finally:
        con.close()


def test_backup_then_restore_puts_the_old_version_back(tmp_path):
    from etl.build import init_database, reload_reference
    from etl.public import public_path

    db_path, backup_dir = tmp_path / "data" / "observatoire.duckdb", tmp_path / "copies"
    init_database(db_path)  # version 1: one load run
    made = run_backup_script("sauvegarder", db_path=db_path, backup_dir=backup_dir)
    assert made.returncode == 0, made.stderr
    (copy,) = backup_dir.glob("observatoire-*.duckdb")
    reload_reference(db_path)  # version 2: two load runs
    assert load_run_kinds(db_path) == ["init", "reference"]
    raw_inode, public_inode = db_path.stat().st_ino, public_path(db_path).stat().st_ino
    restore_started = dt.datetime.now().replace(microsecond=0)

    restored = run_backup_script("restaurer", str(copy), db_path=db_path, backup_dir=backup_dir)

    assert restored.returncode == 0, restored.stderr
    assert load_run_kinds(db_path) == ["init"]
    # Both files are new files of a new release, never written in place; the public one was rebuilt.
    assert db_path.stat().st_ino != raw_inode
    assert public_path(db_path).stat().st_ino != public_inode
    assert published_at(public_path(db_path)) >= restore_started
    (saved,) = backup_dir.glob("*-avant-restauration.duckdb")
    assert load_run_kinds(saved) == ["init", "reference"]
    assert sorted(p.name for p in db_path.parent.iterdir() if not p.name.endswith(".lock")) == [
        "observatoire.duckdb",
        "observatoire.releases",
        "observatoire_public.duckdb",
    ]


def test_restore_refuses_a_file_that_is_not_a_database(tmp_path):
    db_path, backup_dir = tmp_path / "data" / "observatoire.duckdb", tmp_path / "copies"
    write_marker(db_path, "intacte")
    junk = tmp_path / "pas-une-base.duckdb"
    junk.write_bytes(b"ceci n'est pas une base" * 100)

    result = run_backup_script("restaurer", str(junk), db_path=db_path, backup_dir=backup_dir)

    assert result.returncode == 1
    assert "n'est pas une base DuckDB lisible" in result.stderr
    assert "Traceback" not in result.stderr
    assert read_marker(db_path) == "intacte"


def test_backup_of_a_missing_database_is_a_clear_error(tmp_path):
    result = run_backup_script(
        "sauvegarder", db_path=tmp_path / "absente.duckdb", backup_dir=tmp_path / "copies"
    )
    assert result.returncode == 1
    assert "Rien à sauvegarder" in result.stderr and "Traceback" not in result.stderr


# --- the live stack: nginx + two replicas -----------------------------------------------------------


@pytest.fixture(scope="module")
def deploy_db(request, tmp_path_factory) -> Path:
    """The suite's demo database when conftest provides it, else a reference-only database."""
    with contextlib.suppress(pytest.FixtureLookupError):
        return Path(request.getfixturevalue("demo_db"))
    from etl.build import init_database

    db_path = tmp_path_factory.mktemp("deploy-db") / "observatoire.duckdb"
    init_database(db_path)
    return db_path


@pytest.fixture(scope="module")
def stack(tmp_path_factory, deploy_db) -> Stack:
    with running_stack(tmp_path_factory.mktemp("deploy"), deploy_db) as running:
        yield running


@needs_nginx
def test_health_location_answers_through_nginx(stack):
    reply = fetch(stack, "/healthz")
    assert (reply.status, reply.body) == (200, b"ok")
    assert not any(
        "/healthz" in line for line in access_log_lines(stack)
    )  # monitoring is not logged


@needs_nginx
def test_the_signals_feed_is_served_by_nginx(stack, deploy_db):
    reply = fetch(stack, "/signaux.atom")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert reply.body == feed_path(deploy_db).read_bytes()
    assert reply.body.startswith(b"<?xml") and b"http://www.w3.org/2005/Atom" in reply.body
    assert reply.headers["X-Content-Type-Options"] == "nosniff"  # the server's headers apply
    assert "max-age=600" in reply.headers["Cache-Control"]
    assert upstream_of(stack, "GET /signaux.atom") == "-"  # no replica involved


@needs_nginx
def test_plain_http_redirects_to_https(stack):
    connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
    connection.request("GET", "/donnees?commune=Onex", headers={"Host": SERVER_NAME})
    response = connection.getresponse()
    assert response.status == 301
    assert response.headers["Location"] == f"https://{SERVER_NAME}/donnees?commune=Onex"
    connection.close()


@needs_nginx
def test_unknown_host_names_get_no_answer(stack):
    with pytest.raises(ssl.SSLError):
        fetch(stack, "/", host="autre.example")  # handshake refused: no certificate shown
    connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
    connection.request("GET", "/", headers={"Host": "autre.example"})
    with pytest.raises(http.client.RemoteDisconnected):  # 444: connection closed, nothing sent
        connection.getresponse()
    connection.close()


SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "Strict-Transport-Security",
)


@needs_nginx
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),  # the page
        ("/app/static/topojson/world_110m.json", 200),  # a file from dashboard/static/
        ("/app/static/absent.json", 404),  # an error answer from the replica
        ("/x" * 5000, 414),  # an error answer from nginx itself
    ],
)
def test_security_headers_on_every_response(stack, path, status):
    reply = fetch(stack, path)
    assert reply.status == status
    expected = content_security_policy(NGINX_TEMPLATE.read_text())
    csp = {
        name: sources
        for name, *sources in (
            p.split() for p in reply.headers["Content-Security-Policy"].split(";") if p.strip()
        )
    }
    assert csp == expected
    for name in SECURITY_HEADERS:
        assert len(reply.headers.get_all(name) or []) == 1, (
            f"{name} on {path}: {reply.headers.get_all(name)}"
        )
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert reply.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in reply.headers["Permissions-Policy"]
    assert "Access-Control-Allow-Origin" not in reply.headers
    assert "nginx/" not in (reply.headers["Server"] or "")  # no version disclosed


@needs_nginx
def test_first_response_sets_the_sticky_route_cookie_once(stack):
    first = fetch(stack, "/")
    cookie = first.headers["Set-Cookie"]
    route = re.match(rf"{ROUTE_COOKIE}=([0-9a-f]{{32}}); ", cookie).group(1)
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= set(cookie.split("; ")[1:])
    again = fetch(stack, "/", headers={"Cookie": f"{ROUTE_COOKIE}={route}"})
    assert again.headers["Set-Cookie"] is None


@needs_nginx
def test_streamlit_cookies_are_made_https_only(stack):
    xsrf = next(
        cookie
        for cookie in fetch(stack, "/_stcore/health").headers.get_all("Set-Cookie")
        if cookie.startswith("_streamlit_xsrf=")
    )
    assert "secure" in xsrf.lower().split("; ")


@needs_nginx
def test_text_and_scripts_are_gzipped_by_nginx(stack):
    page = fetch(stack, "/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(page.body).decode()
    script = re.search(r'src="\./(static/js/index\.[^"]+\.js)"', html).group(1)

    through_nginx = fetch(stack, f"/{script}", headers={"Accept-Encoding": "gzip"})
    assert through_nginx.status == 200
    assert through_nginx.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in through_nginx.headers["Vary"]
    # Straight from a replica the bundle is not compressed: the compression is nginx's work.
    port = stack.backend_ports[0]
    direct = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    direct.request("GET", f"/{script}", headers={"Accept-Encoding": "gzip"})
    response = direct.getresponse()
    original = response.read()
    direct.close()
    assert response.headers["Content-Encoding"] is None
    assert gzip.decompress(through_nginx.body) == original
    assert len(through_nginx.body) < len(original) / 2


@needs_nginx
def test_frontend_bundles_come_precompressed_from_nginx_and_are_cached_a_year(stack):
    page = fetch(stack, "/", headers={"Accept-Encoding": "gzip"})
    assert "immutable" not in (page.headers["Cache-Control"] or "")  # the page itself: no
    html = gzip.decompress(page.body).decode()
    script = re.search(r'src="\./(static/js/index\.[^"]+\.js)"', html).group(1)

    served = fetch(stack, f"/{script}", headers={"Accept-Encoding": "gzip"})
    assert served.status == 200
    # nginx sent the .gz copy made at installation, byte for byte (gzip_static), not a replica's
    # answer compressed on the fly.
    assert served.body == (stack.directory / "streamlit-static" / f"{script}.gz").read_bytes()
    assert served.headers["Content-Encoding"] == "gzip"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"  # the site's headers still there
    assert "javascript" in served.headers["Content-Type"]
    # A browser that takes no gzip gets the file itself.
    plain = fetch(stack, f"/{script}")
    assert plain.headers["Content-Encoding"] is None
    assert plain.body == gzip.decompress(served.body)


@needs_nginx
def test_upload_size_limit_is_enforced_by_nginx_at_streamlit_limit(stack):
    """nginx answers 413 above the limit; just above 10 MB it lets the request through."""
    path = "/_stcore/upload_file/session/widget"
    headers = {"Content-Type": "application/octet-stream"}
    too_big = fetch(stack, path, method="PUT", headers=headers, body=b"x" * (12 * 1024 * 1024))
    assert too_big.status == 413
    at_limit = fetch(
        stack, path, method="PUT", headers=headers, body=b"x" * (10 * 1024 * 1024 + 4096)
    )
    assert at_limit.status != 413
    assert at_limit.status in (
        400,
        403,
        404,
        405,
    )  # Streamlit's own refusal (no XSRF token, no session)


# --- a real browser through nginx -------------------------------------------------------------------

DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def websocket_upstreams(stack: Stack, since: int) -> list[str]:
    """Replicas that served the session WebSockets logged after line `since` (101 = upgraded)."""
    return [
        re.search(r"upstream=(\S+)", line).group(1)
        for line in access_log_lines(stack)[since:]
        if '"GET /_stcore/stream HTTP/1.1" 101' in line
    ]


@pytest.fixture(scope="module")
def deploy_browser(playwright):
    """Debian's chromium, resolving the test host name to 127.0.0.1 (no DNS, no /etc/hosts).

    It is launched from pytest-playwright's session Playwright: a second `sync_playwright()` in the
    same process fails once the browser tests have started theirs.
    """
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {SERVER_NAME} 127.0.0.1"],
    )
    try:
        yield chromium
    finally:
        chromium.close()


def load_dashboard(
    browser, stack: Stack, route: str, path: str = "/", drawn: str | None = None
) -> dict[str, list[str]]:
    """Open `path` in a fresh session pinned by `route`; return what went wrong, by kind.

    `drawn`: a selector that must appear once the page is done (e.g. the map's shapes).
    """
    # The certificate is self-signed for the test; everything else is as in production (HTTPS, h2).
    context = browser.new_context(ignore_https_errors=True)
    context.add_cookies([{"name": ROUTE_COOKIE, "value": route, "url": stack.origin}])
    problems: dict[str, list[str]] = {"pageerror": [], "csp": [], "exception": []}
    page = context.new_page()
    page.on("pageerror", lambda error: problems["pageerror"].append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems["csp"].append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        page.goto(f"{stack.origin}{path}", wait_until="domcontentloaded", timeout=30_000)
        page.wait_for_selector(DONE, state="attached", timeout=60_000)
        if drawn:
            page.wait_for_selector(drawn, state="attached", timeout=30_000)
        problems["exception"] = page.locator('[data-testid="stException"]').all_inner_texts()
        problems["menu"] = ["visible"] * page.locator('[data-testid="stMainMenu"]').count()
    finally:
        context.close()  # closes the WebSocket, so nginx logs it
    return problems


def wait_for_websocket_log(stack: Stack, since: int, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if upstreams := websocket_upstreams(stack, since):
            return upstreams
        time.sleep(0.1)
    return []


NO_PROBLEMS = {"pageerror": [], "csp": [], "exception": [], "menu": []}


@needs_nginx
@needs_chromium
@pytest.mark.browser
@pytest.mark.slow
def test_dashboard_renders_through_nginx_from_each_replica(stack, deploy_browser):
    """A full page load over HTTPS/HTTP2 + WebSocket, pinned to each replica in turn.

    The second replica serves the map page: the Plotly geo map must draw offline under the CSP
    (its topojson comes from app/static/).
    """
    pages = [("/", None), ("/besoins-et-lacunes", "path.choroplethlocation")]
    for port, (path, drawn) in zip(stack.backend_ports, pages, strict=True):
        route = route_to(stack, port)
        since = len(access_log_lines(stack))
        assert load_dashboard(deploy_browser, stack, route, path, drawn) == NO_PROBLEMS
        # Every session WebSocket went to the replica its cookie names: sessions are sticky.
        assert set(wait_for_websocket_log(stack, since)) == {f"127.0.0.1:{port}"}


@needs_nginx
@needs_chromium
@pytest.mark.browser
@pytest.mark.slow
def test_dashboard_survives_one_replica_stopping(stack, deploy_browser):
    """Stop the first replica: a browser pinned to it gets a new session on the second one."""
    stopped, survivor = stack.backend_ports
    route = route_to(stack, stopped)
    stop_process(stack.backends[stopped])
    assert fetch(stack, "/healthz").status == 200
    since = len(access_log_lines(stack))
    assert load_dashboard(deploy_browser, stack, route) == NO_PROBLEMS
    assert set(wait_for_websocket_log(stack, since)) == {f"127.0.0.1:{survivor}"}
