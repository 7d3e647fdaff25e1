"""The SSH connector (asyncssh): host keys checked strictly, one connection per host reused by
every step of an execution, the catalog argv joined with shlex.join, remote processes killed
on timeout and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shlex
from collections.abc import Awaitable, Callable
from typing import Any

import asyncssh

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, ErrorKind, OutputCallback
from opsconductor.connectors.known_hosts import KnownHosts, TrustedKey
from opsconductor.connectors.output import CappedOutput, LiveOutput
from opsconductor.credentials.masking import Masker
from opsconductor.credentials.models import Secret
from opsconductor.credentials.run_secrets import RunSecrets
from opsconductor.inventory.models import Asset

logger = logging.getLogger(__name__)

TrustHook = Callable[[Asset, TrustedKey], Awaitable[None]]


class _Refused(Exception):
    """A connection attempt that ended in a known way; carries the error kind."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class SshConnector:
    """Opened per execution and closed at its end, so connections never outlive their run.

    Logs in with the run's secrets and masks all of the vault's secrets in every output: the
    stored copy whole, the live stream (`on_output`) as it arrives."""

    def __init__(
        self,
        known_hosts: KnownHosts,
        secrets: RunSecrets,
        *,
        trust_on_first_use: bool = False,
        on_trust: TrustHook | None = None,
        output_limit_bytes: int = 1024 * 1024,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.known_hosts = known_hosts
        self.secrets = secrets
        self.trust_on_first_use = trust_on_first_use
        self.on_trust = on_trust
        self.output_limit = output_limit_bytes
        self.connect_timeout_s = connect_timeout_s
        self._connections: dict[str, asyncssh.SSHClientConnection] = {}
        self._failures: dict[str, _Refused] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def run(
        self,
        target: Asset,
        command: Command,
        *,
        timeout_s: float,
        ok_exit_codes: frozenset[int] = frozenset({0}),
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        if command.script is not None:
            return CommandResult(
                exit_code=None,
                error_kind=ErrorKind.NO_CONNECTOR,
                error="PowerShell scripts run over WinRM, not SSH",
            )
        masker = await self.secrets.masker()
        try:
            async with asyncio.timeout(timeout_s):
                connection = await self._connection(target)
        except _Refused as refused:
            return CommandResult(exit_code=None, error_kind=refused.kind, error=str(refused))
        except TimeoutError:
            return _unreachable(target, f"no connection within {timeout_s:g} s")
        run = _RemoteRun(self.output_limit, masker, on_output)
        return await self._execute(connection, target, command.argv, timeout_s, ok_exit_codes, run)

    async def close(self) -> None:
        connections, self._connections = self._connections, {}
        for connection in connections.values():
            connection.close()
        for connection in connections.values():
            with contextlib.suppress(Exception):
                await connection.wait_closed()

    async def _connection(self, target: Asset) -> asyncssh.SSHClientConnection:
        lock = self._locks.setdefault(target.name, asyncio.Lock())
        async with lock:  # concurrent steps on one host share one connection
            if target.name in self._failures:
                raise self._failures[target.name]
            connection = self._connections.get(target.name)
            if connection is None or connection.is_closed():
                try:
                    connection = await self._connect(target)
                except _Refused as refused:
                    self._failures[target.name] = refused
                    raise
                self._connections[target.name] = connection
            return connection

    async def _connect(self, target: Asset) -> asyncssh.SSHClientConnection:
        address = target.ip_address or target.hostname
        if not address:
            raise _Refused(ErrorKind.UNREACHABLE, f"{target.name} has no IP address or hostname")
        port = target.connection.port or 22
        login = await self.secrets.login(target.connection.credential)
        policy = self.known_hosts.policy(address, port)
        if policy is None and not self.trust_on_first_use:
            raise _Refused(
                ErrorKind.HOST_KEY_MISMATCH,
                f"{target.name}: no trusted host key for {address}:{port}; add it to the "
                "known hosts file or allow trust on first use",
            )
        options = _options(target, login, policy, self.connect_timeout_s)
        try:
            connection = await asyncio.wait_for(
                asyncssh.connect(address, port, **options), self.connect_timeout_s
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise _Refused(
                ErrorKind.HOST_KEY_MISMATCH,
                f"{target.name}: host key does not match the trusted one ({exc.reason})",
            ) from None
        except asyncssh.PermissionDenied:
            user = options.get("username") or "default user"
            raise _Refused(
                ErrorKind.AUTH_FAILED, f"{target.name}: authentication refused for {user}"
            ) from None
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise _Refused(ErrorKind.UNREACHABLE, f"{target.name}: {_describe(exc)}") from None
        if policy is None:
            await self._record_first_use(target, address, port, connection)
        return connection

    async def _record_first_use(
        self, target: Asset, address: str, port: int, connection: asyncssh.SSHClientConnection
    ) -> None:
        key = connection.get_server_host_key()
        if key is None:
            raise _Refused(ErrorKind.HOST_KEY_MISMATCH, f"{target.name}: no host key offered")
        trusted = await self.known_hosts.trust(address, port, key)
        logger.warning("trusting %s on first use: %s", target.name, trusted.fingerprint)
        if self.on_trust is not None:
            await self.on_trust(target, trusted)

    async def _execute(
        self,
        connection: asyncssh.SSHClientConnection,
        target: Asset,
        argv: tuple[str, ...],
        timeout_s: float,
        ok_exit_codes: frozenset[int],
        run: _RemoteRun,
    ) -> CommandResult:
        process: asyncssh.SSHClientProcess[bytes] | None = None
        try:
            async with asyncio.timeout(timeout_s):
                process = await connection.create_process(remote_command(argv), encoding=None)
                process.stdin.write_eof()
                await asyncio.gather(
                    run.pump_stdout(process.stdout), run.pump_stderr(process.stderr)
                )
                completed = await process.wait(check=False)
        except TimeoutError:
            await _kill(connection, process, run.pids)
            await run.live.close()  # followers get what was held back, as the stored copy has it
            return run.result(
                None,
                ErrorKind.TIMEOUT,
                f"{target.name}: ran past its {timeout_s:g} s timeout and was killed",
            )
        except asyncio.CancelledError:
            await asyncio.shield(_kill(connection, process, run.pids))
            raise
        except (OSError, asyncssh.Error) as exc:
            return _unreachable(target, f"connection lost: {_describe(exc)}")
        exit_code = completed.exit_status if completed.exit_status is not None else -1
        if exit_code in ok_exit_codes:
            return run.result(exit_code, None, None)
        detail = run.mask(run.stderr.text()).strip()[:500]
        return run.result(exit_code, ErrorKind.NON_ZERO_EXIT, f"exit code {exit_code}: {detail}")


# Fixed text, never built from request values: those reach the host only as the positional
# arguments "$@". It reports its own pid (the session's process group, since sshd starts a new
# session and the login shell execs it) and the command's, so a timeout or a cancel can kill the
# command and everything it started: OpenSSH does not deliver signals sent over the channel, and
# closing the channel kills nothing.
_GROUP_WRAPPER = '"$@" & pid=$!; printf "\\036oc-pid=%s:%s\\036\\n" "$$" "$pid" >&2; wait "$pid"'
_PID_MARKER = re.compile(rb"\x1eoc-pid=(\d+):(\d+)\x1e\n")


def remote_command(argv: tuple[str, ...]) -> str:
    """The string sshd hands to the login shell: every argument quoted by shlex.join."""
    return shlex.join(["sh", "-c", _GROUP_WRAPPER, "opsconductor", *argv])


class _RemoteRun:
    """Output of one remote command, capped and masked, with the wrapper's report taken out."""

    def __init__(self, limit: int, mask: Masker, on_output: OutputCallback | None) -> None:
        self.stdout = CappedOutput(limit)
        self.stderr = CappedOutput(limit)
        self.mask = mask
        self.live = LiveOutput(mask, on_output)
        self.pids: tuple[int, int] | None = None  # the wrapper (group leader), the command
        self._head = b""

    async def pump_stdout(self, stream: asyncssh.SSHReader[bytes]) -> None:
        while chunk := await stream.read(65536):
            kept = self.stdout.add(chunk)
            if kept:
                await self.live.add(kept)
        await self.live.close()

    async def pump_stderr(self, stream: asyncssh.SSHReader[bytes]) -> None:
        while chunk := await stream.read(65536):
            if self.pids is None:
                # The report is one short write, but may share a read with the command's own.
                self._head += chunk
                found = _PID_MARKER.search(self._head)
                if found is None and len(self._head) < 4096:
                    continue
                chunk, self._head = self._head, b""
                if found is not None:
                    self.pids = (int(found.group(1)), int(found.group(2)))
                    chunk = chunk[: found.start()] + chunk[found.end() :]
            self.stderr.add(chunk)
        if self._head:
            self.stderr.add(self._head)

    def result(
        self, exit_code: int | None, kind: ErrorKind | None, error: str | None
    ) -> CommandResult:
        return CommandResult(
            exit_code=exit_code,
            stdout=self.mask(self.stdout.text()),
            stderr=self.mask(self.stderr.text()),
            error_kind=kind,
            error=error,
            truncated=self.stdout.truncated,
        )


def _options(target: Asset, login: Secret | None, policy: Any, timeout_s: float) -> dict[str, Any]:
    options: dict[str, Any] = {
        "known_hosts": policy,
        "username": target.connection.username or (login.username if login else None),
        "connect_timeout": timeout_s,
    }
    if login is None:
        return {k: v for k, v in options.items() if v is not None or k == "known_hosts"}
    if login.private_key is not None:
        key = asyncssh.import_private_key(login.private_key, login.passphrase)
        options["client_keys"] = [key]
        options["agent_path"] = None
    if login.password is not None:
        options["password"] = login.password
        options.setdefault("client_keys", None)
    return options


async def _kill(
    connection: asyncssh.SSHClientConnection,
    process: asyncssh.SSHClientProcess[bytes] | None,
    pids: tuple[int, int] | None,
) -> None:
    """Kill the command's process group on the host (or the two processes, when the wrapper
    turned out not to lead its group), then close the channel."""
    if pids is not None:
        group, child = pids
        # Only integers from the wrapper's report are spliced in; nothing from a request.
        kill = f"kill -KILL -- -{group} 2>/dev/null || kill -KILL {child} {group}"
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.run(kill, check=False), 10)
    if process is not None:
        with contextlib.suppress(Exception):
            process.close()


def _unreachable(target: Asset, why: str) -> CommandResult:
    return CommandResult(
        exit_code=None, error_kind=ErrorKind.UNREACHABLE, error=f"{target.name}: {why}"
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__
