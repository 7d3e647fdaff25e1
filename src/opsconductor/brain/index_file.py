"""The inventory index's assets kept in a file of the user's home, so that a command line
process (`opsconductor ask`) need not read every asset from the store to build its index.

The file is a cache and nothing more: it is used only when it names the same store, the same
inventory revision (`store.revision`), the same format and the same index code as the reader
(the code is `brain/index.py`, by a hash of its text, so a change to what an AssetKey holds
never reads an older file), and only when every value in it has the type an AssetKey field
takes. Anything else (no file, another revision, a torn or edited file) reads as no file and
the index is built from the store. It is JSON, private to the user (0600), and replaced whole
(written beside it, then renamed over it), so a reader sees the old file or the new one."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from opsconductor.brain import index
from opsconductor.brain.index import AssetKey

logger = logging.getLogger(__name__)

FORMAT = 1
FILE_NAME = "inventory-index.json"

# How many values a row of the file holds: an AssetKey's fields, in their order.
_FIELDS = 11


class IndexFile:
    """The cached assets of one home (`cache/inventory-index.json` under it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_home(cls, home: Path) -> IndexFile:
        return cls(home / "cache" / FILE_NAME)

    def load(self, store_id: str, revision: int) -> list[AssetKey] | None:
        """The assets kept for this store and revision, or None when the file has no such."""
        try:
            document = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("key") != _key(store_id, revision):
            return None
        rows = document.get("assets")
        if not isinstance(rows, list):
            return None
        assets: list[AssetKey] = []
        for row in rows:
            asset = _asset(row)
            if asset is None:
                return None
            assets.append(asset)
        return assets

    def save(self, store_id: str, revision: int, assets: list[AssetKey]) -> None:
        """Keep the assets for this store and revision; a file that cannot be written is
        left as it was (the next process builds its index from the store)."""
        document = {
            "key": _key(store_id, revision),
            "assets": [_row(asset) for asset in assets],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # mkstemp makes the file 0600 and its own: never readable by others, not even
            # before the rename puts it in place.
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".index-")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    # One string, one write: json.dump writes piece by piece, ten times slower.
                    file.write(json.dumps(document, separators=(",", ":")))
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except (OSError, TypeError, ValueError) as exc:
            logger.debug("inventory index not kept in %s: %s", self.path, exc)


def _key(store_id: str, revision: int) -> list[object]:
    return [FORMAT, index_code_version(), store_id, revision]


@cache
def index_code_version() -> str:
    """A hash of the index module's text: the shape of what the file holds."""
    try:
        text = Path(index.__file__).read_bytes()
    except (OSError, TypeError):
        return "unknown"  # no file to read (a frozen build): a key no file written here has
    return hashlib.sha256(text).hexdigest()[:16]


def _row(asset: AssetKey) -> list[object]:
    return [
        asset.name,
        asset.hostname,
        asset.ip_address,
        asset.os_type,
        asset.device_type,
        asset.environment,
        list(asset.tags),
        asset.location,
        list(asset.services),
        asset.owner,
        asset.facts,
    ]


def _asset(row: Any) -> AssetKey | None:
    """The AssetKey of one row of the file, or None when any value is not of its field's type.
    (Checked by plain comparisons, not generators: a file holds every asset of the fleet.)"""
    if type(row) is not list or len(row) != _FIELDS:
        return None
    name, host, ip, os_type, device, env, tags, location, services, owner, facts = row
    if (
        type(name) is str
        and type(os_type) is str
        and type(device) is str
        and (host is None or type(host) is str)
        and (ip is None or type(ip) is str)
        and (env is None or type(env) is str)
        and (location is None or type(location) is str)
        and (owner is None or type(owner) is str)
        and _strings(tags)
        and _strings(services)
        and (facts is None or type(facts) is dict)
    ):
        return AssetKey(
            name,
            host,
            ip,
            os_type,
            device,
            env,
            tuple(tags),
            location,
            tuple(services),
            owner,
            facts,
        )
    return None


def _strings(value: object) -> bool:
    if type(value) is not list:
        return False
    try:
        "".join(value)  # in C: a TypeError at the first item that is not a str
    except TypeError:
        return False
    return True
