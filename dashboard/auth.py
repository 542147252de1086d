"""Secretariat sign-in for the Administration page.

Two ways in, both off until configured:

- a password, whose salted hash (PBKDF2-SHA256 or scrypt) comes from the environment variable
  `OBSERVATOIRE_ADMIN_PASSWORD_HASH` or from `[admin] password_hash` in `.streamlit/secrets.toml`;
  produce it with `observatoire motdepasse` or `python -m dashboard.auth`;
- `st.login` (OpenID Connect) when `[auth]` is configured in the secrets, for the addresses listed in
  `[admin] allowed_emails`.

Failed passwords are counted per client in a per-process `cache_resource`, not in session_state,
so reloading the page or opening a new session does not reset the count (5 failures → 15 minutes).
See docs/ADMIN.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import hashlib
import hmac
import os
import secrets
import sys
import threading
from dataclasses import dataclass, field

import streamlit as st

HASH_ENV_VAR = "OBSERVATOIRE_ADMIN_PASSWORD_HASH"
PBKDF2_ITERATIONS = 600_000  # OWASP 2023 recommendation for PBKDF2-HMAC-SHA256
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=8)
_SESSION_KEY = "_admin_identity"


class HashFormatError(ValueError):
    """The configured hash is not one this module produces (shown to the secretariat, in French)."""


# --- password hashes --------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def hash_password(
    password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None
) -> str:
    """A salted PBKDF2-SHA256 hash: 'pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>'."""
    if not password:
        raise ValueError("Le mot de passe ne peut pas être vide.")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${_b64(salt)}${_b64(digest)}"


def hash_password_scrypt(password: str, *, salt: bytes | None = None) -> str:
    """The scrypt alternative: 'scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>'."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _derive(password: str, encoded: str) -> tuple[bytes, bytes]:
    """(expected digest, digest of `password`) under the parameters written in `encoded`."""
    parts = encoded.strip().split("$")
    try:
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            iterations, salt, expected = int(parts[1]), _unb64(parts[2]), _unb64(parts[3])
            if iterations < 1:
                raise ValueError
            candidate = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
            return expected, candidate
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, expected = _unb64(parts[4]), _unb64(parts[5])
            candidate = hashlib.scrypt(
                password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(expected)
            )
            return expected, candidate
    except ValueError:
        pass
    raise HashFormatError(
        "Le hachage du mot de passe administrateur n'est pas reconnu : attendu "
        "« pbkdf2_sha256$itérations$sel$hachage » ou « scrypt$n$r$p$sel$hachage », "
        "tel que produit par « observatoire motdepasse »."
    )


def check_hash_format(encoded: str) -> None:
    """Raise HashFormatError when `encoded` cannot be used (checked before any password is tried)."""
    _derive("format-check", encoded)


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches the hash, compared in constant time."""
    expected, candidate = _derive(password, encoded)
    return hmac.compare_digest(expected, candidate)


# --- lockout after repeated failures ----------------------------------------------------------------


@dataclass
class LoginThrottle:
    """Failed sign-ins per client; after `max_failures` in a row, refuse every try for `lockout`.

    Shared by every session of the process (held in a cache_resource), guarded by a lock because
    Streamlit runs sessions in threads.
    """

    max_failures: int = MAX_FAILURES
    lockout: dt.timedelta = LOCKOUT
    _failures: dict[str, int] = field(default_factory=dict)
    _locked_until: dict[str, dt.datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_until(self, client: str, now: dt.datetime) -> dt.datetime | None:
        """When the lock on `client` ends, or None when it may try."""
        with self._lock:
            until = self._locked_until.get(client)
            if until is not None and now >= until:
                del self._locked_until[client]
                return None
            return until

    def record_failure(self, client: str, now: dt.datetime) -> dt.datetime | None:
        """Count one failure; returns the end of the lock when this failure triggers it."""
        with self._lock:
            count = self._failures.get(client, 0) + 1
            if count >= self.max_failures:
                self._failures.pop(client, None)
                self._locked_until[client] = now + self.lockout
                return self._locked_until[client]
            self._failures[client] = count
            return None

    def failures(self, client: str) -> int:
        with self._lock:
            return self._failures.get(client, 0)

    def record_success(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


# --- configuration ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthConfig:
    password_hash: str | None  # None: no password sign-in
    oidc: bool  # `[auth]` present in the secrets: st.login is available
    allowed_emails: frozenset[str]  # who may use the admin page after st.login

    @property
    def enabled(self) -> bool:
        return bool(self.password_hash) or (self.oidc and bool(self.allowed_emails))


def _secrets() -> dict:
    """Streamlit secrets as a plain dict; empty when there is no secrets.toml."""
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets file: Streamlit raises its own "not found" error
        return {}


def load_config(
    environ: dict[str, str] | None = None, secrets_dict: dict | None = None
) -> AuthConfig:
    """Read the sign-in configuration: the environment first, then Streamlit secrets."""
    environ = os.environ if environ is None else environ
    secrets_dict = _secrets() if secrets_dict is None else secrets_dict
    admin = secrets_dict.get("admin") or {}
    password_hash = (
        environ.get(HASH_ENV_VAR)
        or admin.get("password_hash")
        or secrets_dict.get(HASH_ENV_VAR)
        or None
    )
    emails = admin.get("allowed_emails") or []
    if isinstance(emails, str):
        emails = [emails]
    return AuthConfig(
        password_hash=password_hash.strip() if password_hash else None,
        oidc="auth" in secrets_dict,
        allowed_emails=frozenset(str(email).strip().lower() for email in emails),
    )


# --- the signed-in identity, kept in this session -----------------------------------------------------


@dataclass(frozen=True)
class AdminIdentity:
    name: str  # shown in the page and written to load_runs.username
    method: str  # 'motdepasse' or 'oidc'
    signed_in_at: dt.datetime


def sign_in_with_password(
    password: str,
    config: AuthConfig,
    throttle: LoginThrottle,
    client: str,
    now: dt.datetime,
) -> tuple[AdminIdentity | None, str | None]:
    """Check one password attempt: (identity, None) or (None, French reason)."""
    until = throttle.locked_until(client, now)
    if until is not None:
        return None, _locked_message(until, now)
    if not config.password_hash:
        return None, "La connexion par mot de passe n'est pas configurée."
    if verify_password(password, config.password_hash):
        throttle.record_success(client)
        return AdminIdentity("secretariat", "motdepasse", now), None
    until = throttle.record_failure(client, now)
    if until is not None:
        return None, _locked_message(until, now)
    left = throttle.max_failures - throttle.failures(client)
    return None, f"Mot de passe incorrect. Encore {left} essai(s) avant un blocage temporaire."


def _locked_message(until: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, int((until - now).total_seconds() // 60) + 1)
    return (
        "Trop d'essais infructueux : la connexion est bloquée pendant encore "
        f"{minutes} minute(s) (jusqu'à {until:%H:%M})."
    )


def session_identity(session: dict, now: dt.datetime) -> AdminIdentity | None:
    """The identity signed in in this session, unless it has expired."""
    identity = session.get(_SESSION_KEY)
    if identity is None:
        return None
    if now - identity.signed_in_at > SESSION_LIFETIME:
        del session[_SESSION_KEY]
        return None
    return identity


def remember(session: dict, identity: AdminIdentity) -> None:
    session[_SESSION_KEY] = identity


def forget(session: dict) -> None:
    session.pop(_SESSION_KEY, None)


# --- Streamlit glue ---------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def throttle() -> LoginThrottle:
    """The process-wide throttle (one per server process, shared by every session)."""
    return LoginThrottle()


def client_key() -> str:
    """Who is trying: the client's IP address when Streamlit knows it, else one shared bucket."""
    try:
        address = st.context.ip_address
    except Exception:
        address = None
    # Only a real address counts (test harnesses hand back mocks; a proxy may hand back nothing).
    return address if isinstance(address, str) and address else "inconnu"


def oidc_identity(config: AuthConfig, user: object, now: dt.datetime) -> AdminIdentity | None:
    """The identity of an st.login user whose e-mail is on the allow-list, else None."""
    if not config.oidc or not getattr(user, "is_logged_in", False):
        return None
    email = str(_user_field(user, "email") or "").strip().lower()
    if not email or email not in config.allowed_emails:
        return None
    return AdminIdentity(str(_user_field(user, "name") or email), "oidc", now)


def _user_field(user: object, name: str) -> object:
    try:
        return user[name]  # type: ignore[index]
    except (KeyError, TypeError):
        return getattr(user, name, None)


# --- command line: produce a hash -------------------------------------------------------------------


def prompt_and_hash(algorithm: str = "pbkdf2") -> str:
    """Ask for the password twice (hidden) and return its hash."""
    first = getpass.getpass("Mot de passe administrateur : ")
    second = getpass.getpass("Répétez-le : ")
    if first != second:
        raise ValueError("Les deux saisies diffèrent.")
    if len(first) < 12:
        raise ValueError("Choisissez au moins 12 caractères.")
    return hash_password_scrypt(first) if algorithm == "scrypt" else hash_password(first)


if __name__ == "__main__":  # python -m dashboard.auth [--scrypt]
    try:
        print(prompt_and_hash("scrypt" if "--scrypt" in sys.argv else "pbkdf2"))
    except ValueError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        sys.exit(1)
