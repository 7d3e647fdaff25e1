"""The words an ops engineer uses, mapped to what they mean. Data only; no logic."""

from __future__ import annotations

# Canonical forms: every surface word on the left reads as the concept on the right when
# requests and catalog examples are compared. Multi-word phrases are matched first.
PHRASES: dict[str, str] = {
    "how many": "count",
    "number of": "count",
    "health check": "health",
    "healthcheck": "health",
    "free space": "disk",
    "disk space": "disk",
    "disk usage": "disk",
    "operating system": "os",
    "up time": "uptime",
    "roll out": "deploy",
    "bring up": "start",
    "shut down": "stop",
    "ip address": "ip",
    "listening ports": "ports",
    "open ports": "ports",
    "log file": "log",
}


def _table(text: str) -> dict[str, str]:
    """'concept: word word …' lines → {word: concept}."""
    table: dict[str, str] = {}
    for line in text.strip().splitlines():
        concept, words = line.split(":", 1)
        for word in words.split():
            table[word] = concept.strip()
    return table


SYNONYMS: dict[str, str] = _table(
    """
    count: count total tally
    show: list show display get give find fetch print tell view what which whats what's read
    check: check verify monitor inspect test examine
    status: status state
    restart: restart bounce recycle cycle reload
    stop: stop halt disable
    start: start launch enable resume
    deploy: deploy release rollout ship upgrade install update push
    reboot: reboot power-cycle
    kill: kill terminate end
    delete: delete drop destroy remove wipe purge truncate
    modify: modify change edit
    open: open allow unblock
    close: close block deny
    log: tail log logs journal syslog lines
    ping: ping reachable reachability connectivity latency alive
    http: curl wget download http https url endpoint response
    disk: disk disks space storage df filesystem filesystems partition partitions volume
    disk: volumes capacity drive drives
    memory: memory ram mem swap
    cpu: cpu load processor utilization utilisation
    uptime: uptime boot booted
    service: service services daemon daemons unit units
    process: process processes ps pid task tasks top tasklist
    ports: port ports listening socket sockets connections netstat ss
    os: os kernel uname systeminfo version distribution distro
    firewall: firewall iptables ufw rule rules security
    database: database databases db schema
    health: health healthy
    asset: asset assets inventory server servers host hosts machine machines device devices
    asset: node nodes box boxes workstation workstations switches routers computers
    details: details detail info information environment owner owns active specs
    ip: ip address
    hostname: hostname
    user: whoami user logged
    app: application app apps package
    """
)

STOP_WORDS = frozenset(
    """
    a an the on in at of for from to me my us our we do does did is are was be been please can
    could would you i it its this that these those and or with all every each any some there
    here now right currently current just quickly also then about into across have has having
    hey hi ok okay let lets let's need want like see know up down out running run runs using
    use via by as if so than your their them they he she his her how many much
    """.split()
)

# Words that scope a request to many assets.
SCOPE_WORDS = frozenset({"all", "every", "each", "entire", "whole", "fleet"})

OS_WORDS = _table(
    """
    linux: linux ubuntu debian centos rhel redhat fedora rocky alma
    windows: windows win
    unix: unix solaris aix bsd freebsd
    macos: macos mac osx
    """
)

# "any" nouns close a group phrase without filtering on the device type.
DEVICE_WORDS = _table(
    """
    server: server servers
    workstation: workstation workstations desktop desktops laptop laptops pc pcs
    switch: switch switches
    router: router routers
    firewall: firewalls
    storage: nas san arrays
    any: host hosts machine machines box boxes node nodes asset assets device devices
    any: system systems computers instances instance vms vm
    """
)

ENVIRONMENT_WORDS = _table(
    """
    production: production prod prd
    staging: staging stage stg
    development: development dev
    testing: testing test
    qa: qa
    uat: uat
    dr: dr
    sandbox: sandbox
    lab: lab
    """
)

# Services people name without saying "service"; anything ending in these suffixes is one too.
KNOWN_SERVICES = frozenset(
    [
        "nginx",
        "apache",
        "apache2",
        "httpd",
        "sshd",
        "ssh",
        "docker",
        "containerd",
        "kubelet",
        "postgresql",
        "postgres",
        "mysql",
        "mysqld",
        "mariadb",
        "redis",
        "redis-server",
        "mongod",
        "mongodb",
        "memcached",
        "rabbitmq-server",
        "haproxy",
        "cron",
        "crond",
        "rsyslog",
        "chronyd",
        "ntpd",
        "ntp",
        "firewalld",
        "ufw",
        "tomcat",
        "jenkins",
        "grafana-server",
        "prometheus",
        "node_exporter",
        "elasticsearch",
        "kibana",
        "logstash",
        "postfix",
        "dovecot",
        "named",
        "bind9",
        "vsftpd",
        "openvpn",
        "spooler",
        "wuauserv",
        "w3svc",
        "iis",
        "winrm",
        "dhcpd",
        "dnsmasq",
        "squid",
        "varnish",
        "php-fpm",
        "gunicorn",
        "uwsgi",
        "supervisor",
        "celery",
        "zookeeper",
        "kafka",
        "consul",
        "vault",
        "etcd",
    ]
)
SERVICE_SUFFIXES = ("-service", "-svc", "-api", "-worker", "-daemon", "-app", "-server", ".service")

# Words after which a host-shaped word is the machine the request is about.
HOST_PREPOSITIONS = frozenset({"on", "from", "at", "for", "of", "server", "host", "machine", "box"})
# Verbs whose object ("to X", "X") is a destination to check, not a machine to run on.
DESTINATION_VERBS = frozenset(
    {"ping", "http", "curl", "wget", "connectivity", "reach", "reachable"}
)

# Phrases that forbid any change: the request is read-only whatever else it says.
READ_ONLY_PHRASES = (
    "do not make any changes",
    "don't make any changes",
    "dont make any changes",
    "without making changes",
    "without changing",
    "no changes",
    "read-only",
    "read only",
    "do not change",
    "don't change",
)
