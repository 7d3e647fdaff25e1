"""The exceptions OpsConductor raises. Expected outcomes (a command that exits 2, an unknown host
in a request) are values, not exceptions; these are for bad input at an edge, bad configuration,
broken invariants and unreachable infrastructure.

    OpsConductorError
    ├── ConfigurationError          settings or environment that cannot work
    ├── DatabaseUnavailable         the store's database cannot be reached
    ├── BrainUnavailable            the LLM brain failed and its fallback is 'fail'
    ├── CatalogError                a toolset file that does not validate (names file and tool)
    ├── InventoryError              an inventory operation that cannot be done
    │   ├── ImportRejected          an import file with a bad row (names row and field)
    │   └── AssetNotFound
    ├── ValidationFailed            a parameter value that fails its type or pattern
    ├── NotFound                    an execution, approval or step that does not exist
    ├── ApprovalError               an approval that cannot be given
    │   ├── NotPermitted            the actor's role does not allow this decision
    │   ├── SelfApprovalForbidden   four-eyes: the requester approving their own plan
    │   ├── ApprovalExpired
    │   ├── PlanChanged             the plan's hash differs from the approved one
    │   └── ApprovalAlreadyDecided
    ├── InvalidTransition           a state change the transition table does not allow
    └── LeaseLost                   a worker's lease was taken over: its writes are refused

A connector never raises for what happens on a host (unreachable, refused, timed out): those
are `CommandResult` values with an `ErrorKind`.
"""

from __future__ import annotations


class OpsConductorError(Exception):
    """Base of every error OpsConductor raises on purpose."""


class ConfigurationError(OpsConductorError):
    pass


class DatabaseUnavailable(OpsConductorError):
    """The database did not answer; the message names where it was looked for, never a
    password."""


class QueueUnavailable(OpsConductorError):
    """Redis (OPSCONDUCTOR_REDIS_URL) cannot be reached or read."""


class BrainUnavailable(OpsConductorError):
    """The language model could not be used and the settings say to fail closed: nothing was
    planned. The message never holds the API key."""


class CatalogError(OpsConductorError):
    pass


class InventoryError(OpsConductorError):
    pass


class ImportRejected(InventoryError):
    pass


class AssetNotFound(InventoryError):
    pass


class ValidationFailed(OpsConductorError):
    pass


class NotFound(OpsConductorError):
    pass


class ApprovalError(OpsConductorError):
    pass


class NotPermitted(ApprovalError):
    pass


class SelfApprovalForbidden(ApprovalError):
    pass


class ApprovalExpired(ApprovalError):
    pass


class PlanChanged(ApprovalError):
    pass


class ApprovalAlreadyDecided(ApprovalError):
    pass


class InvalidTransition(OpsConductorError):
    pass


class LeaseLost(OpsConductorError):
    """Raised inside a worker whose lease on an execution another process took over; the
    write it tried is rolled back and the worker stops that execution."""
