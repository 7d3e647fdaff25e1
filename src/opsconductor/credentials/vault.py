"""The key that seals credentials at rest, and the sealing itself.

AES-256-GCM (from `cryptography`) rather than Fernet, for two things Fernet cannot do:

* associated data: each sealed secret is bound to its credential's name, kind and username, so
  a ciphertext copied onto another row, or a row relabelled in the database, does not open;
* a clear diagnosis: each sealed value starts with a short identifier of its key (an HMAC of a
  fixed label, which reveals nothing of the key), so "sealed with another key" is told apart
  from "altered", and neither ends in a traceback.

Nonces are 96 random bits: safe for far more secrets than a vault ever seals under one key.

The key is `Settings.secret_key` (`OPSCONDUCTOR_SECRET_KEY`: 32 random bytes in base64), else
the file `secret.key` in `OPSCONDUCTOR_HOME`, made on first use with mode 0600 (`keyfile`, which
finds the audit chain's key the same way). Machines that share one database must share one key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
from typing import TYPE_CHECKING

from opsconductor import keyfile
from opsconductor.config import Settings
from opsconductor.credentials.errors import CredentialUnreadable
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

logger = logging.getLogger(__name__)

KEY_BYTES = keyfile.KEY_BYTES
_NONCE_BYTES = 12
_KEY_ID_BYTES = 8
_FORMAT = "v1"


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
    path = settings.secret_key_file
    key, made = keyfile.load_key(settings.secret_key, "OPSCONDUCTOR_SECRET_KEY", path)
    if made:
        logger.warning(
            "made a new credential key in %s: back it up, stored credentials cannot be opened "
            "without it",
            path,
        )
    return key
