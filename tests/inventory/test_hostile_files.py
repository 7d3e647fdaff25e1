"""Hostile inventory files, as `opsconductor assets import` reads them: each is refused with a
message naming where and what, never a RecursionError or a csv.Error."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconductor.errors import ImportRejected
from opsconductor.inventory.ansible import MAX_GROUP_DEPTH, MAX_RANGES_PER_PATTERN
from opsconductor.inventory.importers import MAX_YAML_DEPTH, read_assets_file

ROW = "{name: a, os_type: linux, device_type: server}"


def parent_chain(depth: int) -> str:
    """An INI inventory whose host sits under `depth` generations of groups, written from the
    deepest up (so that reading it walks the whole chain at once)."""
    children = [f"g{i + 1}" for i in range(depth - 1)] + ["leaf"]
    sections = [f"[g{i}:children]\n{child}\n" for i, child in enumerate(children)]
    return "[leaf]\nh1\n" + "".join(reversed(sections))


HOSTILE = [
    ("deep-flow.yaml", "assets: " + "[" * 600 + "]" * 600, f"more than {MAX_YAML_DEPTH} levels"),
    (
        "deep-block.yaml",
        "assets:\n" + "".join("  " * i + "-\n" for i in range(1, 600)),
        f"more than {MAX_YAML_DEPTH} levels deep \\(line 10",
    ),
    (
        "deep-ansible.yaml",
        "all:\n"
        + "".join(
            "  " * (2 * i + 1) + f"children:\n{'  ' * (2 * i + 2)}g{i}:\n" for i in range(300)
        ),
        f"more than {MAX_YAML_DEPTH} levels",
    ),
    ("unclosed.yaml", "assets: " + "[" * 100_000, "not valid YAML"),
    ("nul.yaml", f'assets:\n  - {ROW[:-1]}, owner: "x\\0y"}}\n', "row 1 \\(a\\): field owner"),
    ("chain.ini", parent_chain(3000), f"more than {MAX_GROUP_DEPTH} levels of parents"),
    (
        "ranges.ini",
        "[web]\nh" + "[1:1]" * 2000 + "\n",
        f"line 2: more than {MAX_RANGES_PER_PATTERN} ranges in one host",
    ),
    (
        "big.csv",
        'name,os_type,device_type,description\na,linux,server,"' + "x" * 200_000 + '"\n',
        "row 1: field description: longer than 131072 characters",
    ),
    ("nul.csv", "name,os_type,device_type,owner\na,linux,server,x\x00y\n", "field owner"),
]


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_are_refused_with_a_reason(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportRejected, match=message):
        read_assets_file(path)


def test_the_limits_leave_real_inventories_alone(tmp_path: Path) -> None:
    chain = tmp_path / "chain.ini"
    chain.write_text(parent_chain(MAX_GROUP_DEPTH - 1), encoding="utf-8")
    [asset] = read_assets_file(chain)
    assert len(asset.tags) == MAX_GROUP_DEPTH  # leaf and every ancestor
    ranges = tmp_path / "ranges.ini"
    ranges.write_text("[web]\nweb-[a:b]-[1:2]\n", encoding="utf-8")
    assert len(read_assets_file(ranges)) == 4
    described = tmp_path / "described.yaml"
    described.write_text(
        f'assets:\n  - {ROW[:-1]}, description: "two\\r\\n\\tlines"}}\n', encoding="utf-8"
    )
    assert read_assets_file(described)[0].description == "two\r\n\tlines"
