"""Tools that name a jc parser in YAML only: checked on load, jc's JSON as data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jc
import pytest

from opsconductor.catalog.loader import load_catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.catalog.parsers import check_parser_name, parse_output
from opsconductor.errors import CatalogError

TOOL = """
  - name: extra.{name}
    summary: A tool over a common command
    category: testing
    action: {name}
    platforms: [linux]
    connector: shell
    command: {command}
    parser: {parser}
    risk: low
    read_only: true
    reversible: true
    estimate_s: 1
    timeout_s: 5
    examples: ['run {name} on {{host}}']
"""


def write_toolset(folder: Path, tools: list[tuple[str, str, str]]) -> Path:
    path = folder / "extra.yaml"
    body = "".join(TOOL.format(name=n, command=c, parser=p) for n, c, p in tools)
    path.write_text("toolset: extra\ntools:" + body, encoding="utf-8")
    return path


def load_tool(tmp_path: Path, name: str, command: str, parser: str) -> ToolSpec:
    write_toolset(tmp_path, [(name, command, parser)])
    return load_catalog([tmp_path]).get(f"extra.{name}")


# Captured on the Debian 12 development machine (procps-ng 4, util-linux 2.38).
UPTIME = " 23:45:07 up 12 min,  0 user,  load average: 4.69, 2.38, 1.17\n"
LSBLK = """\
NAME  MAJ:MIN RM  SIZE RO TYPE MOUNTPOINTS
zram0 253:0    0    0B  0 disk 
vda   254:0    0  256G  0 disk /
"""  # noqa: W291 -- lsblk pads an empty MOUNTPOINTS column
W_NOBODY = """\
 23:40:55 up 8 min,  0 user,  load average: 0.67, 1.13, 0.58
USER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT
"""
LS_LONG = """\
total 260
-rw-r--r-- 1 root root 11358 Dec 19  2004 Apache-2.0
-rw-r--r-- 1 root root  6111 Dec 16  1996 Artistic
-rw-r--r-- 1 root root  1499 Aug 26  1999 BSD
"""


def test_a_yaml_tool_over_uptime_gets_jc_data_and_a_short_rendering(tmp_path: Path) -> None:
    tool = load_tool(tmp_path, "uptime", "[uptime]", "jc:uptime")
    parsed = parse_output(tool.parser, UPTIME)

    assert parsed.data == {
        "time": "23:45:07",
        "uptime": "12 min",
        "users": 0,
        "load_1m": 4.69,
        "load_5m": 2.38,
        "load_15m": 1.17,
        "time_hour": 23,
        "time_minute": 45,
        "time_second": 7,
        "uptime_days": 0,
        "uptime_hours": 0,
        "uptime_minutes": 12,
        "uptime_total_seconds": 720,
    }
    assert parsed.summary.startswith("time=23:45:07, uptime=12 min, users=0, load_1m=4.69, ")
    assert parsed.summary.endswith(", …")
    assert len(parsed.summary) <= 200


def test_a_yaml_tool_over_lsblk_counts_rows(tmp_path: Path) -> None:
    tool = load_tool(tmp_path, "block_devices", "[lsblk]", "jc:lsblk")
    parsed = parse_output(tool.parser, LSBLK)

    assert [row["name"] for row in parsed.data] == ["zram0", "vda"]
    assert parsed.data[1]["mountpoints"] == ["/"]
    assert parsed.data[1]["size_bytes"] == 256 * 1024**3
    assert parsed.summary == "2 rows"


def test_a_yaml_tool_over_w_with_nobody_logged_in(tmp_path: Path) -> None:
    tool = load_tool(tmp_path, "logged_in", "[w]", "jc:w")
    parsed = parse_output(tool.parser, W_NOBODY)

    assert parsed.data == []
    assert parsed.summary == "0 rows"


def test_a_streaming_jc_parser_reads_line_by_line(tmp_path: Path) -> None:
    tool = load_tool(tmp_path, "list_files", "[ls, -l, /usr/share/common-licenses]", "jc:ls-s")
    parsed = parse_output(tool.parser, LS_LONG)

    assert [row["filename"] for row in parsed.data] == ["Apache-2.0", "Artistic", "BSD"]
    assert parsed.data[0]["size"] == 11358
    assert parsed.summary == "3 rows"


def test_a_jc_dict_renders_nested_values_by_size() -> None:
    parsed = parse_output("jc:os-release", 'NAME="Acme"\n[extra]\nA=1\nB=2\n')

    assert parsed.data == {"NAME": "Acme", "extra": {"A": "1", "B": "2"}}
    assert parsed.summary == "NAME=Acme, extra=2 fields"


@pytest.mark.skipif(shutil.which("uptime") is None, reason="procps is not installed")
def test_the_real_uptime_command_parses() -> None:
    stdout = subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout
    parsed = parse_output("jc:uptime", stdout)

    assert parsed.data["uptime_total_seconds"] > 0
    assert parsed.summary.startswith("time=")


@pytest.mark.parametrize("spelling", ["jc:os-release", "jc:os_release", "jc:proc-uptime"])
def test_jc_names_its_parsers_with_dashes_or_underscores(spelling: str) -> None:
    assert check_parser_name(spelling) is None


def test_an_unknown_jc_parser_is_a_catalog_error_naming_file_and_tool(tmp_path: Path) -> None:
    path = write_toolset(tmp_path, [("ok", "[uptime]", "jc:uptime"), ("bad", "[x]", "jc:xyz")])
    with pytest.raises(CatalogError) as caught:
        load_catalog([tmp_path])

    message = str(caught.value)
    assert message.startswith(f"{path}: tool 'extra.bad': unknown parser 'jc:xyz': ")
    assert f"jc {jc.__version__} has no parser 'xyz'" in message


def test_a_misspelt_jc_parser_gets_a_suggestion(tmp_path: Path) -> None:
    write_toolset(tmp_path, [("disk", "[df]", "jc:dff")])
    with pytest.raises(CatalogError, match="did you mean jc:df"):
        load_catalog([tmp_path])


@pytest.mark.parametrize(
    ("parser", "message"),
    [
        ("no_such_parser", "unknown parser 'no_such_parser'"),
        ("jc:universal", "has no parser 'universal'"),  # a jc helper module, not a parser
        ("'jc:'", "parser: String should match pattern"),
        ("'JC:DF'", "parser: String should match pattern"),
    ],
)
def test_other_bad_parser_names_fail_on_load(tmp_path: Path, parser: str, message: str) -> None:
    write_toolset(tmp_path, [("odd", "[echo]", parser)])
    with pytest.raises(CatalogError) as caught:
        load_catalog([tmp_path])
    assert "tool 'extra.odd'" in str(caught.value)
    assert message in str(caught.value)


def test_an_unchecked_unknown_jc_name_keeps_the_output_as_text() -> None:
    parsed = parse_output("jc:xyz", "some output\n")

    assert parsed.data == {"text": "some output"}
    assert parsed.summary == "some output"


GARBAGE = ["", "\n", "garbage", "\x00\x01 binary \x7f", "nan nan nan 1/2 3", "[" * 1000, "9" * 400]


@pytest.mark.parametrize("parser", ["jc:uptime", "jc:lsblk", "jc:proc-loadavg", "jc:ls-s"])
@pytest.mark.parametrize("stdout", GARBAGE)
def test_jc_tools_never_raise_and_keep_strict_json(parser: str, stdout: str) -> None:
    parsed = parse_output(parser, stdout)

    json.dumps(parsed.data, allow_nan=False, ensure_ascii=False).encode()
    assert "\n" not in parsed.summary
    assert len(parsed.summary) <= 200
    if not stdout.strip():
        assert parsed.summary == "no output"


def test_jc_nan_is_refused_rather_than_stored() -> None:
    parsed = parse_output("jc:proc-loadavg", "nan nan nan 1/2 3\n")

    assert parsed.summary == "unrecognised output: nan nan nan 1/2 3"


def test_jc_is_imported_only_when_used_and_only_the_named_parser_loads() -> None:
    # A fresh interpreter: this one has imported jc for the tests above.
    script = """
import sys
import opsconductor.cli
from opsconductor.catalog.loader import load_catalog
from opsconductor.catalog.parsers import parse_output
load_catalog()
print(sorted(m for m in sys.modules if m == "jc" or m.startswith("jc.")))
parse_output("df", "Filesystem 1024-blocks Used Available Capacity Mounted on\\n")
print(sorted(m for m in sys.modules if m.startswith("jc.parsers.")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = (json.loads(line.replace("'", '"')) for line in done.stdout.splitlines())

    assert before == []
    assert set(after) <= {"jc.parsers.df", "jc.parsers.universal"}
    assert "jc.parsers.df" in after
