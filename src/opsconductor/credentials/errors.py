"""The credential branch of the error tree (`opsconductor.errors` holds the rest).

    OpsConductorError
    └── CredentialError             a credential that cannot be stored, found, removed or opened
        ├── CredentialNotFound
        ├── CredentialInUse         removal refused while assets refer to it (names them)
        └── CredentialUnreadable    sealed with another key, or its stored data was altered

A missing, malformed or too widely readable key is a `ConfigurationError`. No message ever
holds a secret value."""

from __future__ import annotations

from opsconductor.errors import OpsConductorError


class CredentialError(OpsConductorError):
    pass


class CredentialNotFound(CredentialError):
    pass


class CredentialInUse(CredentialError):
    pass


class CredentialUnreadable(CredentialError):
    pass
