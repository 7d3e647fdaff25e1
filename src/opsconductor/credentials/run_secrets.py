"""The vault's secrets as one execution sees them: opened together on first need, each
decrypted once for the run, used for logins and masked in all output of the run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from opsconductor.credentials.errors import CredentialNotFound, CredentialUnreadable
from opsconductor.credentials.masking import Masker
from opsconductor.credentials.models import Secret


@dataclass(frozen=True, repr=False)
class OpenedCredentials:
    """Every credential of the vault: the secrets by name, and why the others did not open."""

    secrets: Mapping[str, Secret] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        names, unreadable = sorted(self.secrets), sorted(self.unreadable)
        return f"OpenedCredentials(secrets={names}, unreadable={unreadable})"


CredentialsLoader = Callable[[], Awaitable[OpenedCredentials]]


class RunSecrets:
    """Shared by the connectors of one execution. The loader runs once, when the first command
    or login needs it; until then nothing is decrypted (and a run that needs neither a login
    nor output masking never opens the vault)."""

    def __init__(self, load: CredentialsLoader | None = None) -> None:
        self._load = load
        self._loading: asyncio.Future[OpenedCredentials] | None = None
        self._opened: OpenedCredentials | None = None
        self._masker: Masker | None = None

    @classmethod
    def of(cls, secrets: Mapping[str, Secret]) -> RunSecrets:
        """Secrets already in the clear (a fixed set, as a test or a one-off tool has them)."""
        opened = OpenedCredentials(dict(secrets))

        async def load() -> OpenedCredentials:
            return opened

        return cls(load)

    async def _credentials(self) -> OpenedCredentials:
        """Hosts that start together share the one load and all resume as it ends (a lock
        would wake them one event-loop turn apart, and fifty hosts would start connecting
        fifty turns apart); once open, nobody waits at all."""
        if self._opened is not None:
            return self._opened
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._open())
        loading = self._loading
        try:
            return await asyncio.shield(loading)
        except BaseException:
            if loading.done() and self._loading is loading:
                self._loading = None  # a load that failed is tried again by the next caller
            raise

    async def _open(self) -> OpenedCredentials:
        opened = await self._load() if self._load else OpenedCredentials()
        self._masker = Masker.of(opened.secrets.values())
        self._opened = opened
        return opened

    async def login(self, name: str | None) -> Secret | None:
        """The secret of credential `name` (None: the asset names none).

        Raises `CredentialNotFound`, or `CredentialUnreadable` when the key does not open it."""
        if name is None:
            return None
        opened = await self._credentials()
        if name in opened.unreadable:
            raise CredentialUnreadable(opened.unreadable[name])
        secret = opened.secrets.get(name)
        if secret is None:
            raise CredentialNotFound(f"no credential named {name!r}")
        return secret

    async def masker(self) -> Masker:
        """Masks every secret of the vault, whichever credentials this run logs in with."""
        await self._credentials()
        assert self._masker is not None
        return self._masker

    def __repr__(self) -> str:
        return "RunSecrets(***)"
