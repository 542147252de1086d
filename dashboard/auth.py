"""Secretariat sign-in for the Administration page (the Streamlit side).

Two ways in, both off until configured:

- a password, whose salted hash (PBKDF2-SHA256 or scrypt, etl/auth/passwords.py) comes from the
  environment variable `OBSERVATOIRE_ADMIN_PASSWORD_HASH` or from `[admin] password_hash` in
  `.streamlit/secrets.toml`; produce it with `observatoire motdepasse`;
- `st.login` (OpenID Connect) when `[auth]` is configured in the secrets, for the addresses listed in
  `[admin] allowed_emails`.

Failed passwords are counted per client in a small SQLite file shared by every session, process and
replica of the host (etl/auth/lockout.py), so neither a new session nor guesses sent at once get
more than 5 tries per 15 minutes. See docs/ADMIN.md.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from etl.auth.lockout import (  # noqa: F401 (MAX_FAILURES, LOCKOUT: used by the page's tests)
    LOCKOUT,
    MAX_FAILURES,
    LockoutUnavailable,
    SignInLockout,
    default_path,
)
from etl.auth.passwords import (  # noqa: F401 (the page and the tests use them from here)
    HashFormatError,
    check_hash_format,
    hash_password,
    hash_password_scrypt,
    verify_password,
)

HASH_ENV_VAR = "OBSERVATOIRE_ADMIN_PASSWORD_HASH"
SESSION_LIFETIME = dt.timedelta(hours=8)
_SESSION_KEY = "_admin_identity"


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
    lockout: SignInLockout,
    client: str,
    now: dt.datetime,
) -> tuple[AdminIdentity | None, str | None]:
    """Check one password attempt: (identity, None) or (None, French reason).

    The guess is counted before the password is checked, in one step shared by every session and
    replica (`SignInLockout.attempt`): guesses sent at once cannot get past the limit.
    """
    if not config.password_hash:
        return None, "La connexion par mot de passe n'est pas configurée."
    try:
        attempt = lockout.attempt(client, now)
    except LockoutUnavailable as error:
        return None, (
            "La connexion par mot de passe est indisponible : le compteur d'essais ne peut pas être "
            f"enregistré ({error}). Le service informatique doit rendre ce fichier accessible en "
            "écriture (docs/ADMIN.md, deploy/README.md § 4)."
        )
    if not attempt.allowed:
        return None, _locked_message(attempt.locked_until, now)
    if verify_password(password, config.password_hash):
        lockout.succeeded(client, attempt.ticket)
        return AdminIdentity("secretariat", "motdepasse", now), None
    if attempt.locked_until is not None:  # this wrong guess was the last one allowed
        return None, _locked_message(attempt.locked_until, now)
    return None, (
        f"Mot de passe incorrect. Encore {attempt.remaining} essai(s) avant un blocage temporaire."
    )


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
def _lockout(path: str) -> SignInLockout:
    return SignInLockout(Path(path))


def throttle() -> SignInLockout:
    """The lockout shared by every session and replica of the host (its file: `default_path`)."""
    return _lockout(str(default_path()))


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
