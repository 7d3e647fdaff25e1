#!/usr/bin/env bash
# Make sure OpenSSH's sshd can be started by the test suite (tests/sshhosts.py
# runs one private `sshd -D` per simulated host on 127.0.0.1). Idempotent.
#
#   a) installs Debian's `openssh-server` (no recommends: those would pull in
#      systemd and logind) when /usr/sbin/sshd is missing; needs root;
#   b) creates /run/sshd (0755), sshd's privilege-separation directory;
#   c) never starts the system sshd: a policy-rc.d that exits 101 is in place
#      during the install, and should an sshd have started anyway (its pid in
#      /run/sshd.pid), it is stopped again. Nothing listens on port 22. After
#      an install it also writes /etc/ssh/sshd_not_to_be_run, Debian's switch
#      that makes both the init script and ssh.service refuse to start sshd
#      on a later boot (the package enables the service; this overrides it).
#
# Prints one line on stdout, the path of sshd; diagnostics go to stderr.
set -euo pipefail

log() { printf 'ensure-sshd: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SSHD=/usr/sbin/sshd
POLICY=/usr/sbin/policy-rc.d

# Debian's invoke-rc.d asks policy-rc.d whether a service may start; exit 101
# means "no". An existing policy-rc.d is put back exactly as it was.
deny_service_starts() {
    if [[ -e "$POLICY" ]]; then
        mv "$POLICY" "$POLICY.ensure-sshd"
    fi
    trap restore_policy EXIT
    printf '#!/bin/sh\n# written by ensure-sshd.sh during an install\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
}

restore_policy() {
    rm -f "$POLICY"
    if [[ -e "$POLICY.ensure-sshd" ]]; then
        mv "$POLICY.ensure-sshd" "$POLICY"
    fi
}

# The package's own daemon writes /run/sshd.pid; our test daemons write their
# pid files in their own directories, so this never touches them.
stop_system_sshd() {
    local pidfile=/run/sshd.pid pid
    [[ -s "$pidfile" ]] || return 0
    pid=$(<"$pidfile")
    if [[ "$pid" =~ ^[0-9]+$ ]] && [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$SSHD" ]]; then
        log "stopping the system sshd (pid $pid) that the install started"
        kill "$pid" 2>/dev/null || true
    fi
}

if [[ ! -x "$SSHD" ]]; then
    [[ $EUID -eq 0 ]] || die "$SSHD is missing; run as root to install openssh-server"
    command -v apt-get >/dev/null || die "$SSHD is missing and apt-get is not available"
    log "installing Debian package openssh-server"
    deny_service_starts
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends openssh-server >&2
    restore_policy
    trap - EXIT
    stop_system_sshd
    printf 'Written by OpsConductor scripts/ensure-sshd.sh: tests run their own sshd.\n' \
        >/etc/ssh/sshd_not_to_be_run
fi

[[ -x "$SSHD" ]] || die "$SSHD is still missing"
if [[ ! -d /run/sshd ]]; then
    install -d -m 0755 /run/sshd 2>/dev/null || die "cannot create /run/sshd (not root?)"
fi
"$SSHD" -V 2>&1 | head -n 1 | sed 's/^/ensure-sshd: /' >&2 || true
printf '%s\n' "$SSHD"
