"""The hosted deployment run on 127.0.0.1: nginx (deploy/nginx/observatoire.conf.template) in
front of two `streamlit run` replicas configured as in production (deploy/streamlit/config.toml).

The committed template is rendered with loopback ports, a throw-away certificate and the host name
`observatoire.test` (resolved to 127.0.0.1 by the clients themselves). Used by tests/test_deploy.py
(the deployment's behaviour) and bench/bench_concurrency.py (many visitors on two replicas); every
process is stopped when `running_stack` exits.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from etl.analysis.feed import feed_path

if __package__:  # imported as tests.deploy_stack (the benchmarks run from the repository root)
    from .servers import ROOT, free_port, log_tail, start_process, stop_process, streamlit_server
else:  # imported by the test suite, tests/ on sys.path
    from servers import ROOT, free_port, log_tail, start_process, stop_process, streamlit_server

DEPLOY = ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx" / "observatoire.conf.template"
PRODUCTION_CONFIG = DEPLOY / "streamlit" / "config.toml"
SERVER_NAME = "observatoire.test"
ROUTE_COOKIE = "observatoire_route"
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render_template(template: str, values: dict[str, str]) -> str:
    """Replace every ${NAME}; refuse a template that uses a name we were not given."""
    missing = set(PLACEHOLDER.findall(template)) - values.keys()
    if missing:
        raise KeyError(f"valeurs manquantes pour {sorted(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


@dataclass
class Stack:
    https_port: int
    http_port: int
    backend_ports: tuple[int, int]
    backends: dict[int, subprocess.Popen]
    access_log: Path
    certificate: Path
    directory: Path
    nginx: subprocess.Popen | None = None

    @property
    def origin(self) -> str:
        return f"https://{SERVER_NAME}:{self.https_port}"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for SERVER_NAME (cryptography comes with Authlib)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "cert.pem", directory / "key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_path, key_path


def nginx_main_config(directory: Path, site_config: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around a site, with everything in `directory`."""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, workers would drop to `nobody`, which cannot read pytest's 0700 temporary directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
error_log {directory / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
    access_log off;
{temp_paths}
    include {site_config};
}}
"""


class LoopbackHTTPS(http.client.HTTPSConnection):
    """HTTPS to a host name (SNI, certificate check, Host header) over a socket to 127.0.0.1."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, timeout: float = 30):
        super().__init__(host, port, context=context, timeout=timeout)
        self.tls_context = context

    def connect(self) -> None:
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self.tls_context.wrap_socket(raw, server_hostname=self.host)


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes  # as sent: still compressed when Content-Encoding says so


def fetch(
    stack: Stack,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    host: str = SERVER_NAME,
) -> Reply:
    context = ssl.create_default_context(cafile=str(stack.certificate))
    connection = LoopbackHTTPS(host, stack.https_port, context)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def wait_for_nginx(stack: Stack, nginx: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if nginx.poll() is not None:
            raise RuntimeError(f"nginx s'est arrêté :\n{log_tail(stack.directory / 'error.log')}")
        with contextlib.suppress(OSError):
            if fetch(stack, "/healthz").status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(log_tail(stack.directory / "error.log"))


def start_nginx(directory: Path, values: dict[str, str]) -> subprocess.Popen:
    site = directory / "observatoire.conf"
    site.write_text(render_template(NGINX_TEMPLATE.read_text(), values))
    main = directory / "nginx.conf"
    main.write_text(nginx_main_config(directory, site))
    flags = ["-p", str(directory), "-c", str(main), "-e", str(directory / "error.log")]
    checked = subprocess.run([NGINX, *flags, "-t"], capture_output=True, text=True, timeout=30)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx refuse sa configuration :\n{checked.stderr}")
    return start_process(
        [NGINX, *flags, "-g", f"daemon off; pid {directory / 'nginx.pid'};"],
        directory / "nginx.out",
        directory,
        dict(os.environ),
    )


def precompressed_static(directory: Path) -> Path:
    """A copy of Streamlit's static folder with the .gz copies of installation (deploy/README.md
    §3: deploy/precompress-static.sh), which nginx serves at /static/; the .venv is left as it is."""
    import streamlit

    static = directory / "streamlit-static"
    if not static.exists():
        shutil.copytree(Path(streamlit.__file__).parent / "static", static)
        subprocess.run(["sh", str(DEPLOY / "precompress-static.sh"), str(static)], check=True)
    return static


def production_site(directory: Path) -> Path:
    """A replica's working directory as installed: it holds the production Streamlit config."""
    site_dir = directory / "etc-observatoire"
    (site_dir / ".streamlit").mkdir(parents=True, exist_ok=True)
    shutil.copy(PRODUCTION_CONFIG, site_dir / ".streamlit" / "config.toml")
    return site_dir


@contextlib.contextmanager
def running_stack(
    directory: Path,
    db_path: Path,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Iterator[Stack]:
    """nginx and two replicas on `db_path`, ready; every process stopped on exit."""
    certificate, key = make_certificate(directory)
    site_dir = production_site(directory)
    backend_ports = (free_port(), free_port())
    https_port, http_port = free_port(), free_port()
    values = {
        "SERVER_NAME": SERVER_NAME,
        "HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "HTTPS_LISTEN": f"127.0.0.1:{https_port}",
        "TLS_CERTIFICATE": str(certificate),
        "TLS_CERTIFICATE_KEY": str(key),
        "BACKEND_1": f"127.0.0.1:{backend_ports[0]}",
        "BACKEND_2": f"127.0.0.1:{backend_ports[1]}",
        "LOG_DIR": str(directory),
        "SIGNALS_FEED": str(feed_path(db_path)),
        "STREAMLIT_STATIC": str(precompressed_static(directory)),
    }
    with contextlib.ExitStack() as cleanup:
        # Both replicas boot at the same time; each context manager stops its process on exit.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            servers = [
                streamlit_server(
                    port,
                    db_path=db_path,
                    cwd=site_dir,
                    log_path=directory / f"streamlit-{port}.log",
                    extra_env=extra_env,
                    timeout=timeout,
                )
                for port in backend_ports
            ]
            started = list(pool.map(cleanup.enter_context, servers))
        nginx = start_nginx(directory, values)
        cleanup.callback(stop_process, nginx)
        stack = Stack(
            https_port=https_port,
            http_port=http_port,
            backend_ports=backend_ports,
            backends=dict(zip(backend_ports, started, strict=True)),
            access_log=directory / "observatoire.access.log",
            certificate=certificate,
            directory=directory,
            nginx=nginx,
        )
        wait_for_nginx(stack, nginx)
        yield stack


def access_log_lines(stack: Stack) -> list[str]:
    return stack.access_log.read_text().splitlines() if stack.access_log.exists() else []


def upstream_of(stack: Stack, request_fragment: str, timeout: float = 5) -> str:
    """The replica that served the last logged request containing `request_fragment`.

    nginx writes the log line when it finalises the request, which can be just after the client
    has its answer: poll briefly.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in reversed(access_log_lines(stack)):
            if request_fragment in line:
                return re.search(r"upstream=(\S+)", line).group(1)
        time.sleep(0.05)
    raise RuntimeError(f"{request_fragment!r} absent du journal d'accès")


def route_to(stack: Stack, backend_port: int) -> str:
    """A route-cookie value that nginx's consistent hash sends to `backend_port`."""
    for attempt in range(200):
        value = f"essai{attempt:03d}"
        fetch(
            stack, f"/_stcore/health?route={value}", headers={"Cookie": f"{ROUTE_COOKIE}={value}"}
        )
        if upstream_of(stack, f"route={value} ") == f"127.0.0.1:{backend_port}":
            return value
    raise RuntimeError(f"aucune valeur du cookie ne mène au port {backend_port}")
