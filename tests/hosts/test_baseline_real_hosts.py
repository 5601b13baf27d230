"""The shipped baseline against real sshd hosts: every check passes on a host that meets
its cited item and fails on one that does not.

Real OpenSSH hosts in their own mount namespaces (two with their own network namespace,
so their network sysctls are theirs): `hardened` meets every item, `weak` misses each in
the way CIS describes (a relaxing Match block in a drop-in, a `.default` sysctl left on, a
value set live but not persisted, MACs CIS lists as weak, an account whose /etc/shadow
ageing is off, legacy packages in the dpkg database, a listener on a wildcard address),
`nocron` has no cron at all and is a RHEL-family host without dnf-automatic, IPv6,
Yama, /dev/shm or /etc/ssh (the checks the baseline makes not-applicable then are), `rhel`
is one with dnf-automatic. Files are bound over the system's inside each host's
namespace; nothing outside it changes. `test_every_check_has_a_pass_and_a_fail_host`
walks the baseline's own check ids, so a check added to the baseline without fixtures
fails here.

Where the namespace cannot hold the real thing, the host gets what the check reads:
kernel.* and fs.* sysctls are not per network namespace, so a tmpfs over
/proc/sys/kernel (and a file bound over /proc/sys/fs/suid_dumpable) holds the values;
systemd cannot run as PID 1 in a lab host, so the `service` checks read a stand-in
`systemctl` (see `systemctl_stand_in`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compliance.hosts.audit import audit_host
from compliance.hosts.batch import SectionResult
from compliance.hosts.checks.interface import CheckStatus, Verdict
from compliance.hosts.checks.service import Service, ServiceParams
from compliance.hosts.checks.sysctl import SysctlParams
from compliance.hosts.inventory import load_inventory
from compliance.hosts.policy import load_host_policy
from compliance.hosts.ssh import Connector, SshOptions
from compliance.paths import shipped_policy
from tests.hosts.conftest import PASSWD
from tests.hosts.lab import HostSpec, Lab, lab_hosts, missing_requirements

BASELINE = shipped_policy("hosts/linux-baseline.yml")
CHECKS = load_host_policy(BASELINE).checks

SSHD = {  # key: (hardened, weak); each weak value fails the baseline's check of that key
    "PermitRootLogin": ("no", "no"),  # weak: relaxed by a Match block in its drop-in
    "PermitEmptyPasswords": ("no", "yes"),
    "HostbasedAuthentication": ("no", "yes"),
    "IgnoreRhosts": ("yes", "no"),
    "MaxAuthTries": ("4", "6"),
    "PermitUserEnvironment": ("no", "yes"),
    "X11Forwarding": ("no", "yes"),
    "LoginGraceTime": ("60", "120"),
    "ClientAliveInterval": ("15", "0"),
    "ClientAliveCountMax": ("3", "0"),
    "LogLevel": ("VERBOSE", "QUIET"),
    "UsePAM": ("yes", "no"),
    "MaxSessions": ("10", "20"),
    "Ciphers": (
        "aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr",
        "aes256-gcm@openssh.com,aes128-cbc",
    ),
    "KexAlgorithms": (
        "curve25519-sha256,ecdh-sha2-nistp256",
        "curve25519-sha256,diffie-hellman-group14-sha1",
    ),
    "DisableForwarding": ("yes", "no"),
    "MaxStartups": ("10:30:60", "10:60:100"),  # each weak value passed before it followed CIS
    "MACs": (
        "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com",
    ),
}


def sshd_config(weak: bool) -> str:
    lines = [f"{key} {values[weak]}" for key, values in SSHD.items()]
    return "Include /etc/ssh/sshd_config.d/*.conf\nHostKey @HOSTKEY@\n" + "\n".join(lines) + "\n"


USERS = PASSWD + "alice:x:1000:1000::/home/alice:/bin/sh\n"
HARDENED_SHADOW = "root:$6$s$h:19000:1:365:7:::\nsshd:!:19000::::::\nalice:$y$j$k:19000:1:90:7:::\n"
WEAK_SHADOW = "root:$6$s$h:19000:1:365:7:::\nsshd:!:19000::::::\nalice:$y$j$k:19000:0:99999:3:::\n"
LOGIN_DEFS = (
    "PASS_MAX_DAYS 365\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 7\nENCRYPT_METHOD YESCRYPT\nUMASK 027\n"
)
WEAK_LOGIN_DEFS = (
    "PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nPASS_WARN_AGE 3\nENCRYPT_METHOD MD5\nUMASK 022\n"
)


def dpkg_status(*names: str) -> str:
    """A dpkg status file (the database the package check reads) with these installed."""
    return "".join(f"Package: {n}\nStatus: install ok installed\nVersion: 1.0\n\n" for n in names)


BASE_PACKAGES = ("openssh-server", "sudo")
HARDENED_DPKG = dpkg_status(*BASE_PACKAGES, "auditd", "audispd-plugins", "unattended-upgrades")
WEAK_DPKG = dpkg_status(  # every legacy service the baseline forbids; no sudo, audit, updates
    "openssh-server", "telnetd", "rsh-client", "nis", "talk", "tftpd-hpa", "xinetd"
)
# the network sysctls the baseline names, with the values it wants
NET = {
    key: str(params.equals)
    for check in CHECKS
    if isinstance(params := check.params, SysctlParams)
    for key in params.key
    if key.startswith("net.")
}
WEAK_NET = {
    **NET,
    "net.ipv4.conf.default.send_redirects": "1",
    "net.ipv6.conf.all.accept_ra": "1",
}
KERNEL = {
    "kernel.randomize_va_space": "2",
    "kernel.yama.ptrace_scope": "1",
    "fs.suid_dumpable": "0",
}
WEAK_KERNEL = {
    "kernel.randomize_va_space": "0",
    "kernel.yama.ptrace_scope": "0",
    "fs.suid_dumpable": "2",
}
# systemctl's answers: unit → (is-active, is-enabled, Id)
UNITS = {
    "auditd": ("active", "enabled", "auditd.service"),
    "chrony": ("active", "enabled", "chrony.service"),
    "chronyd": ("active", "enabled", "chrony.service"),  # Debian's alias of chrony.service
    "cron": ("active", "enabled", "cron.service"),
    "nftables": ("active", "enabled", "nftables.service"),
}
WEAK_UNITS = {
    "auditd": ("inactive", "disabled", "auditd.service"),
    "chrony": ("active", "enabled", "chrony.service"),
    "systemd-timesyncd": ("active", "enabled", "systemd-timesyncd.service"),
    "cron": ("failed", "enabled", "cron.service"),
    "ufw": ("active", "enabled", "ufw.service"),
    "nftables": ("active", "enabled", "nftables.service"),
}


def private_dir(path: str, files: dict[str, str], mode: str = "0600") -> tuple[str, ...]:
    """A tmpfs over `path` in the host's namespace with these files (printf-escaped)."""
    commands = [f"mount -t tmpfs lab {path}"]
    for name, content in files.items():
        escaped = content.replace("\\", "\\\\").replace("\n", "\\n").replace("'", "'\\''")
        commands += [
            f"mkdir -p $(dirname {path}/{name})",
            f"printf '{escaped}' > {path}/{name}",
            f"chmod {mode} {path}/{name}",
        ]
    return tuple(commands)


def systemctl_stand_in(units: dict[str, tuple[str, str, str]]) -> str:
    """A `systemctl` for a lab host, answering as systemd 252's does for these units.

    A stand-in because systemd cannot run in a lab host: it must be PID 1 of its own
    PID namespace with cgroups of its own, which a loopback sshd in a mount namespace is
    not. It answers exactly the three questions the `service` check asks, in systemctl's
    own format: `is-active -- UNIT` prints the state, exit 0 only for active (3 else;
    `inactive` for an unknown unit); `is-enabled -- UNIT` prints the state, exit 0 for
    enabled, 1 for disabled (an unknown unit: a message on stderr only, exit 1);
    `show -p Id --value -- UNIT` prints the unit's real name (an alias's target), exit 0.
    Anything else exits 1 with a message, so a check asking more is noticed.
    """
    cases = "".join(
        f"  {unit}) active={a} enabled={e} id={i} ;;\n" for unit, (a, e, i) in units.items()
    )
    return (
        "#!/bin/sh\n"
        "# Stand-in for systemctl in a lab host (no systemd there); see systemctl_stand_in.\n"
        'verb=$1; u=$(eval echo "\\${$#}")\n'
        'active=inactive enabled= id="$u.service"\n'
        f'case "$u" in\n{cases}esac\n'
        'case "$verb" in\n'
        '  is-active) echo "$active"; [ "$active" = active ] && exit 0; exit 3 ;;\n'
        '  is-enabled) if [ -z "$enabled" ]; then\n'
        '      echo "Failed to get unit file state for $u.service: No such file or directory" >&2\n'
        "      exit 1; fi\n"
        '    echo "$enabled"; [ "$enabled" = enabled ] && exit 0; exit 1 ;;\n'
        '  show) echo "$id" ;;\n'
        '  *) echo "lab systemctl stand-in: $verb not answered" >&2; exit 1 ;;\n'
        "esac\n"
    )


def local_bin(units: dict[str, tuple[str, str, str]] | None, cron: bool) -> tuple[str, ...]:
    """A private /usr/local/bin (first on sshd's PATH) with a `crontab` ("cron installed")
    and the systemctl stand-in; the unit directory systemd makes, so the check asks it."""
    files = {"crontab": "#!/bin/sh\nexit 0\n"} if cron else {}
    commands: tuple[str, ...] = ()
    if units is not None:
        files["systemctl"] = systemctl_stand_in(units)
        commands = ("mount -t tmpfs lab-systemd /run/systemd", "mkdir /run/systemd/system")
    return (*private_dir("/usr/local/bin", files, "0755"), *commands)


def kernel_sysctls(values: dict[str, str]) -> tuple[str, ...]:
    """kernel.* sysctls as the check reads them: they are not per namespace (and Yama may
    be off), so a tmpfs over /proc/sys/kernel holds them (fs.suid_dumpable: see spec)."""
    kernel = {
        k.removeprefix("kernel.").replace(".", "/"): v + "\n"
        for k, v in values.items()
        if k.startswith("kernel.")
    }
    return private_dir("/proc/sys/kernel", kernel, "0644")


def spec(name: str, *, weak: bool) -> HostSpec:
    persisted = "".join(f"{k} = {v}\n" for k, v in {**NET, **KERNEL}.items())
    files = {
        "/etc/ssh/sshd_config": sshd_config(weak),
        "/etc/passwd": USERS + ("toor:x:0:0::/root:/bin/sh\n" if weak else ""),
        "/etc/shadow": WEAK_SHADOW + "toor::19000::::::\n" if weak else HARDENED_SHADOW,
        "/etc/login.defs": WEAK_LOGIN_DEFS if weak else LOGIN_DEFS,
        "/etc/sysctl.conf": "# nothing here\n",
        "/var/lib/dpkg/status": WEAK_DPKG if weak else HARDENED_DPKG,
        # not per namespace either: a file bound over the one the check reads
        "/proc/sys/fs/suid_dumpable": (WEAK_KERNEL if weak else KERNEL)["fs.suid_dumpable"] + "\n",
    }
    modes = {
        "/etc/ssh/sshd_config": 0o644 if weak else 0o600,
        "/etc/shadow": 0o644 if weak else 0o640,
        "/etc/passwd": 0o664 if weak else 0o644,
    }
    if weak:  # one host key readable by all
        files["/etc/ssh/ssh_host_rsa_key"] = "not a key\n"
        modes["/etc/ssh/ssh_host_rsa_key"] = 0o644
    drop_in = "Match Address *\n  PermitRootLogin yes\n" if weak else "MaxSessions 10\n"
    cron_dirs, table_mode = ("0755", "0644") if weak else ("0700", "0600")
    auto = '"0"' if weak else '"1"'
    etc = (  # in the host's /etc overlay
        f"touch /etc/crontab && chmod {table_mode} /etc/crontab",
        f"mkdir -p /etc/cron.d /etc/cron.daily && chmod {cron_dirs} /etc/cron.d /etc/cron.daily",
        f"chmod {'0664' if weak else '0644'} /etc/group",
        f"chmod {'0644' if weak else '0640'} /etc/gshadow",
        f"printf 'APT::Periodic::Unattended-Upgrade {auto};\\n'"
        " > /etc/apt/apt.conf.d/20auto-upgrades",
    )
    if weak:
        etc += (
            "echo '+ +' > /etc/hosts.equiv",
            "mount -t tmpfs lab-root /root && echo '+ +' > /root/.rhosts",
            # a legacy service on every address (a loopback-only one is ignored)
            "socat TCP-LISTEN:23,reuseaddr,fork /dev/null &",
        )
    else:
        etc += ("mount -t tmpfs -o nodev,nosuid,noexec lab-shm /dev/shm",)
    return HostSpec(
        name,
        files=files,
        modes=modes,
        tmp_options="" if weak else "nodev,nosuid,noexec",  # "": tmpfs defaults
        netns=True,
        etc_overlay=True,
        sysctls=WEAK_NET if weak else NET,
        setup=(
            # the unit-test (and CI) machine's /etc/cron.d etc. are not the hosts' business
            *private_dir(
                "/etc/ssh/sshd_config.d", {"lab.conf": drop_in}, "0644" if weak else "0600"
            ),
            *private_dir("/etc/sysctl.d", {} if weak else {"60-lab.conf": persisted}),
            *local_bin(WEAK_UNITS if weak else UNITS, cron=True),
            *kernel_sysctls(WEAK_KERNEL if weak else KERNEL),
            *etc,
        ),
    )


BARE = (  # what the baseline's `missing: not-applicable` checks may find absent
    "mount -t tmpfs lab-ipv6 /proc/sys/net/ipv6",  # IPv6 off: no net.ipv6 keys
    "mount -t tmpfs lab-kernel /proc/sys/kernel",  # no Yama: no kernel.yama.ptrace_scope
    "while umount /dev/shm 2>/dev/null; do :; done",  # (mounts may be stacked)
    "mount -t tmpfs lab-ssh /etc/ssh",  # no sshd_config, no host keys (sshd runs on its own)
)


def rhel_spec(name: str, packages: tuple[str, ...], bare: tuple[str, ...] = ()) -> HostSpec:
    """A RHEL-family host by its os-release, without cron. Its packages are in a dpkg
    database, which the package check reads the same way it reads rpm's list."""
    return HostSpec(
        name,
        files={
            "/etc/passwd": USERS,
            "/etc/os-release": 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\n',
            "/var/lib/dpkg/status": dpkg_status(*BASE_PACKAGES, *packages),
        },
        # a machine with cron: its crontab command is not this host's
        setup=(
            "[ ! -e /usr/bin/crontab ] || mount --bind /dev/null /usr/bin/crontab",
            *local_bin(None, cron=False),
            *bare,
        ),
    )


@pytest.fixture(scope="module")
def baseline_lab() -> Iterator[Lab]:
    if missing_requirements():
        pytest.skip(f"real sshd test hosts need: {', '.join(missing_requirements())}")
    yield from lab_hosts(
        [
            spec("hardened", weak=False),
            spec("weak", weak=True),
            rhel_spec("nocron", (), BARE),
            rhel_spec("rhel", ("dnf-automatic",)),
        ]
    )


@pytest.fixture(scope="module")
def verdicts(baseline_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    inventory = load_inventory(baseline_lab.inventory(tmp_path_factory.mktemp("inv") / "i.yml"))
    result = {}
    for host in inventory.hosts:
        report = audit_host(host, CHECKS, Connector(SshOptions()))
        assert report.failure is None, report.failure
        result[host.name] = {r.check.id: r.verdict for r in report.results}
    return result


CASES = {check.id: ("hardened", "weak") for check in CHECKS} | {
    "dnf-automatic-installed": ("rhel", "nocron"),  # only for the RHEL family
}
"""check id → (the host it passes on, the host it fails on)."""
NOT_APPLICABLE = {  # where the baseline says so
    "nocron": [
        *("perms-crontab", "perms-cron-d", "perms-cron-daily", "cron-active"),
        *("unattended-upgrades-installed", "unattended-upgrades-enabled"),
        *("net-ipv6-forward", "net-ipv6-source-route", "net-ipv6-accept-ra"),
        *("net-ipv6-accept-redirects", "kernel-ptrace-scope", "dev-shm-noexec"),
        *("ssh-config-perms", "ssh-host-private-keys"),
    ],
    "hardened": ["dnf-automatic-installed"],
}


@pytest.mark.parametrize("check_id", [check.id for check in CHECKS])
def test_every_check_has_a_pass_and_a_fail_host(verdicts: dict[str, dict], check_id: str) -> None:
    passing, failing = (verdicts[host][check_id] for host in CASES[check_id])
    assert passing.status is CheckStatus.PASS, (passing.observed, passing.reason)
    assert failing.status is CheckStatus.FAIL, (failing.observed, failing.reason)


@pytest.mark.parametrize("host", sorted(NOT_APPLICABLE))
def test_not_applicable_where_the_baseline_says(verdicts: dict[str, dict], host: str) -> None:
    for check_id in NOT_APPLICABLE[host]:
        assert verdicts[host][check_id].status is CheckStatus.NOT_APPLICABLE, check_id


def test_observed_values_say_what_is_wrong(verdicts: dict[str, dict]) -> None:
    weak = verdicts["weak"]
    assert "permitrootlogin yes under Match Address *" in weak["ssh-permit-root-login"].observed
    assert "net.ipv4.conf.default.send_redirects = 1" in weak["net-send-redirects"].observed
    assert "net.ipv4.ip_forward set in no sysctl file" in weak["net-ip-forward"].observed
    assert "persisted: /etc/sysctl.d/60-lab.conf: net.ipv4.ip_forward = 0" in (
        verdicts["hardened"]["net-ip-forward"].observed
    )
    assert "alice 99999" in weak["users-password-max-days"].observed
    assert "/etc/ssh/ssh_host_rsa_key: mode 0644" in weak["ssh-host-private-keys"].observed
    assert "umac-128-etm" in weak["ssh-weak-macs"].observed
    assert "2 active: chrony.service, systemd-timesyncd.service" in weak["time-sync-active"].reason
    assert "2 active: ufw.service, nftables.service" in weak["firewall-in-use"].reason
    assert "tcp/23 on 0.0.0.0" in weak["port-allowlist"].observed
    assert "kernel.yama.ptrace_scope = 0" in weak["kernel-ptrace-scope"].observed
    # systemctl is-enabled prints nothing for a unit systemd does not know
    assert "ntp inactive/not-found" in verdicts["hardened"]["time-sync-active"].observed


def test_cases_name_only_baseline_checks() -> None:
    """A fixture left behind by a removed or renamed check is noticed."""
    ids = {check.id for check in CHECKS}
    assert set(CASES) == ids
    assert {i for listed in NOT_APPLICABLE.values() for i in listed} <= ids


def test_single_counts_distinct_units() -> None:
    """systemctl's output format (no systemd in the lab hosts, so no real unit can run):
    an alias of the running unit is one daemon, two different running units are two; a
    unit systemd does not know has an empty is-enabled field (shown as not-found)."""
    params = ServiceParams(
        name=("chrony", "chronyd", "systemd-timesyncd", "ntp"), active=True, single=True
    )
    one = "chrony active enabled chrony.service\nchronyd active enabled chrony.service\n"
    one += "systemd-timesyncd inactive disabled systemd-timesyncd.service\n"
    two = one.replace("inactive disabled", "active enabled")
    none = one.replace("chrony active", "chrony inactive").replace(
        "chronyd active", "chronyd inactive"
    )
    kind = Service()

    def judge(lines: str) -> Verdict:  # the section prints tab-separated fields
        unknown = "ntp\tinactive\t\tntp.service\n"
        return kind.evaluate(params, SectionResult(lines.replace(" ", "\t") + unknown, 0))

    verdict = judge(one)
    assert verdict.status is CheckStatus.PASS
    assert "ntp inactive/not-found" in verdict.observed
    verdict = judge(two)
    assert verdict.status is CheckStatus.FAIL
    assert "2 active: chrony.service, systemd-timesyncd.service" in verdict.reason
    assert judge(none).status is CheckStatus.FAIL
