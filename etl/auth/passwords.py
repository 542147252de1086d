"""Password hashes for the Administration page: salted PBKDF2-SHA256 or scrypt, checked in constant time.

`observatoire motdepasse` (or `python -m etl.auth.passwords`) prints the hash that the dashboard is
given (docs/ADMIN.md); the password itself is written nowhere. No Streamlit here: the command line
imports this module.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import secrets
import sys

PBKDF2_ITERATIONS = 600_000  # OWASP 2023 recommendation for PBKDF2-HMAC-SHA256
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


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


if __name__ == "__main__":  # python -m etl.auth.passwords [--scrypt]
    try:
        print(prompt_and_hash("scrypt" if "--scrypt" in sys.argv else "pbkdf2"))
    except ValueError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        sys.exit(1)
