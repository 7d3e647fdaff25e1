"""The real PowerShell session over PSRP, with pypsrp. No Windows host is reachable here: tests
check the pipeline this builds (script and parameters as PSRP serialises them) and run the
connector against a named fake session."""

from __future__ import annotations

from typing import Any

from pypsrp.exceptions import AuthenticationError, WinRMTransportError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout as RequestsTimeout

from opsconductor.connectors.winrm import (
    DEFAULT_PORT,
    AuthenticationRefused,
    PowerShellOutput,
    UnreachableHost,
    describe_objects,
)
from opsconductor.credentials.models import Secret
from opsconductor.inventory.models import Asset


def build_pipeline(pool: RunspacePool, script: str, parameters: dict[str, Any]) -> PowerShell:
    """The script as a script command, each value as a named parameter of it."""
    shell = PowerShell(pool)
    shell.add_script(script)
    if parameters:
        shell.add_parameters(parameters)
    return shell


class PypsrpSession:
    """One runspace pool per host for the length of an execution."""

    def __init__(self, target: Asset, login: Secret, *, cert_validation: bool = True) -> None:
        address = target.hostname or target.ip_address
        if address is None:
            raise UnreachableHost("no hostname or IP address")
        self.wsman = WSMan(
            address,
            port=target.connection.port or DEFAULT_PORT,
            username=target.connection.username or login.username,
            password=login.password,
            ssl=True,
            auth="negotiate",
            cert_validation=cert_validation,
            connection_timeout=10,
        )
        self.pool: RunspacePool | None = None
        self.current: PowerShell | None = None

    def invoke(self, script: str, parameters: dict[str, str | int]) -> PowerShellOutput:
        try:
            if self.pool is None:
                self.pool = RunspacePool(self.wsman)
                self.pool.open()
            self.current = build_pipeline(self.pool, script, dict(parameters))
            output = self.current.invoke()
            errors = [str(e) for e in self.current.streams.error]
        except AuthenticationError as exc:
            raise AuthenticationRefused(f"authentication refused: {exc}") from None
        except WinRMTransportError as exc:
            if exc.code == 401:
                raise AuthenticationRefused("authentication refused") from None
            raise UnreachableHost(f"WinRM transport error {exc.code}") from None
        except (RequestsConnectionError, RequestsTimeout, OSError) as exc:
            raise UnreachableHost(f"cannot reach WinRM: {type(exc).__name__}") from None
        return PowerShellOutput(output=describe_objects(output), errors=errors)

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
