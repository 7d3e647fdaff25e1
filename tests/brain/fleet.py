"""A small inventory of our own for the brain's tests: every qualifier kind has members and
non-members, so a dropped qualifier changes the answer and shows."""

from __future__ import annotations

from opsconductor.brain.index import AssetKey, InventoryIndex

# name, os_type, device_type, environment, tags, ip — hostnames are "<name>.corp.example".
_ROWS: list[tuple[str, str, str, str | None, tuple[str, ...], str | None]] = [
    ("web-01", "linux", "server", "production", ("web", "frontend"), "10.1.1.11"),
    ("web-02", "linux", "server", "production", ("web", "frontend"), "10.1.1.12"),
    ("web-stg-01", "linux", "server", "staging", ("web",), "10.2.1.11"),
    ("app-01", "linux", "server", "production", ("app",), "10.1.2.21"),
    ("app-02", "linux", "server", "production", ("app",), "10.1.2.22"),
    ("app-stg-01", "linux", "server", "staging", ("app",), "10.2.2.21"),
    ("app-stg-02", "linux", "server", "staging", ("app",), "10.2.2.22"),
    ("db-01", "linux", "server", "production", ("database", "postgres"), "10.1.3.31"),
    ("pg-03", "linux", "server", "production", ("database", "postgres"), "10.1.3.33"),
    ("mon-01", "linux", "server", "production", ("monitoring",), "10.1.2.3"),
    ("ci-runner-07", "linux", "server", "staging", ("ci",), "10.2.9.7"),
    ("lnx-dr-01", "linux", "server", "dr", ("backup",), "10.8.0.10"),
    ("win-dev-01", "windows", "server", "development", ("iis",), "10.3.0.11"),
    ("win-dev-02", "windows", "server", "development", (), "10.3.0.12"),
    ("win-prod-01", "windows", "server", "production", ("iis",), "10.1.4.11"),
    ("dc-01", "windows", "server", "production", ("ad",), "10.1.4.2"),
    ("ws-101", "windows", "workstation", None, ("office",), "10.5.0.101"),
    ("ws-102", "windows", "workstation", None, ("office",), "10.5.0.102"),
    ("ws-103", "windows", "workstation", None, ("office",), "10.5.0.103"),
    ("mac-201", "macos", "workstation", None, ("office",), "10.5.0.201"),
    ("sw-core-01", "network", "switch", "production", ("core",), "10.1.0.2"),
    ("sw-core-02", "network", "switch", "production", ("core",), "10.1.0.3"),
    ("sw-lab-01", "network", "switch", "lab", (), "10.9.0.2"),
    ("edge-fw-2", "network", "firewall", "production", ("edge",), "10.1.0.1"),
    ("nas-01", "other", "storage", "production", ("backup",), "10.1.5.1"),
]


def asset_rows() -> list[dict[str, object]]:
    """The fleet as inventory records (for seeding a store)."""
    rows = []
    for name, os_type, device, env, tags, ip in _ROWS:
        protocol = "winrm" if os_type == "windows" else "ssh" if os_type == "linux" else "none"
        rows.append(
            {
                "name": name,
                "hostname": f"{name}.corp.example",
                "ip_address": ip,
                "os_type": os_type,
                "os_version": "Ubuntu 22.04" if os_type == "linux" else None,
                "device_type": device,
                "environment": env,
                "tags": list(tags),
                "owner": "Web Team" if name.startswith("web") else None,
                "connection": {"protocol": protocol},
            }
        )
    return rows


def fleet_index() -> InventoryIndex:
    return InventoryIndex(
        AssetKey(name, f"{name}.corp.example", ip, os_type, device, env, tags)
        for name, os_type, device, env, tags, ip in _ROWS
    )
