"""Output parsers: real and realistic command output in, data and one-line summaries out."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from opsconductor.catalog.parsers import PARSERS, Parsed, parse_output

GIB = 1024**3


def parse(name: str, stdout: str) -> Parsed:
    """Run one parser directly, so unrecognised output fails loudly instead of falling back."""
    parsed = PARSERS[name](stdout)
    # Only JSON types survive a round trip unchanged (a tuple would come back a list).
    assert json.loads(json.dumps(parsed.data, allow_nan=False)) == parsed.data
    assert "\n" not in parsed.summary
    return parsed


def test_registry_holds_every_catalog_parser() -> None:
    assert set(PARSERS) == {
        "df",
        "free",
        "loadavg",
        "uptime",
        "systemd_show",
        "ps",
        "ss_listen",
        "os_release",
        "ping",
        "http_status",
        "win_disk",
        "win_memory",
        "win_cpu",
        "win_uptime",
        "win_service",
        "win_processes",
        "linux_facts",
        "windows_facts",
    }


# -- df ----------------------------------------------------------------------------------------

# Captured from a Debian 12 container with `df -P -k`.
DF_CONTAINER = """\
Filesystem              1024-blocks     Used Available Capacity Mounted on
devtmpfs                   12334432        0  12334432       0% /dev
tmpfs                      24683656     1052  24682604       1% /dev/shm
/dev/vda                  264212084 23246604  83144308      22% /
tmpfs                      12341828        0  12341828       0% /sys/fs/cgroup
"""

# Aligned as df aligns its columns: jc finds a row's fields under the header's.
DF_SERVER = """\
Filesystem     1024-blocks     Used Available Capacity Mounted on
udev               8141772        0   8141772       0% /dev
tmpfs              1634460     1788   1632672       1% /run
/dev/sda2         45000000 30800000  12582912      71% /
/dev/loop0           65536    65536         0     100% /snap/core20/1974
/dev/sda1           523248     6220    517028       2% /boot/efi
/dev/sdb1         14500000 13000000   1258291      91% /var
/dev/sdc1         30000000 25000000   4500000      85% /media/usb stick
tmpfs              1634456  1634456         0     100% /run/user/1000
"""


def test_df_reads_each_row_in_bytes() -> None:
    parsed = parse("df", DF_CONTAINER)

    assert len(parsed.data) == 4
    root = parsed.data[2]
    assert root == {
        "filesystem": "/dev/vda",
        "mount": "/",
        "size_bytes": 264212084 * 1024,
        "used_bytes": 23246604 * 1024,
        "available_bytes": 83144308 * 1024,
        "use_percent": 22,
    }
    assert parsed.summary == "/ is 22% full, 79.3 GB free"


def test_df_summary_names_root_and_full_filesystems_but_not_pseudo_or_snaps() -> None:
    parsed = parse("df", DF_SERVER)

    assert parsed.summary == (
        "/ is 71% full, 12.0 GB free; /var is 91% full, 1.2 GB free; "
        "/media/usb stick is 85% full, 4.3 GB free"
    )
    mounts = [row["mount"] for row in parsed.data]
    assert "/snap/core20/1974" in mounts  # kept in data, only left out of the summary
    assert "/run/user/1000" in mounts


def test_df_without_root_or_full_filesystems_says_so() -> None:
    stdout = """\
Filesystem     1024-blocks   Used Available Capacity Mounted on
/dev/sdb1         10000000 100000   9900000       2% /srv
/dev/sdc1         10000000 200000   9800000       3% /data
tmpfs               100000  95000      5000      95% /dev/shm
"""
    assert parse("df", stdout).summary == "2 filesystems, all under 80% full"


def test_df_honours_a_512_byte_block_header_and_dash_capacity() -> None:
    stdout = """\
Filesystem     512-blocks  Used Available Capacity Mounted on
/dev/disk1           2000  1000      1000      50% /
proc                    0     0         0        - /proc
"""
    parsed = parse("df", stdout)

    assert parsed.data[0]["size_bytes"] == 2000 * 512
    assert parsed.data[1]["use_percent"] == 0
    assert parsed.summary == "/ is 50% full, 500.0 KB free"


# Captured with `df -P -k -a` on the Debian 12 development machine (some rows left out).
DF_ALL = """\
Filesystem              1024-blocks     Used Available Capacity Mounted on
proc                              0        0         0        - /proc
sysfs                             0        0         0        - /sys
devtmpfs                   12334460        0  12334460       0% /dev
devpts                            0        0         0        - /dev/pts
/dev/vda                  264212084 24925880  81465032      24% /
tmpfs                      12342040        0  12342040       0% /sys/fs/cgroup
cgroup                            0        0         0        - /sys/fs/cgroup/cpu
"""


def test_df_of_every_mount_keeps_pseudo_filesystems_without_blocks() -> None:
    parsed = parse("df", DF_ALL)

    assert [row["mount"] for row in parsed.data][:2] == ["/proc", "/sys"]
    assert parsed.data[0] == {
        "filesystem": "proc",
        "mount": "/proc",
        "size_bytes": 0,
        "used_bytes": 0,
        "available_bytes": 0,
        "use_percent": 0,
    }
    assert parsed.summary == "/ is 24% full, 77.7 GB free"


# -- free --------------------------------------------------------------------------------------

# Captured with `free -b` (procps-ng 4).
FREE_CONTAINER = """\
               total        used        free      shared  buff/cache   available
Mem:     25276063744   552116224 24731643904    71237632   310108160 24723947520
Swap:              0           0           0
"""


def test_free_reads_memory_and_swap() -> None:
    parsed = parse("free", FREE_CONTAINER)

    assert parsed.data == {
        "total_bytes": 25276063744,
        "available_bytes": 24723947520,
        "used_bytes": 552116224,
        "free_bytes": 24731643904,
        "swap_total_bytes": 0,
        "swap_used_bytes": 0,
        "used_percent": 2.2,
    }
    assert parsed.summary == "memory 2% used, 23.0 GB available of 23.5 GB"


def test_free_used_percent_counts_cache_as_available() -> None:
    stdout = f"""\
               total        used        free      shared  buff/cache   available
Mem:     {16 * GIB} 9000000000 1000000000 100000000 7000000000 6335076761
Swap:     2147479552    10846208  2136633344
"""
    parsed = parse("free", stdout)

    assert parsed.data["used_percent"] == 63.1
    assert parsed.data["swap_used_bytes"] == 10846208
    assert parsed.summary == "memory 63% used, 5.9 GB available of 16.0 GB"


def test_free_from_old_procps_adds_buffers_and_cache() -> None:
    stdout = """\
             total       used       free     shared    buffers     cached
Mem:    8254894080 7960596480  294297600          0  188137472 4831195136
-/+ buffers/cache: 2941263872 5313630208
Swap:   2147479552   10846208 2136633344
"""
    parsed = parse("free", stdout)

    assert parsed.data["available_bytes"] == 294297600 + 188137472 + 4831195136
    assert parsed.data["used_percent"] == 35.6


# -- loadavg and uptime ------------------------------------------------------------------------


def test_loadavg() -> None:
    parsed = parse("loadavg", "0.11 0.26 0.13 1/141 5928\n")

    assert parsed.data == {
        "load1": 0.11,
        "load5": 0.26,
        "load15": 0.13,
        "running": 1,
        "total_processes": 141,
    }
    assert parsed.summary == "load 0.11 / 0.26 / 0.13 (1/5/15 min), 141 processes"


@pytest.mark.parametrize(
    ("stdout", "summary"),
    [
        ("266.22 428.20\n", "up 4 minutes"),
        ("350735.47 1234.56\n", "up 4 days, 1 hour"),
        ("86400.00 10.00\n", "up 1 day"),
        ("86460.00 10.00\n", "up 1 day"),  # no "0 hours", and minutes are not the next unit
        ("90061.00 10.00\n", "up 1 day, 1 hour"),
        ("7260.5 1.0\n", "up 2 hours, 1 minute"),
        ("42.9 1.0\n", "up 42 seconds"),
        ("1.0 0.5\n", "up 1 second"),
    ],
)
def test_uptime_summary_keeps_two_largest_units(stdout: str, summary: str) -> None:
    assert parse("uptime", stdout).summary == summary


def test_uptime_data_is_seconds() -> None:
    assert parse("uptime", "350735.47 1234.56\n").data == {"seconds": 350735.47}


def test_win_uptime_reads_a_bare_number_even_with_a_decimal_comma() -> None:
    assert parse("win_uptime", "86400\r\n").summary == "up 1 day"
    parsed = parse("win_uptime", "93784,5\r\n")
    assert parsed.data == {"seconds": 93784.5}
    assert parsed.summary == "up 1 day, 2 hours"


@pytest.mark.parametrize("stdout", ["-5", "nan", "inf 1", "12:34"])
def test_uptime_refuses_impossible_numbers(stdout: str) -> None:
    assert parse_output("uptime", stdout).summary == f"unrecognised output: {stdout}"


# -- systemd -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdout", "summary"),
    [
        (
            "LoadState=loaded\nActiveState=active\nSubState=running\n"
            "Description=OpenBSD Secure Shell server\n",
            "active (running)",
        ),
        (
            "Description=nosuch.service\nLoadState=not-found\nActiveState=inactive\n"
            "SubState=dead\n",
            "not installed (LoadState=not-found)",
        ),
        (
            "LoadState=loaded\nActiveState=inactive\nSubState=dead\nDescription=Cron\n",
            "inactive (dead)",
        ),
        (
            "LoadState=loaded\nActiveState=failed\nSubState=failed\nDescription=nginx\n",
            "failed (failed)",
        ),
        (
            "LoadState=masked\nActiveState=inactive\nSubState=dead\nDescription=apache2.service\n",
            "inactive (dead), LoadState=masked",
        ),
    ],
)
def test_systemd_show_summary(stdout: str, summary: str) -> None:
    assert parse("systemd_show", stdout).summary == summary


def test_systemd_show_data_keeps_equals_signs_in_values() -> None:
    stdout = "LoadState=loaded\nActiveState=active\nSubState=exited\nDescription=a=b test\n"

    assert parse("systemd_show", stdout).data == {
        "load_state": "loaded",
        "active_state": "active",
        "sub_state": "exited",
        "description": "a=b test",
    }


def test_systemd_show_without_states_falls_back() -> None:
    parsed = parse_output("systemd_show", "Description=half an answer\n")

    assert parsed.summary == "unrecognised output: Description=half an answer"


# -- ps ----------------------------------------------------------------------------------------

# Captured with `ps -eo pid,user,pcpu,pmem,comm --sort=-pcpu`, plus one tmux row.
PS_OUTPUT = """\
  PID USER     %CPU %MEM COMMAND
 5930 root      100  0.0 ps
 2932 rabbitmq  2.6  0.5 beam.smp
 5330 root      0.5  0.0 bash
 5275 root      0.5  0.0 bash
   71 root      0.4  0.0 kdamond.0
    1 root      0.3  0.0 process_api
 2203 root      0.1  0.0 redis-server
   32 root      0.1  0.0 kworker/u8:1-ext4-rsv-conversion
 4100 alice     0.1  0.1 tmux: server
   44 root      0.0  0.0 kworker/1:1H-kblockd
 2942 root      0.0  0.0 nats-server
   12 root      0.0  0.0 kworker/u8:0-writeback
 3771 mysql     0.0  0.4 mariadbd
   21 root      0.0  0.0 migration/1
 2937 mosquit+  0.0  0.0 mosquitto
"""


def test_ps_counts_processes_and_keeps_ten_busiest_without_ps_itself() -> None:
    parsed = parse("ps", PS_OUTPUT)

    assert parsed.data["count"] == 15
    top = parsed.data["top"]
    assert len(top) == 10
    assert top[0] == {
        "pid": 2932,
        "user": "rabbitmq",
        "cpu_percent": 2.6,
        "mem_percent": 0.5,
        "command": "beam.smp",
    }
    assert all(row["command"] != "ps" for row in top)
    assert top[7]["command"] == "tmux: server"
    assert parsed.summary == "15 processes; top CPU: beam.smp 2.6%, bash 0.5%, bash 0.5%"


def test_ps_with_header_only() -> None:
    parsed = parse("ps", "  PID USER     %CPU %MEM COMMAND\n")

    assert parsed.data == {"count": 0, "top": []}
    assert parsed.summary == "0 processes"


# -- ss ----------------------------------------------------------------------------------------

# Captured with `ss -Htuln`.
SS_CONTAINER = """\
tcp LISTEN 0      128    127.0.0.1:25672 0.0.0.0:*
tcp LISTEN 0      511    127.0.0.1:6379  0.0.0.0:*
tcp LISTEN 0      4096   127.0.0.1:4369  0.0.0.0:*
tcp LISTEN 0      244    127.0.0.1:5432  0.0.0.0:*
tcp LISTEN 0      128      0.0.0.0:2024  0.0.0.0:*
tcp LISTEN 0      4096       [::1]:4369     [::]:*
tcp LISTEN 0      511        [::1]:6379     [::]:*
"""

SS_SERVER = """\
udp   UNCONN 0      0      127.0.0.53%lo:53        0.0.0.0:*
tcp   LISTEN 0      4096         0.0.0.0:22        0.0.0.0:*
tcp   LISTEN 0      511             [::]:80           [::]:*
tcp   LISTEN 0      4096            [::]:22           [::]:*
"""


def test_ss_listen_reads_addresses_and_ports() -> None:
    parsed = parse("ss_listen", SS_CONTAINER)

    assert parsed.data[0] == {
        "protocol": "tcp",
        "state": "LISTEN",
        "address": "127.0.0.1",
        "port": 25672,
    }
    assert parsed.data[5]["address"] == "::1"
    assert parsed.summary == ("listening on 2024/tcp, 4369/tcp, 5432/tcp, 6379/tcp, 25672/tcp")


def test_ss_listen_lists_each_port_once_sorted_by_port() -> None:
    parsed = parse("ss_listen", SS_SERVER)

    assert parsed.data[0] == {
        "protocol": "udp",
        "state": "UNCONN",
        "address": "127.0.0.53%lo",
        "port": 53,
    }
    assert parsed.data[2]["address"] == "::"
    assert parsed.summary == "listening on 22/tcp, 53/udp, 80/tcp"


def test_ss_listen_caps_a_long_summary() -> None:
    stdout = "".join(f"tcp LISTEN 0 128 0.0.0.0:{port} 0.0.0.0:*\n" for port in range(8000, 8025))
    parsed = parse("ss_listen", stdout)

    assert len(parsed.data) == 25
    assert parsed.summary.endswith("8019/tcp and 5 more")


def test_ss_listen_with_no_sockets() -> None:
    assert parse("ss_listen", "").summary == "not listening on any TCP or UDP port"


# -- os-release --------------------------------------------------------------------------------

# Captured from /etc/os-release on Debian 12.
OS_RELEASE_DEBIAN = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""


def test_os_release_strips_quotes() -> None:
    parsed = parse("os_release", OS_RELEASE_DEBIAN)

    assert parsed.data["VERSION_ID"] == "12"
    assert parsed.data["VERSION_CODENAME"] == "bookworm"
    assert parsed.data["HOME_URL"] == "https://www.debian.org/"
    assert len(parsed.data) == 9
    assert parsed.summary == "Debian GNU/Linux 12 (bookworm)"


def test_os_release_without_pretty_name_uses_name_and_version() -> None:
    stdout = '# written by hand\nNAME=\'Acme Linux\'\nVERSION="7 \\"Road\\""\nID=acme\n'
    parsed = parse("os_release", stdout)

    assert parsed.data == {"NAME": "Acme Linux", "VERSION": '7 "Road"', "ID": "acme"}
    assert parsed.summary == 'Acme Linux 7 "Road"'


# -- ping --------------------------------------------------------------------------------------

PING_OK = """\
PING 10.0.0.5 (10.0.0.5) 56(84) bytes of data.
64 bytes from 10.0.0.5: icmp_seq=1 ttl=64 time=0.067 ms
64 bytes from 10.0.0.5: icmp_seq=2 ttl=64 time=0.038 ms
64 bytes from 10.0.0.5: icmp_seq=3 ttl=64 time=0.051 ms
64 bytes from 10.0.0.5: icmp_seq=4 ttl=64 time=0.052 ms

--- 10.0.0.5 ping statistics ---
4 packets transmitted, 4 received, 0% packet loss, time 3068ms
rtt min/avg/max/mdev = 0.038/0.052/0.067/0.010 ms
"""

PING_UNREACHABLE = """\
PING 10.0.0.99 (10.0.0.99) 56(84) bytes of data.
From 10.0.0.1 icmp_seq=1 Destination Host Unreachable
From 10.0.0.1 icmp_seq=2 Destination Host Unreachable

--- 10.0.0.99 ping statistics ---
4 packets transmitted, 0 received, +2 errors, 100% packet loss, time 3061ms
"""


def test_ping_with_replies() -> None:
    parsed = parse("ping", PING_OK)

    assert parsed.data == {
        "transmitted": 4,
        "received": 4,
        "loss_percent": 0.0,
        "rtt_avg_ms": 0.052,
    }
    assert parsed.summary == "4/4 replies, 0% loss, avg 0.05 ms"


def test_ping_without_replies_has_no_average() -> None:
    parsed = parse("ping", PING_UNREACHABLE)

    assert parsed.data["rtt_avg_ms"] is None
    assert parsed.data["loss_percent"] == 100.0
    assert parsed.summary == "0/4 replies, 100% loss"


def test_ping_partial_loss_is_not_rounded_away() -> None:
    # iputils prints its PING line first, which jc needs; the 199 replies are left out here.
    stdout = (
        "PING db1 (10.0.0.7) 56(84) bytes of data.\n"
        "64 bytes from db1 (10.0.0.7): icmp_seq=1 ttl=64 time=10.1 ms\n"
        "\n"
        "--- db1 ping statistics ---\n"
        "200 packets transmitted, 199 received, 0.5% packet loss, time 199000ms\n"
        "rtt min/avg/max/mdev = 10.100/12.346/30.000/1.000 ms\n"
    )
    assert parse("ping", stdout).summary == "199/200 replies, 0.5% loss, avg 12.35 ms"


def test_ping_busybox_statistics() -> None:
    stdout = (
        "--- 10.0.0.5 ping statistics ---\n"
        "3 packets transmitted, 2 packets received, 33% packet loss\n"
        "round-trip min/avg/max = 0.070/0.101/0.139 ms\n"
    )
    parsed = parse("ping", stdout)

    assert parsed.data["received"] == 2
    assert parsed.data["rtt_avg_ms"] == 0.101
    assert parsed.summary == "2/3 replies, 33% loss, avg 0.10 ms"


# -- http_status -------------------------------------------------------------------------------


def test_http_status() -> None:
    parsed = parse("http_status", "200 0.123456")

    assert parsed.data == {"status": 200, "seconds": 0.123456}
    assert parsed.summary == "HTTP 200 in 0.12 s"


def test_http_status_without_a_response() -> None:
    # Captured: curl writes 000 when it cannot connect.
    parsed = parse("http_status", "000 0.000210")

    assert parsed.data["status"] == 0
    assert parsed.summary == "no HTTP response after 0.00 s"


# -- Windows -----------------------------------------------------------------------------------


def test_win_disk_skips_drives_without_sizes() -> None:
    stdout = (
        '[{"Name":"C","Used":136365211648,"Free":107374182400},'
        '{"Name":"D","Used":null,"Free":null},'
        '{"Name":"E","Used":966367641600,"Free":107374182400}]'
    )
    parsed = parse("win_disk", stdout)

    assert parsed.data == [
        {"drive": "C", "used_bytes": 136365211648, "free_bytes": 107374182400, "use_percent": 55.9},
        {"drive": "E", "used_bytes": 966367641600, "free_bytes": 107374182400, "use_percent": 90.0},
    ]
    assert parsed.summary == "C: is 56% full, 100.0 GB free; E: is 90% full, 100.0 GB free"


def test_win_disk_accepts_a_single_object() -> None:
    parsed = parse("win_disk", '{"Name":"C","Used":53687091200,"Free":53687091200}')

    assert parsed.data[0]["use_percent"] == 50.0
    assert parsed.summary == "C: is 50% full, 50.0 GB free"


@pytest.mark.parametrize(
    "stdout",
    [
        '{"TotalVisibleMemorySize":16658480,"FreePhysicalMemory":6186320}',
        '[{"TotalVisibleMemorySize":16658480,"FreePhysicalMemory":6186320}]',
    ],
)
def test_win_memory(stdout: str) -> None:
    parsed = parse("win_memory", stdout)

    assert parsed.data == {
        "total_bytes": 16658480 * 1024,
        "available_bytes": 6186320 * 1024,
        "used_percent": 62.9,
    }
    assert parsed.summary == "memory 63% used, 5.9 GB available of 15.9 GB"


@pytest.mark.parametrize(
    ("stdout", "load", "summary"),
    [
        ('[{"LoadPercentage":20},{"LoadPercentage":26}]', 23.0, "CPU 23% busy"),
        ('{"LoadPercentage":7}', 7.0, "CPU 7% busy"),
        ('[{"LoadPercentage":null}]', None, "CPU load not reported"),
    ],
)
def test_win_cpu(stdout: str, load: float | None, summary: str) -> None:
    parsed = parse("win_cpu", stdout)

    assert parsed.data == {"load_percent": load}
    assert parsed.summary == summary


@pytest.mark.parametrize(
    ("stdout", "data", "summary"),
    [
        (
            '{"Name":"Spooler","Status":4,"StartType":2}',
            {"name": "Spooler", "status": "running", "start_type": "automatic"},
            "Spooler is running (automatic start)",
        ),
        (
            '{"Name":"wuauserv","Status":"Stopped","StartType":"Manual"}',
            {"name": "wuauserv", "status": "stopped", "start_type": "manual"},
            "wuauserv is stopped (manual start)",
        ),
        (
            '[{"Name":"Fax","Status":2,"StartType":4}]',
            {"name": "Fax", "status": "start pending", "start_type": "disabled"},
            "Fax is starting (disabled)",
        ),
        (
            '{"Name":"W32Time","Status":"PausePending","StartType":null}',
            {"name": "W32Time", "status": "pause pending", "start_type": None},
            "W32Time is pausing",
        ),
    ],
)
def test_win_service(stdout: str, data: dict[str, Any], summary: str) -> None:
    parsed = parse("win_service", stdout)

    assert parsed.data == data
    assert parsed.summary == summary


@pytest.mark.parametrize(
    "stdout",
    [
        '{"Name":"Spooler","Status":9,"StartType":2}',  # no such status
        '[{"Name":"a","Status":4,"StartType":2},{"Name":"b","Status":4,"StartType":2}]',
    ],
)
def test_win_service_falls_back_on_unknown_status_or_several_services(stdout: str) -> None:
    assert parse_output("win_service", stdout).summary.startswith("unrecognised output: ")


def test_win_processes() -> None:
    stdout = (
        '[{"Id":4242,"ProcessName":"chrome","CPU":120.515625,"WorkingSet64":314572800},'
        '{"Id":1234,"ProcessName":"MsMpEng","CPU":98.3125,"WorkingSet64":209715200},'
        '{"Id":0,"ProcessName":"Idle","CPU":null,"WorkingSet64":8192},'
        '{"Id":4,"ProcessName":"System","CPU":45,"WorkingSet64":147456}]'
    )
    parsed = parse("win_processes", stdout)

    assert parsed.data["top"][0] == {
        "pid": 4242,
        "command": "chrome",
        "cpu_seconds": 120.515625,
        "memory_bytes": 314572800,
    }
    assert parsed.data["top"][2]["cpu_seconds"] is None
    assert parsed.summary == "top CPU time: chrome 120.5 s, MsMpEng 98.3 s, System 45.0 s"


# -- parse_output and the fallback -------------------------------------------------------------


def test_parse_output_uses_the_named_parser() -> None:
    assert parse_output("loadavg", "0.52 0.61 0.70 2/345 12345\n").data["load1"] == 0.52


@pytest.mark.parametrize("parser", [None, "no_such_parser"])
def test_without_a_known_parser_output_is_kept_as_text(parser: str | None) -> None:
    parsed = parse_output(parser, "Reloading nginx\nok\n\n")

    assert parsed.data == {"text": "Reloading nginx\nok"}
    assert parsed.summary == "ok"


def test_fallback_keeps_the_last_twenty_lines() -> None:
    stdout = "".join(f"line {n}\n" for n in range(1, 31))
    parsed = parse_output(None, stdout)

    assert parsed.data["text"].splitlines() == [f"line {n}" for n in range(11, 31)]
    assert parsed.summary == "line 30"


def test_unrecognised_output_says_so() -> None:
    parsed = parse_output("df", "df: /mnt/gone: Stale file handle\n")

    assert parsed.data == {"text": "df: /mnt/gone: Stale file handle"}
    assert parsed.summary == "unrecognised output: df: /mnt/gone: Stale file handle"


@pytest.mark.parametrize("stdout", ["", "   \n\n\t\n"])
def test_empty_output_summary(stdout: str) -> None:
    assert parse_output(None, stdout).summary == "no output"
    assert parse_output("free", stdout).summary == "no output"


def test_fallback_summary_is_one_printable_line_of_at_most_200_chars() -> None:
    parsed = parse_output(None, "\x1b[31m" + "x" * 300 + "\x00")

    assert len(parsed.summary) == 200
    assert parsed.summary.startswith("?[31mxxx")
    assert parsed.summary.endswith("…")


def test_a_failing_parser_is_logged_and_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    # JSON nested this deep makes the decoder raise RecursionError, not ValueError.
    stdout = "[" * 200_000 + "]" * 200_000
    with caplog.at_level(logging.ERROR, logger="opsconductor.catalog.parsers"):
        parsed = parse_output("win_cpu", stdout)

    assert parsed.summary.startswith("unrecognised output: [[[")
    assert "parser win_cpu failed" in caplog.text


GARBAGE = [
    "",
    "\n",
    "garbage",
    "Permission denied\n",
    "\x00\x01\x02\xff\xfe binary \x7f",
    "lone surrogate \udcff\udc80",
    "1 2 3 4 5 6 7 8 9 10",
    "a=b\n=\n==\n",
    "-/+ x: y\n",
    "null",
    "[]",
    "{}",
    "[1, 2]",
    '{"Name": null, "Status": true, "StartType": []}',
    '[{"LoadPercentage": "high"}]',
    '{"TotalVisibleMemorySize": NaN, "FreePhysicalMemory": Infinity}',
    "nan nan nan 1/2 3",
    "  PID USER %CPU %MEM COMMAND\n 1 root nan 0.0 init\n",
    "tcp LISTEN 0 128 nocolon 0.0.0.0:*",
    "Filesystem 1024-blocks Used Available Capacity Mounted on\n",
    "LoadState=\nActiveState=\nSubState=\n",
    "\ufeff",
    "9" * 400,
]


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("stdout", GARBAGE)
def test_garbage_falls_back_without_raising(name: str, stdout: str) -> None:
    parsed = parse_output(name, stdout)

    # storable as strict JSON in UTF-8
    json.dumps(parsed.data, allow_nan=False, ensure_ascii=False).encode()
    parsed.summary.encode()
    assert "\n" not in parsed.summary
    assert len(parsed.summary) <= 200
    if stdout.strip():
        assert parsed.summary.startswith("unrecognised output: ")
    elif name != "ss_listen":  # for ss, no output means no listening sockets
        assert parsed.summary == "no output"


def test_a_parsed_summary_is_kept_to_one_printable_line() -> None:
    stdout = f'PRETTY_NAME="Acme\tLinux {"x" * 300}"\n'
    parsed = parse_output("os_release", stdout)

    assert parsed.data["PRETTY_NAME"].startswith("Acme\tLinux")  # data keeps the raw text
    assert parsed.summary.startswith("Acme?Linux xxx")
    assert len(parsed.summary) == 200


def test_lone_surrogates_are_replaced_before_parsing() -> None:
    parsed = parse_output("os_release", 'NAME="Acme \udcff"\n')

    assert parsed.data == {"NAME": "Acme ?"}
    json.dumps(parsed.data, ensure_ascii=False).encode()
