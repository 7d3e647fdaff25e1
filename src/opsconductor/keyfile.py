"""Keys kept outside the database: a setting, else a private key file made on first use.

The credential vault's key (`secret.key`) and the audit chain's key (`audit.key`) are both
found this way: the setting (32 random bytes in base64) when it is given, else the file in
`OPSCONDUCTOR_HOME`, made on first use with mode 0600. A key file that group or others may read
is refused. No message here ever shows a key."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from pathlib import Path

from pydantic import SecretStr

from opsconductor.errors import ConfigurationError

KEY_BYTES = 32
MAKE_KEY = "make one with `openssl rand -base64 32`"


def load_key(setting: SecretStr | None, source: str, path: Path) -> tuple[bytes, bool]:
    """The key of `setting` (named `source` in messages) if set, else the file at `path`,
    made on first use; and whether this call made it (the caller says what to back up)."""
    if setting is not None and setting.get_secret_value():
        return decode_key(setting.get_secret_value(), source), False
    try:
        return _read_key_file(path), False
    except FileNotFoundError:
        made = _make_key_file(path)
        return _read_key_file(path), made


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
        f"{source} is not a valid key: it must be {KEY_BYTES} random bytes in base64 ({MAKE_KEY})"
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


def _make_key_file(path: Path) -> bool:
    """Write a new random key so that no reader ever sees a half-written file: into a private
    temporary file (O_CREAT|O_EXCL, mode 0600) that is then hard-linked to `path`. Linking never
    replaces, so when two processes race, the first key wins and the other is dropped (False)."""
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
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True
