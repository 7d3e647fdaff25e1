"""Read Ansible inventories (INI and YAML) into raw asset rows for `validate_rows`.

How a host becomes an asset:

- `ansible_host` is the IP address if it parses as one, else the hostname; without it the
  inventory name is used the same way when it looks like an IP address or a hostname.
- Every group the host is in, parents included (not `all`, `ungrouped`), becomes a tag.
- `ansible_port` and `ansible_user` fill the connection; `ansible_connection` ssh, paramiko
  and smart mean ssh, winrm and psrp mean winrm, local means local; anything else is refused.
  `host:2222` and the older `ansible_ssh_host`/`_port`/`_user` are read too.
- `os_type`: a var `os_type` wins; else windows for winrm/psrp or when `ansible_os_family`
  or `ansible_system` says Windows (macos for Darwin, unix for the BSDs, Solaris and AIX);
  else linux. `device_type`: a var `device_type`, else server.
- `environment` comes from a group named production/prod, staging, development/dev, test or
  qa when the host's groups name exactly one of these environments.
- `location` (or `data_center`, when `location` is not set) is the asset's location;
  `services` its declared services, a list or a string separated by commas.
- Group vars apply to member hosts, children's over parents', host vars over both.
- Password and private key vars refuse the whole inventory: credentials are stored apart.
  Other vars are ignored.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import string
from dataclasses import dataclass, field
from typing import Any

from opsconductor.errors import ImportRejected

MAX_HOSTS_PER_PATTERN = 65_536
# Limits on shapes no real inventory has, which would otherwise exhaust the recursion that
# reads them: ranges in one host pattern, and generations of parent groups above a group.
MAX_RANGES_PER_PATTERN = 8
MAX_GROUP_DEPTH = 50
IGNORED_GROUPS = {"all", "ungrouped"}
PROTOCOLS = dict.fromkeys(["ssh", "paramiko", "smart"], "ssh") | {"local": "local"}
PROTOCOLS |= dict.fromkeys(["winrm", "psrp"], "winrm")
ENVIRONMENTS = {name: name for name in ["production", "staging", "development", "test", "qa"]}
ENVIRONMENTS |= {"prod": "production", "dev": "development"}
OS_FAMILIES = {"windows": "windows", "win32nt": "windows", "darwin": "macos"}
OS_FAMILIES |= dict.fromkeys(["freebsd", "openbsd", "netbsd", "solaris", "sunos", "aix"], "unix")
CREDENTIALS_ADVICE = "secrets do not belong in the inventory; use `opsconductor credentials add`"

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$")
_RANGE = re.compile(r"\[([0-9A-Za-z]*):([0-9A-Za-z]+)(?::([0-9]+))?\]")
_HOST_PORT = re.compile(r"((?:[^:\[]|\[[^\]]*\])+):([0-9]+)")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*\.?$")
_SERVICE_SEPARATORS = re.compile(r"[,;]")


@dataclass
class _Group:
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Inventory:
    source: str
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)

    def group(self, name: str) -> _Group:
        return self.groups.setdefault(name, _Group())

    def add_hosts(self, pattern: str, group: str, variables: dict[str, Any], where: str) -> None:
        if with_port := _HOST_PORT.fullmatch(pattern):  # "host:2222", as Ansible reads it
            pattern, variables = with_port[1], {"ansible_port": with_port[2], **variables}
        for name in _expand(pattern, where):
            self.hosts.setdefault(name, {}).update(variables)
            members = self.group(group).hosts
            if name not in members:
                members.append(name)


def looks_like_ansible_yaml(document: object) -> bool:
    """True for an Ansible YAML inventory: `all`, or a group with `hosts` or `children`."""
    if not isinstance(document, dict) or isinstance(document.get("assets"), list):
        return False
    return "all" in document or any(
        isinstance(group, dict) and {"hosts", "children"} & set(group)
        for group in document.values()
    )


def parse_ansible_ini(content: str, *, source: str) -> list[dict[str, Any]]:
    """Raw asset rows from an INI inventory (`[group]`, `[group:vars]`, `[group:children]`)."""
    inventory = _Inventory(source)
    group, kind = "ungrouped", ""
    for number, raw in enumerate(content.splitlines(), start=1):
        line, where = raw.strip(), f"{source}: line {number}"
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            match = _SECTION.match(line)
            if not match or (match[2] or "") not in {"", "vars", "children"}:
                raise ImportRejected(f"{where}: expected [group], [group:vars] or [group:children]")
            group, kind = match[1], match[2] or ""
            inventory.group(group)
        elif kind == "vars":
            key, equals, value = line.partition("=")
            if not equals or not key.strip():
                raise ImportRejected(f"{where}: expected key=value in [{group}:vars]")
            inventory.group(group).vars[key.strip()] = " ".join(_split(value, where))
        elif kind == "children":
            child = _split(line, where)[0]
            inventory.group(group).children.append(child)
            inventory.group(child)
        else:
            pattern, *assignments = _split(line, where)
            if not all("=" in a and not a.startswith("=") for a in assignments):
                raise ImportRejected(f"{where}: expected key=value after the host name")
            variables = dict(a.split("=", 1) for a in assignments)
            inventory.add_hosts(pattern, group, variables, where)
    return _rows(inventory)


def parse_ansible_yaml(document: object, *, source: str) -> list[dict[str, Any]]:
    """Raw asset rows from a YAML inventory (groups with `hosts`, `vars`, `children`)."""
    if not isinstance(document, dict):
        raise ImportRejected(f"{source}: expected a mapping of Ansible groups")
    inventory = _Inventory(source)
    for name, data in document.items():
        _read_yaml_group(inventory, str(name), data)
    return _rows(inventory)


def _read_yaml_group(inventory: _Inventory, name: str, data: object) -> None:
    where = f"{inventory.source}: group {name}"
    group = inventory.group(name)
    if data is None:
        return
    if not isinstance(data, dict):
        raise ImportRejected(f"{where}: expected a mapping with hosts, vars or children")
    if unknown := set(data) - {"hosts", "vars", "children"}:
        raise ImportRejected(f"{where}: unknown key {sorted(map(str, unknown))[0]!r}")
    group.vars.update(_mapping(data.get("vars"), f"{where}: vars"))
    for pattern, variables in _mapping(data.get("hosts"), f"{where}: hosts").items():
        inventory.add_hosts(pattern, name, _mapping(variables, f"{where}: {pattern}"), where)
    for child, child_data in _mapping(data.get("children"), f"{where}: children").items():
        group.children.append(child)
        _read_yaml_group(inventory, child, child_data)


def _mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportRejected(f"{where}: expected a mapping")
    return {str(key): item for key, item in value.items()}


def _split(text: str, where: str) -> list[str]:
    try:
        return shlex.split(text, comments=True) or [""]
    except ValueError:
        raise ImportRejected(f"{where}: unbalanced quotes") from None


def _expand(pattern: str, where: str) -> list[str]:
    """`web[01:03].example` → web01.example, web02.example, web03.example (also [a:c], [1:9:2])."""
    match = _RANGE.search(pattern)
    if not match:
        return [pattern]
    if len(_RANGE.findall(pattern)) > MAX_RANGES_PER_PATTERN:
        raise ImportRejected(f"{where}: more than {MAX_RANGES_PER_PATTERN} ranges in one host")
    begin, end, step = match[1] or "0", match[2], int(match[3] or 1)
    if begin.isdigit() and end.isdigit() and step > 0 and int(begin) <= int(end):
        width = len(begin) if begin.startswith("0") else 0
        items = [f"{i:0{width}d}" for i in range(int(begin), int(end) + 1, step)]
    elif {len(begin), len(end)} == {1} and begin.isalpha() and end.isalpha() and begin <= end:
        letters = string.ascii_letters
        items = list(letters[letters.index(begin) : letters.index(end) + 1 : max(step, 1)])
    else:
        raise ImportRejected(f"{where}: bad host range [{match[1]}:{match[2]}]")
    tails = _expand(pattern[match.end() :], where)
    if len(items) * len(tails) > MAX_HOSTS_PER_PATTERN:
        raise ImportRejected(f"{where}: a host range makes more than {MAX_HOSTS_PER_PATTERN} hosts")
    return [pattern[: match.start()] + item + tail for item in items for tail in tails]


def _is_secret(key: str) -> bool:
    key = key.lower()
    return key.startswith("ansible_") and any(s in key for s in ("pass", "private_key", "key_pem"))


def _rows(inventory: _Inventory) -> list[dict[str, Any]]:
    for name, group in inventory.groups.items():
        if secret := next(filter(_is_secret, group.vars), None):
            raise ImportRejected(
                f"{inventory.source}: group {name}: {secret}: {CREDENTIALS_ADVICE}"
            )
    ancestors = _ancestors(inventory)
    member_of: dict[str, set[str]] = {name: set() for name in inventory.hosts}
    for name, group in inventory.groups.items():
        for host in group.hosts:
            member_of[host] |= {name} | ancestors[name]
    # Ansible's order: `all` first, parents before children (fewer ancestors), then by name.
    order = sorted(inventory.groups, key=lambda g: (g != "all", len(ancestors[g]), g))
    rows = []
    for number, (name, own) in enumerate(inventory.hosts.items(), start=1):
        label = f"{inventory.source}: row {number} ({name})"
        if secret := next(filter(_is_secret, own), None):
            raise ImportRejected(f"{label}: {secret}: {CREDENTIALS_ADVICE}")
        variables: dict[str, Any] = {}
        for group_name in order:
            if group_name == "all" or group_name in member_of[name]:
                variables.update(inventory.groups[group_name].vars)
        rows.append(_row(name, variables | own, member_of[name], label))
    return rows


def _ancestors(inventory: _Inventory) -> dict[str, set[str]]:
    """Every group's parents, grandparents and so on; a cycle is refused."""
    parents: dict[str, set[str]] = {name: set() for name in inventory.groups}
    parents.setdefault("all", set())
    for name, group in inventory.groups.items():
        for child in group.children:
            parents[child].add(name)
    found: dict[str, set[str]] = {}

    def visit(name: str, path: tuple[str, ...]) -> set[str]:
        if name in path:
            raise ImportRejected(f"{inventory.source}: group {name} is its own ancestor")
        if len(path) > MAX_GROUP_DEPTH:
            raise ImportRejected(
                f"{inventory.source}: group {name}: more than {MAX_GROUP_DEPTH} levels of parents"
            )
        if name not in found:
            found[name] = set().union(*({p} | visit(p, (*path, name)) for p in parents[name]))
        return found[name]

    return {name: visit(name, ()) for name in parents}


def _var(variables: dict[str, Any], *keys: str) -> str | None:
    """The first of `keys` that is set, as text (`ansible_user` before `ansible_ssh_user`)."""
    value = next((variables[k] for k in keys if variables.get(k) is not None), None)
    return None if value is None else str(value)


def _row(name: str, variables: dict[str, Any], groups: set[str], label: str) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "tags": sorted(groups - IGNORED_GROUPS)}
    address = _var(variables, "ansible_host", "ansible_ssh_host")
    row.update(_address(address or name, explicit=address is not None))
    connection = _connection(variables, label)
    if connection:
        row["connection"] = connection
    family = _var(variables, "ansible_os_family", "ansible_system") or ""
    os_type = _var(variables, "os_type")
    if os_type is None and connection.get("protocol") == "winrm":
        os_type = "windows"
    row["os_type"] = (os_type or OS_FAMILIES.get(family.lower(), "linux")).lower()
    row["device_type"] = (_var(variables, "device_type") or "server").lower()
    environments = {ENVIRONMENTS[g.lower()] for g in groups if g.lower() in ENVIRONMENTS}
    if len(environments) == 1:
        row["environment"] = environments.pop()
    if (location := _var(variables, "location", "data_center")) is not None:
        row["location"] = location
    if (services := variables.get("services")) is not None:
        row["services"] = _services(services, label)
    return row


def _services(value: object, label: str) -> list[object]:
    """A list as YAML writes it, or `nginx,billing-api` as INI (and YAML) may; each name is
    validated with the asset."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [name for name in _SERVICE_SEPARATORS.split(value) if name.strip()]
    raise ImportRejected(f"{label}: services: expected a list or names separated by commas")


def _connection(variables: dict[str, Any], label: str) -> dict[str, str]:
    connection = {}
    if (kind := _var(variables, "ansible_connection")) is not None:
        if kind.lower() not in PROTOCOLS:
            raise ImportRejected(
                f"{label}: ansible_connection: {kind!r} is not supported; "
                "use ssh, paramiko, smart, winrm, psrp or local"
            )
        connection["protocol"] = PROTOCOLS[kind.lower()]
    if (port := _var(variables, "ansible_port", "ansible_ssh_port")) is not None:
        connection["port"] = port
    if (user := _var(variables, "ansible_user", "ansible_ssh_user")) is not None:
        connection["username"] = user
    return connection


def _address(value: str, *, explicit: bool) -> dict[str, str]:
    try:
        return {"ip_address": str(ipaddress.ip_address(value))}
    except ValueError:
        pass
    return {"hostname": value} if explicit or _HOSTNAME.match(value) else {}
