"""Facts parsers: a facts script's output in, one flat mapping of facts out; what the output
does not say stays out of the mapping (unknown), and output that is not a facts script's is
not recognised, so nothing is stored as facts from it."""

from __future__ import annotations

import json

import pytest

from opsconductor.catalog.parsers import PARSERS, parse_output

# Captured from `linux.collect_facts` in a Debian 12 container without systemd: systemctl
# fails there, so the script prints no services section.
DEBIAN_CONTAINER = """\
== os-release ==
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
== kernel ==
6.18.44-fc-v1045
== cpus ==
2
== meminfo ==
MemTotal:       24683584 kB
== df ==
Filesystem              1024-blocks     Used Available Capacity Mounted on
devtmpfs                   12334192        0  12334192       0% /dev
tmpfs                      24683584     1052  24682532       1% /dev/shm
/dev/vda                  264212084 23860620  82530292      23% /
model_tools_unavailable           4        0         4       0% /mnt/tools
tmpfs                      12341792        0  12341792       0% /sys/fs/cgroup
"""

# What the script prints on a systemd server (the services section as systemd 249 lists it).
UBUNTU_SERVER = """\
== os-release ==
PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
ID=ubuntu
== kernel ==
5.15.0-91-generic
== cpus ==
8
== meminfo ==
MemTotal:       32780016 kB
== df ==
Filesystem 1024-blocks      Used Available Capacity Mounted on
udev          16362596         0  16362596       0% /dev
tmpfs          3278004      1652   3276352       1% /run
/dev/sda2    102626232  61546188  35821416      64% /
/dev/sdb1    515928320 464335488  25362432      95% /var/lib/postgresql
/dev/loop3       65024     65024         0     100% /snap/core20/2105
== services ==
cron.service                loaded active running Regular background program processing daemon
nginx.service               loaded active running A high performance web server
postgresql@14-main.service  loaded active running PostgreSQL Cluster 14-main
ssh.service                 loaded active running OpenBSD Secure Shell server
"""


def test_a_systemd_server_gives_every_fact() -> None:
    parsed = PARSERS["linux_facts"](UBUNTU_SERVER)
    assert parsed.data == {
        "os_name": "Ubuntu",
        "os_version": "22.04",
        "kernel": "5.15.0-91-generic",
        "cpu_count": 8,
        "memory_mb": 32011,
        "disks": [
            {"mount": "/", "size_mb": 100220, "used_pct": 64.0},
            {"mount": "/var/lib/postgresql", "size_mb": 503836, "used_pct": 95.0},
        ],
        "services": ["cron", "nginx", "postgresql@14-main", "ssh"],
    }
    assert parsed.summary == (
        "Ubuntu 22.04, kernel 5.15.0-91-generic, 8 CPUs, 31.3 GB memory, 2 disks, "
        "4 services running"
    )
    assert json.loads(json.dumps(parsed.data)) == parsed.data


def test_services_a_host_cannot_list_are_unknown_and_a_container_root_is_a_disk() -> None:
    data = PARSERS["linux_facts"](DEBIAN_CONTAINER).data
    assert "services" not in data  # unknown, not "no services"
    assert data["disks"] == [{"mount": "/", "size_mb": 258019, "used_pct": 23.0}]
    assert (data["os_name"], data["os_version"], data["cpu_count"]) == ("Debian GNU/Linux", "12", 2)


def test_an_empty_services_section_is_no_running_services() -> None:
    data = PARSERS["linux_facts"](DEBIAN_CONTAINER + "== services ==\n").data
    assert data["services"] == []


def test_sections_left_empty_leave_their_facts_out() -> None:
    output = "== os-release ==\n== kernel ==\n4.19.0\n== cpus ==\n== meminfo ==\n== df ==\n"
    assert PARSERS["linux_facts"](output).data == {"kernel": "4.19.0"}


@pytest.mark.parametrize("parser", ["linux_facts", "windows_facts"])
@pytest.mark.parametrize("output", ["", "hello\n", "== os-release ==\nID=x\n", "[1, 2]"])
def test_output_of_anything_else_is_not_recognised(parser: str, output: str) -> None:
    parsed = parse_output(parser, output)
    assert parsed.recognised is False
    assert set(parsed.data) == {"text"}


def test_a_known_parser_that_understood_says_so() -> None:
    assert parse_output("linux_facts", UBUNTU_SERVER).recognised is True
    assert parse_output(None, UBUNTU_SERVER).recognised is False


# `windows.collect_facts` as PowerShell 5.1 prints it: one disk and one service come out as
# the element itself, not a one-element array.
WINDOWS_ONE_DISK = json.dumps(
    {
        "os_name": "Microsoft Windows Server 2022 Standard",
        "os_version": "10.0.20348",
        "kernel": "20348",
        "cpu_count": 4,
        "memory_mb": 16383,
        "disks": {"mount": "C:", "size_mb": 126975, "used_pct": 41.3},
        "services": "WinRM",
    }
)


def test_windows_facts_take_a_lone_disk_and_service_as_lists() -> None:
    parsed = PARSERS["windows_facts"]("\ufeff" + WINDOWS_ONE_DISK)
    assert parsed.data == {
        "os_name": "Microsoft Windows Server 2022 Standard",
        "os_version": "10.0.20348",
        "kernel": "20348",
        "cpu_count": 4,
        "memory_mb": 16383,
        "disks": [{"mount": "C:", "size_mb": 126975, "used_pct": 41.3}],
        "services": ["WinRM"],
    }
    assert parsed.summary.startswith("Microsoft Windows Server 2022 Standard 10.0.20348, ")


def test_windows_facts_left_null_are_unknown() -> None:
    output = json.dumps({"kernel": "19045", "os_name": None, "disks": None, "services": []})
    assert PARSERS["windows_facts"](output).data == {"kernel": "19045", "services": []}
