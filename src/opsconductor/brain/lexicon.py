"""The words an ops engineer uses, mapped to what they mean. Data only; no logic.

A newcomer extends understanding here: a synonym is one more word on a concept's line, a
group qualifier one more word in its table. Every word in these tables is also "known
vocabulary": a misspelling of it is corrected (`brain.vocabulary`), and a word that is in no
table and no catalog example is never silently skipped where it could change an answer.
"""

from __future__ import annotations


def _table(text: str) -> dict[str, str]:
    """'concept: word word …' lines → {word: concept}."""
    table: dict[str, str] = {}
    for line in text.strip().splitlines():
        concept, words = line.split(":", 1)
        for word in words.split():
            table[word] = concept.strip()
    return table


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Shorthand people type, expanded before anything else reads the word.
SLANG: dict[str, str] = {
    "hw": "how",
    "u": "you",
    "r": "are",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "w/": "with",
    "w/o": "without",
    "srv": "server",
    "srvs": "servers",
    "svr": "server",
    "svrs": "servers",
    "env": "environment",
    "wanna": "want",
    "lemme": "let",
}

# Multi-word phrases read as one concept (the phrase's first word carries it, the others are
# folded away). Up to three words; the longest phrase wins.
PHRASES: dict[str, str] = {
    "how many": "count",
    "number of": "count",
    "count of": "count",
    "health check": "health",
    "healthcheck": "health",
    "free space": "disk",
    "disk space": "disk",
    "disk usage": "disk",
    "operating system": "os",
    "system information": "systeminfo",
    "system info": "systeminfo",
    "up time": "uptime",
    "roll out": "deploy",
    "roll back": "rollback",
    # Switches, routers and firewalls together: the inventory's OS family 'network'.
    "network devices": "network-devices",
    "network device": "network-devices",
    "network gear": "network-devices",
    "network equipment": "network-devices",
    "push out": "deploy",
    "bring up": "start",
    "fire up": "start",
    "spin up": "start",
    "turn on": "start",
    "shut down": "stop",
    "take down": "stop",
    "turn off": "stop",
    "ip address": "ip",
    "listening ports": "ports",
    "open ports": "ports",
    # "open" said of a port is its state, not the order to open it ("which ports are open").
    "open connections": "connections",
    "are open": "ports",
    "is open": "ports",
    "open on": "ports",
    "log file": "log",
    "data center": "datacenter",
    "data centre": "datacenter",
    "other than": "except",
    "apart from": "except",
    "but not": "except",
    "instead of": "except",
    "rather than": "except",
    "owned by": "owned",
    "belonging to": "owned",
    "right away": "now",
    "at once": "now",
    "running in": "in",  # 'linux servers running in production': where, not what runs
    "what is running": "running",
    "what's running": "running",
    "whats running": "running",
}

# Number words read as digits ("the last fifty lines", "ping it three times").
NUMBER_WORDS: dict[str, str] = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100"}

SYNONYMS: dict[str, str] = _table(
    """
    count: count total tally
    show: list show display get give gimme find fetch print tell view what which whats what's
    show: read lookup look
    check: check verify monitor inspect test examine
    status: status state
    restart: restart bounce recycle cycle reload kick restarting
    stop: stop halt disable stopping
    start: start launch enable resume starting
    deploy: deploy release rollout roll-out ship upgrade install update push
    reboot: reboot power-cycle rebooting
    rollback: rollback revert
    kill: kill terminate end killing
    delete: delete drop destroy remove wipe purge truncate
    modify: modify change edit
    open: open allow unblock
    close: close
    block: block deny blacklist
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
    ports: port ports listening socket sockets netstat ss
    os: os distribution distro
    kernel: kernel uname systeminfo
    firewall: firewall iptables ufw rule rules security
    database: database databases db schema
    health: health healthy
    asset: asset assets inventory server servers host hosts machine machines device devices
    asset: node nodes box boxes workstation workstations switches routers computers
    asset: vm vms instance instances
    details: details detail info information environment owner owns owned active specs record
    ip: ip address addresses
    hostname: hostname
    user: whoami user logged
    app: application app apps package
    """
)

STOP_WORDS = _words(
    """
    a an the on in at of for from to me my us our we do does did is are was be been please can
    could would you i it its this that these those and or with all every each any some there
    here now right currently current just quickly also then about into across have has having
    hey hi ok okay let lets let's need want like see know out run runs using thanks
    perform conduct only
    use via by as if so than your their them they he she his her how many much got whose were
    """
)

# Words that scope a request to many assets; "everything" also stands for "all assets".
SCOPE_WORDS = _words("all every each entire whole fleet everything anything")
EVERYTHING_WORDS = _words("everything anything")

# OS families the inventory records. Distributions are another qualifier (below).
OS_WORDS = _table(
    """
    linux: linux
    windows: windows win
    unix: unix
    macos: macos mac macs osx
    network: network-devices
    """
)

# Distributions as hosts report them (the NAME of os-release): a request's word → the words
# of the reported name it stands for. Read from collected facts, never from the OS family.
DISTRIBUTIONS: dict[str, str] = {
    "ubuntu": "ubuntu",
    "debian": "debian",
    "centos": "centos",
    "rhel": "red hat",
    "redhat": "red hat",
    "fedora": "fedora",
    "rocky": "rocky",
    "alma": "almalinux",
    "almalinux": "almalinux",
    "sles": "sles",
    "opensuse": "opensuse",
    "amazon": "amazon",
    "oracle": "oracle",
    "freebsd": "freebsd",
    "openbsd": "openbsd",
}
# Distribution words that name more than one of them ("suse": SLES or openSUSE) or that no
# facts tell apart: named back, never widened to the whole OS family.
DISTRIBUTION_WORDS = _words("suse bsd solaris aix")

# Facts compared with a number: "more than 16 GB RAM", "at least 8 cpus", "RAM over 32GB".
MEMORY_NOUNS = _words("ram memory mem")
CPU_NOUNS = _words("cpu cpus vcpu vcpus core cores processor processors")
# Units of memory, in GB each.
MEMORY_UNITS: dict[str, int] = {
    "gb": 1,
    "g": 1,
    "gib": 1,
    "gig": 1,
    "gigs": 1,
    "gigabyte": 1,
    "gigabytes": 1,
    "tb": 1024,
    "tib": 1024,
    "terabyte": 1024,
    "terabytes": 1024,
}
# Comparisons, by the bound they set: above (exclusive), at least, below (exclusive), at most.
COMPARISONS: dict[str, str] = {
    "more than": "above",
    "greater than": "above",
    "bigger than": "above",
    "larger than": "above",
    "over": "above",
    "above": "above",
    "exceeding": "above",
    "at least": "min",
    "min": "min",
    "minimum": "min",
    "less than": "below",
    "fewer than": "below",
    "smaller than": "below",
    "under": "below",
    "below": "below",
    "at most": "max",
    "max": "max",
    "maximum": "max",
    "up to": "max",
}

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
    any: system systems computers instances instance vms vm ones
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

# Nouns of where an asset stands. The inventory has no location yet, so a qualifier that uses
# one ("at the DR site", "in the Frankfurt datacenter") is named back in a clarification.
LOCATION_WORDS = _words(
    "site sites datacenter datacenters datacentre dc dcs region regions zone zones rack racks "
    "building buildings room campus location locations located"
)

# Words that exclude ("all servers except staging"): no filter can exclude yet, so they are
# named back, never dropped (dropping one would count what the request excluded).
NEGATION_WORDS = _words("except excluding exclude without not besides non")

# Words after which the next words narrow a group: each such phrase is read into the filter
# or, when nothing reads it, named back in a clarification.
QUALIFIER_CUES = _words(
    "in on at from for across within with where whose under inside tagged tag labelled labeled "
    "named called matching containing like running hosting serving owned located run runs"
)
TAG_CUES = _words("tagged tag labelled labeled")
# "with app in the name", "whose name contains app": the word is a name pattern.
NAME_NOUNS = _words("name names hostname hostnames")
NAME_CUES = _words("named called matching containing contains like")
# Cues of qualifiers the inventory cannot filter on yet, by the kind a clarification names.
# Cues of attributes the inventory records: a declared service, an owner.
SERVICE_CUES = _words("running hosting serving runs run")
OWNER_CUES = _words("owned owner owners")
UNSUPPORTED_CUES: dict[str, str] = {
    "running": "the services they run",
    "hosting": "the services they run",
    "serving": "the services they run",
    "owned": "owner",
    "located": "location",
}
# Glue inside a qualifier phrase: "in the dev environment", "at our DR site".
QUALIFIER_GLUE = _words("the our my a an of environment env are is that which")

# Words that say how or when, never which assets: harmless wherever they stand.
MANNER_WORDS = _words(
    "parallel sequence order batch batches background foreground immediately asap quickly "
    "once again total overall altogether system inventory fleet full complete comprehensive "
    "thorough extensive"
)

# Range nouns: "in the 10.0.1 range", "on the 192.168.1.0/24 subnet".
RANGE_WORDS = _words("range subnet network block prefix cidr")

# Services people name without saying "service"; anything ending in these suffixes is one too.
KNOWN_SERVICES = _words(
    """
    nginx apache apache2 httpd sshd ssh docker containerd kubelet postgresql postgres mysql influxdb
    mysqld mariadb redis redis-server mongod mongodb memcached rabbitmq-server haproxy cron
    crond rsyslog chronyd ntpd ntp firewalld ufw tomcat jenkins grafana-server prometheus
    node_exporter elasticsearch kibana logstash postfix dovecot named bind9 vsftpd openvpn
    spooler wuauserv w3svc iis winrm dhcpd dnsmasq squid varnish php-fpm gunicorn uwsgi
    supervisor celery zookeeper kafka consul vault etcd
    """
)
# Things no tool of the catalog reaches: OpsConductor works on the inventory's hosts, so a
# request about these is told so, by name, rather than read as something near it.
OUT_OF_REACH_WORDS = _words(
    "container containers pod pods kubernetes k8s namespace namespaces deployment-set helm "
    "ec2 s3 lambda lambdas bucket buckets vpc vpcs cloud pricing ad ldap okta "
    "interface interfaces vlan vlans bgp ospf"
)
SERVICE_SUFFIXES = ("-service", "-svc", "-api", "-worker", "-daemon", "-app", "-server", ".service")

# How request words fill a tool's parameters, by the slot they fill: the concept of the verb
# right before the value, a word right before it, a word right after it.
SLOT_VERBS: dict[str, frozenset[str]] = {
    "service": frozenset({"restart", "stop", "start"}),
    "app": frozenset({"deploy", "rollback"}),
    "process_name": frozenset({"kill"}),
}
SLOT_BEFORE: dict[str, frozenset[str]] = {
    "service": frozenset({"service", "unit", "daemon"}),
    "database": frozenset({"database", "db"}),
}
SLOT_AFTER: dict[str, frozenset[str]] = {
    "service": frozenset({"service", "daemon", "unit"}),
    "database": frozenset({"database", "db"}),
    "process_name": frozenset({"process", "processes"}),
}

# Numbers fill the parameter the word next to them names: "the last 50 lines", "pid 4242".
NUMBER_BEFORE: dict[str, str] = {
    "pid": "process_id",
    "process": "process_id",
    "port": "port",
    "ports": "port",
    "pids": "process_id",
    "processes": "process_id",
    "tcp": "port",
    "udp": "port",
}
NUMBER_AFTER: dict[str, str] = {
    "pid": "process_id",
    "lines": "lines",
    "line": "lines",
    "entries": "lines",
    "times": "count",
    "packets": "count",
    "pings": "count",
}
PROTOCOL_WORDS = _words("tcp udp")

# Words after which a host-shaped word is the machine the request is about.
HOST_CONTEXT = _words("on from at server host machine box named node")
# Verbs whose object ("to X", "X") is a destination to check, not a machine to run on.
DESTINATION_VERBS = _words("ping http curl wget connectivity reach reachable")

# Concepts that change something: a request using one is never answered by a read-only tool,
# and a tool that changes something is chosen only when the request says one of them.
CHANGE_VERBS = _words(
    "restart stop start deploy reboot kill delete modify open close block rollback"
)

# The question to ask when an intent has no target, by action. An action not listed here gets
# one built from its tool's catalog summary ("On which host should I reboot the host?").
TARGET_QUESTIONS: dict[str, str] = {
    "asset_details": "Which asset should I look up?",
    "check_disk": "Which host should I check the disk space on?",
    "check_memory": "Which host should I check the memory on?",
    "check_cpu": "Which host should I check the CPU load on?",
    "check_uptime": "Which host should I check the uptime of?",
    "os_info": "Which host should I read the system information from?",
    "service_status": "Which host should I check the service status on?",
    "restart_service": "Which host should I restart the service on?",
    "stop_service": "Which host should I stop the service on?",
    "start_service": "Which host should I start the service on?",
    "service_logs": "Which host should I read the service's logs on?",
    "tail_log": "Which host should I read the log file on?",
    "list_processes": "Which host should I list the processes of?",
    "kill_process": "Which host should I stop the process on?",
    "kill_process_by_name": "Which host should I stop the processes on?",
    "list_ports": "Which host should I list the listening ports of?",
    "ping": "Which host should I ping from?",
    "http_check": "Which host should I fetch the URL from?",
    "reboot": "Which host should I reboot?",
    "health_check": "Which hosts should I run the health check on?",
    "deploy_application": "Which hosts should I deploy to?",
    "delete_database": "Which host holds the database?",
}

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

# Phrases that speak about a change rather than ask for it ("no need to restart nginx", "how
# long does it take to reboot db-01", "nginx won't restart"): a change is never planned on them.
ABOUT_A_CHANGE = (
    "no need to",
    "not needed",
    "isn't needed",
    "is not needed",
    "shouldn't",
    "should not",
    "told you not to",
    "don't need to",
    "do not need to",
    "do i need to",
    "am i allowed",
    "are we allowed",
    "explain how",
    "what's the command",
    "what is the command",
    "how long does it take",
    "how long will it take",
    "suppose",
    "pretend",
    "just kidding",
    "hypothetically",
    "what if",
    "won't",
    "can't",
    "cannot",
    "failed",
    "might need to",
    "maybe",
    "or not",
)

# "reboot web-01, no wait, web-02": a request that corrects itself is asked again, never
# guessed (the first host, the second or both).
CORRECTIONS = ("no wait", "actually no", "scratch that", "i mean", "sorry i meant", "or rather")

# Words that make a sentence a report of what happened, not an order ("I already restarted
# nginx", "web-01 was rebooted last night"): a change is never planned on them.
REPORT_WORDS = (
    "already",
    "yesterday",
    "last night",
    "this morning",
    "ago",
    "earlier today",
    "was rebooted",
    "were rebooted",
    "was restarted",
    "were restarted",
    "was stopped",
    "has been",
    "have been",
    "someone",
    "somebody",
    "i don't want",
    "i do not want",
    "not going to",
    "reboot nothing",
    "restart nothing",
    "simulate",
    "can i",
    "could rebooting",
    "could restarting",
    "thinking about",
    "last time",
)

# A request that opens with one of these asks whether something is so ("is port 5432 open on
# db-01", "does web-01 need a reboot"): a question about the state, never an order to change it.
QUESTION_OPENERS = _words("is are was were does did has have should would why when how")
# A request that opens with one of these asks to be shown something ("show every open port on
# web-01"): a later word that could be a change verb is what it shows, not an order.
READING_OPENERS = _words("show list display view print tell what which where who")

# Common little words of Spanish, French, German, Portuguese and Italian that English never
# uses: two of them among the words nothing understood means the request is in another
# language, and the answer says so instead of listing them as unknown.
FOREIGN_FUNCTION_WORDS = _words(
    """
    el los las del por favor está esta muy lento lenta qué cómo dónde servidor revisar
    est très lent les des une avec pour serveur vérifier s'il plaît
    der die das und nicht ist bitte sehr langsam überprüfen
    não está muito obrigado por favor servidor verificar
    il della per favore molto lento controlla
    """
)
