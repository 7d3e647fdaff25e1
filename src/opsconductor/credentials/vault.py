"""The key that seals credentials at rest, and the sealing itself.

AES-256-GCM (from `cryptography`) rather than Fernet, for two things Fernet cannot do:

* associated data: each sealed secret is bound to its credential's name, kind and username, so
  a ciphertext copied onto another row, or a row relabelled in the database, does not open;
* a clear diagnosis: each sealed value starts with a short identifier of its key (an HMAC of a
  fixed label, which reveals nothing of the key), so "sealed with another key" is told apart
  from "altered", and neither ends in a traceback.

Nonces are 96 random bits: safe for far more secrets than a vault ever seals under one key.

The key is `Settings.secret_key` (`OPSCONDUCTOR_SECRET_KEY`: 32 random bytes in base64), else
the file `secret.key` in `OPSCONDUCTOR_HOME`, made on first use with mode 0600. A key file that
group or others may read is refused. Machines that share one database must share one key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from opsconductor.config import Settings
from opsconductor.credentials.errors import CredentialUnreadable
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

logger = logging.getLogger(__name__)

KEY_BYTES = 32
_NONCE_BYTES = 12
_KEY_ID_BYTES = 8
_FORMAT = "v1"
_MAKE_KEY = "make one with `openssl rand -base64 32`"


class Vault:
    """Seals and opens credential secrets with one key; its repr shows only the key's id."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigurationError(f"a vault key is {KEY_BYTES} bytes, not {len(key)}")
        # cryptography is imported here, not at the top: a command that never opens a
        # credential (most `ask`s) should not pay for loading it.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead: AESGCM = AESGCM(key)
        self._key_id = hmac.new(key, b"opsconductor vault key id", hashlib.sha256).digest()[
            :_KEY_ID_BYTES
        ]

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        """The vault of the configured key, making the key file if there is neither."""
        return cls(load_key(settings))

    @property
    def key_id(self) -> str:
        return self._key_id.hex()

    def __repr__(self) -> str:
        return f"Vault(key_id={self.key_id})"

    def seal(self, name: str, secret: Secret) -> str:
        """The secret parts of `secret`, encrypted and bound to `name`, kind and username."""
        payload = json.dumps(
            {
                "password": secret.password,
                "private_key": secret.private_key,
                "passphrase": secret.passphrase,
            }
        ).encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, payload, _bound(name, secret.kind, secret.username))
        return f"{_FORMAT}:" + base64.b64encode(self._key_id + nonce + sealed).decode()

    def open(self, name: str, sealed: str, *, kind: CredentialKind, username: str) -> Secret:
        """The secret sealed by :meth:`seal`; `CredentialUnreadable` when it cannot be opened."""
        version, _, body = sealed.partition(":")
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            raw = b""
        if version != _FORMAT or len(raw) <= _KEY_ID_BYTES + _NONCE_BYTES:
            raise CredentialUnreadable(f"cannot decrypt credential {name!r}: not a sealed secret")
        key_id, rest = raw[:_KEY_ID_BYTES], raw[_KEY_ID_BYTES:]
        if not hmac.compare_digest(key_id, self._key_id):
            raise CredentialUnreadable(
                f"cannot decrypt credential {name!r}: the secret key does not match "
                f"(it was sealed with key {key_id.hex()}, this is key {self.key_id})"
            )
        from cryptography.exceptions import InvalidTag

        try:
            payload = self._aead.decrypt(
                rest[:_NONCE_BYTES], rest[_NONCE_BYTES:], _bound(name, kind, username)
            )
        except InvalidTag:
            raise CredentialUnreadable(
                f"cannot decrypt credential {name!r}: its stored data was altered or belongs "
                "to another credential"
            ) from None
        values = json.loads(payload)
        return Secret(kind=kind, username=username, **values)


def _bound(name: str, kind: CredentialKind, username: str) -> bytes:
    return json.dumps(["opsconductor credential", name, kind.value, username]).encode()


def load_key(settings: Settings) -> bytes:
    """The configured key: `secret_key` if set, else the key file, made on first use."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return decode_key(settings.secret_key.get_secret_value(), "OPSCONDUCTOR_SECRET_KEY")
    path = settings.secret_key_file
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        _make_key_file(path)
        return _read_key_file(path)


def decode_key(text: str, source: str) -> bytes:
    """32 bytes from their base64 form (standard or URL-safe); the message never shows it."""
    for altchars in (None, b"-_"):
        try:
            key = base64.b64decode(text.strip().encode("ascii"), altchars, validate=True)
        except (binascii.Error, UnicodeEncodeError):
            continue
        if len(key) == KEY_BYTES:
            return key
    raise ConfigurationError(
        f"{source} is not a valid key: it must be {KEY_BYTES} random bytes in base64 ({_MAKE_KEY})"
    )


def _read_key_file(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigurationError(f"key file {path} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise ConfigurationError(
                f"key file {path} may be read by group or others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}): refusing to use it; if nobody else could "
                f"have read it, run `chmod 600 {path}`"
            )
        data = os.read(fd, 1024)
    finally:
        os.close(fd)
    return decode_key(data.decode("ascii", errors="replace"), f"key file {path}")


def _make_key_file(path: Path) -> None:
    """Write a new random key so that no reader ever sees a half-written file: into a private
    temporary file (O_CREAT|O_EXCL, mode 0600) that is then hard-linked to `path`. Linking never
    replaces, so when two processes race, the first key wins and the other is dropped."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = base64.b64encode(os.urandom(KEY_BYTES)) + b"\n"
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return
    finally:
        temporary.unlink(missing_ok=True)
    logger.warning(
        "made a new credential key in %s: back it up, stored credentials cannot be opened "
        "without it",
        path,
    )
