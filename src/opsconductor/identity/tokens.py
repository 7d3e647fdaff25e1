"""API tokens as text: made, taken apart and checked. No database here.

A token reads `oct_<id>_<secret>`. The id (12 letters and digits) is public: it is the lookup
key, shown in listings and audit events, and named to revoke a token. The secret (32 random
bytes, URL-safe base64) is shown once, when the token is made; the store keeps only its SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

PREFIX = "oct_"
ID_CHARS = 12
SECRET_BYTES = 32
_ID_ALPHABET = string.ascii_letters + string.digits  # no `_`: the id ends at the first one
_SECRET_CHARS = len(secrets.token_urlsafe(SECRET_BYTES))  # 43
MAX_TOKEN_CHARS = len(PREFIX) + ID_CHARS + 1 + _SECRET_CHARS
_ID = re.compile(f"[A-Za-z0-9]{{{ID_CHARS}}}")
_SECRET = re.compile(f"[A-Za-z0-9_-]{{{_SECRET_CHARS}}}")


@dataclass(frozen=True, repr=False)
class NewToken:
    """A token just made: `plaintext` goes to its owner once, `secret_sha256` to the store.

    Its repr names the id only, so that a log line or a traceback that shows it shows no secret.
    """

    id: str
    plaintext: str
    secret_sha256: str

    def __repr__(self) -> str:
        return f"NewToken(id={self.id!r}, plaintext=***)"

    __str__ = __repr__


def new_token() -> NewToken:
    token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_CHARS))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return NewToken(token_id, f"{PREFIX}{token_id}_{secret}", hash_secret(secret))


def parse_token(token: object) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token; None for anything else, whatever it is."""
    if not isinstance(token, str) or len(token) != MAX_TOKEN_CHARS or not token.startswith(PREFIX):
        return None
    token_id, separator, secret = token[len(PREFIX) :].partition("_")
    if separator != "_" or not _ID.fullmatch(token_id) or not _SECRET.fullmatch(secret):
        return None
    return token_id, secret


def is_token_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def hash_secret(secret: str) -> str:
    # A fast hash is right here, unlike for passwords: the secret is 256 random bits, so there
    # is no dictionary to try and nothing a slow hash (bcrypt, scrypt) would protect further;
    # and every API request checks one, where a slow hash would cost tens of milliseconds.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, secret_sha256: str) -> bool:
    """Whether `secret` hashes to the stored hash, in time independent of where they differ."""
    return hmac.compare_digest(hash_secret(secret), secret_sha256)
