"""The identity branch of the error tree (`opsconductor.errors` holds the rest).

    OpsConductorError
    ├── IdentityError               a user or token that cannot be created or changed:
    │                               a bad or taken name, a bad label or expiry, a disabled user
    └── NotFound                    (from opsconductor.errors) an unknown user or token id

A refused token is not an error: `authenticate` returns None. No message ever holds a token."""

from __future__ import annotations

from opsconductor.errors import OpsConductorError


class IdentityError(OpsConductorError):
    pass
