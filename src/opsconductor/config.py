"""Settings, read once from the environment (prefix ``OPSCONDUCTOR_``) by :func:`load_settings`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_HOME = Path("~/.opsconductor")


class Settings(BaseSettings):
    """Everything a process of OpsConductor needs to know; passed down, never global."""

    model_config = SettingsConfigDict(env_prefix="OPSCONDUCTOR_", extra="ignore")

    home: Path = Field(default=DEFAULT_HOME, description="Data folder of the embedded default.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; overrides the SQLite file in `home`."
    )
    # NoDecode: the environment's value reaches `_split_dirs` as text, where pydantic-settings
    # would otherwise parse a list field as JSON and fail on the documented `/a:/b` form.
    catalog_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Extra folders of toolset YAML files."
    )
    immediate_threshold_s: float = Field(
        default=30.0, gt=0, description="Plans estimated shorter than this run immediately."
    )
    auto_migrate: bool = Field(
        default=True, description="Bring the schema to the newest revision when it is opened."
    )
    max_request_chars: int = Field(default=2000, ge=16, le=100_000)
    global_concurrency: int = Field(default=50, ge=1, le=10_000)
    output_limit_bytes: int = Field(default=1024 * 1024, ge=1024)
    embedded_worker: bool = Field(
        default=True,
        description="`opsconductor serve` also runs queued background executions in-process.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://host:port/db: background executions go through Redis to "
        "`opsconductor worker` processes on any machine, and live events to every API replica. "
        "May hold a password: it is never logged.",
    )
    redis_prefix: str = Field(
        default="opsconductor",
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="Start of every Redis key and stream this installation uses, so that "
        "several installations (or test runs) share one Redis without meeting.",
    )
    queue_resend_s: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="A queued execution no worker claimed this long after its message was sent "
        "is sent again (the message was lost: a crash before sending, a Redis restart).",
    )
    conversation_ttl_s: float = Field(
        default=1800, gt=0, description="A conversation idle this long starts afresh."
    )
    approval_ttl_s: dict[int, int] = Field(
        default_factory=lambda: {1: 15 * 60, 2: 4 * 3600, 3: 3600},
        description="How long an approval request stays open, by level.",
    )
    level3_one_approver_may_approve_all: bool = Field(
        default=True,
        description="Level 3: one approver may approve every step (never the requester); "
        "false asks for a different approver at each step.",
    )

    heartbeat_s: float = Field(
        default=5.0, gt=0, le=3600, description="How often a worker renews the lease it holds."
    )
    lease_s: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="A running execution whose lease is this old is taken over by any live "
        "process; its in-flight changes become `interrupted`.",
    )
    shutdown_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=86_400,
        description="On SIGTERM, how long running steps may finish before they are stopped.",
    )
    store_retry_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long a worker retries a write the database refused (outage) before "
        "it gives the execution up to the lease.",
    )

    known_hosts: Path | None = Field(
        default=None, description="OpenSSH known_hosts file of trusted host keys."
    )
    ssh_trust_on_first_use: bool = Field(
        default=False,
        description="Trust and record an SSH host key never seen before (audited). Off: strict.",
    )
    ssh_connect_timeout_s: float = Field(default=10.0, gt=0, le=600)

    approval_webhook_url: SecretStr | None = Field(
        default=None,
        description="POST a Slack-compatible JSON message here when a plan waits for approval. "
        "Often holds a secret in its path: it is never logged.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where people reach this server; links in notifications start with it.",
    )

    secret_key: SecretStr | None = Field(
        default=None,
        description="32 random bytes in base64 that seal credentials at rest; without it, a key "
        "file `secret.key` in `home` is made on first use (mode 0600).",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="32 random bytes in base64 that key the audit trail's HMAC chain; without "
        "it, a key file `audit.key` in `home` is made on first use (mode 0600). Keep it out of "
        "the database's reach: whoever holds it can rewrite the trail undetected.",
    )

    brain: Literal["rules", "llm"] = Field(
        default="rules", description="Which brain reads requests: the embedded rules, or a model."
    )
    llm_base_url: str | None = Field(
        default=None, description="An OpenAI-compatible API base, e.g. http://127.0.0.1:11434/v1."
    )
    llm_model: str | None = Field(default=None, description="The model name the server knows.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="Sent as a bearer token to the model server; never logged."
    )
    llm_timeout_s: float = Field(default=20.0, gt=0, le=600)
    llm_fallback: Literal["rules", "fail"] = Field(
        default="rules",
        description="When the model cannot be used: read the request by the rules, or fail.",
    )

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("catalog_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        # The shell-friendly "a:b" form, and a JSON list for paths that hold a colon.
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except ValueError:
                pass  # then it is a path that starts with "[", split like any other
        return [part for part in value.split(":") if part.strip()]

    @property
    def known_hosts_file(self) -> Path:
        return self.known_hosts.expanduser() if self.known_hosts else self.home / "known_hosts"

    @property
    def secret_key_file(self) -> Path:
        """Where the credential key lives when `secret_key` is not set."""
        return self.home / "secret.key"

    @property
    def audit_key_file(self) -> Path:
        """Where the audit chain's key lives when `audit_key` is not set."""
        return self.home / "audit.key"

    @property
    def effective_database_url(self) -> str:
        """The URL the store connects to: the explicit one, else the SQLite file in `home`."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.home / 'opsconductor.db'}"


def normalize_database_url(url: str) -> str:
    """Map the URL spellings people use to the async drivers OpsConductor ships with."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
