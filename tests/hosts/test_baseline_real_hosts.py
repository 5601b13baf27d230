"""The shipped baseline against real sshd hosts: each CIS-derived check passes on a host that
meets its cited item and fails on one that does not.

Three real OpenSSH hosts in their own mount namespaces (two with their own network
namespace, so their network sysctls are theirs): `hardened` meets every item below,
`weak` misses each in the way CIS describes (a relaxing Match block in a drop-in, a
`.default` sysctl left on, a value set live but not persisted, MACs CIS lists as weak,
an account whose /etc/shadow ageing is off), `nocron` has no cron at all. Files are bound
over the system's inside each host's namespace; nothing outside it changes.

The `service` checks (auditd, time daemon, firewall, cron) cannot pass or fail here: the
lab hosts have no systemd. Their `single` rule is judged in
`test_single_counts_distinct_units` on systemctl's own output format instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compliance.hosts.audit import audit_host
from compliance.hosts.batch import SectionResult
from compliance.hosts.checks.interface import CheckStatus
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

SSHD = """\
Include /etc/ssh/sshd_config.d/*.conf
HostKey @HOSTKEY@
PermitRootLogin no
PermitEmptyPasswords no
HostbasedAuthentication no
IgnoreRhosts yes
MaxAuthTries 4
PermitUserEnvironment no
X11Forwarding no
LoginGraceTime 60
ClientAliveInterval 15
ClientAliveCountMax 3
LogLevel VERBOSE
UsePAM yes
MaxSessions 10
Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr
KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256
"""
HARDENED_SSHD = SSHD + (
    "DisableForwarding yes\nMaxStartups 10:30:60\n"
    "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com\n"
)
WEAK_SSHD = SSHD + (  # each passed the baseline before it followed CIS
    "DisableForwarding no\nMaxStartups 10:60:100\n"
    "MACs hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com\n"
)
USERS = PASSWD + "alice:x:1000:1000::/home/alice:/bin/sh\n"
HARDENED_SHADOW = "root:$6$s$h:19000:1:365:7:::\nsshd:!:19000::::::\nalice:$y$j$k:19000:1:90:7:::\n"
WEAK_SHADOW = "root:$6$s$h:19000:1:365:7:::\nsshd:!:19000::::::\nalice:$y$j$k:19000:0:99999:3:::\n"
LOGIN_DEFS = "PASS_MAX_DAYS 365\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 7\nENCRYPT_METHOD YESCRYPT\n"
DPKG = "".join(
    f"Package: {name}\nStatus: install ok installed\nVersion: 1.0\n\n"
    for name in ("openssh-server", "sudo", "auditd")
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


def private_dir(path: str, files: dict[str, str], mode: str = "0600") -> tuple[str, ...]:
    """A tmpfs over `path` in the host's namespace with these files (printf-escaped)."""
    commands = [f"mount -t tmpfs lab {path}"]
    for name, content in files.items():
        escaped = content.replace("\n", "\\n")
        commands += [f"printf '{escaped}' > {path}/{name}", f"chmod {mode} {path}/{name}"]
    return tuple(commands)


def cron(crontab_mode: str) -> tuple[str, ...]:
    """cron 'installed': a `crontab` command (on a private /usr/local/bin) and /etc/crontab
    (in the host's /etc overlay)."""
    return (
        *private_dir("/usr/local/bin", {"crontab": "#!/bin/sh\\nexit 0\\n"}, "0755"),
        f"touch /etc/crontab && chmod {crontab_mode} /etc/crontab",
    )


def spec(name: str, *, weak: bool) -> HostSpec:
    persisted = "".join(f"{k} = {v}\n" for k, v in NET.items())
    files = {
        "/etc/ssh/sshd_config": WEAK_SSHD if weak else HARDENED_SSHD,
        "/etc/passwd": USERS,
        "/etc/shadow": WEAK_SHADOW if weak else HARDENED_SHADOW,
        "/etc/login.defs": LOGIN_DEFS,
        "/etc/sysctl.conf": "# nothing here\n",
        "/var/lib/dpkg/status": DPKG if weak else DPKG + DPKG.replace("auditd", "audispd-plugins"),
    }
    modes = {"/etc/ssh/sshd_config": 0o644 if weak else 0o600, "/etc/shadow": 0o640}
    if weak:  # one host key readable by all
        files["/etc/ssh/ssh_host_rsa_key"] = "not a key\n"
        modes["/etc/ssh/ssh_host_rsa_key"] = 0o644
    drop_in = "Match Address *\\n  PermitRootLogin yes\\n" if weak else "MaxSessions 10\\n"
    return HostSpec(
        name,
        files=files,
        modes=modes,
        tmp_options="nodev,nosuid,noexec",
        netns=True,
        etc_overlay=True,
        sysctls=WEAK_NET if weak else NET,
        setup=(
            # the unit-test (and CI) machine's /etc/cron.d etc. are not the hosts' business
            *private_dir(
                "/etc/ssh/sshd_config.d", {"lab.conf": drop_in}, "0644" if weak else "0600"
            ),
            *private_dir("/etc/sysctl.d", {} if weak else {"60-lab.conf": persisted}),
            *cron("0644" if weak else "0600"),
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
            HostSpec(
                "nocron",
                files={"/etc/passwd": USERS},
                # a machine with cron: its crontab command is not this host's
                setup=("[ ! -e /usr/bin/crontab ] || mount --bind /dev/null /usr/bin/crontab",),
            ),
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


PASS_AND_FAIL = [
    "ssh-config-perms",
    "ssh-config-d-perms",
    "ssh-permit-root-login",
    "ssh-disable-forwarding",
    "ssh-max-startups",
    "ssh-weak-macs",
    "ssh-host-private-keys",
    "users-password-max-days",
    "users-password-min-days",
    "users-password-warn-days",
    "net-ip-forward",
    "net-send-redirects",
    "net-ipv6-accept-ra",
    "audispd-plugins-installed",
    "perms-crontab",
]


@pytest.mark.parametrize("check_id", PASS_AND_FAIL)
def test_hardened_passes_and_weak_fails(verdicts: dict[str, dict], check_id: str) -> None:
    hardened, weak = verdicts["hardened"][check_id], verdicts["weak"][check_id]
    assert hardened.status is CheckStatus.PASS, (hardened.observed, hardened.reason)
    assert weak.status is CheckStatus.FAIL, (weak.observed, weak.reason)


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


def test_cron_checks_not_applicable_without_cron(verdicts: dict[str, dict]) -> None:
    nocron = verdicts["nocron"]
    for check_id in ("perms-crontab", "perms-cron-d", "perms-cron-daily", "cron-active"):
        assert nocron[check_id].status is CheckStatus.NOT_APPLICABLE, check_id


def test_single_counts_distinct_units() -> None:
    """systemctl's output format (no systemd in the lab hosts, so no real unit can run):
    an alias of the running unit is one daemon, two different running units are two."""
    params = ServiceParams(
        name=("chrony", "chronyd", "systemd-timesyncd"), active=True, single=True
    )
    one = "chrony active enabled chrony.service\nchronyd active enabled chrony.service\n"
    one += "systemd-timesyncd inactive disabled systemd-timesyncd.service\n"
    two = one.replace("inactive disabled", "active enabled")
    none = one.replace("chrony active", "chrony inactive").replace(
        "chronyd active", "chronyd inactive"
    )
    kind = Service()
    assert kind.evaluate(params, SectionResult(one, 0)).status is CheckStatus.PASS
    verdict = kind.evaluate(params, SectionResult(two, 0))
    assert verdict.status is CheckStatus.FAIL
    assert "2 active: chrony.service, systemd-timesyncd.service" in verdict.reason
    assert kind.evaluate(params, SectionResult(none, 0)).status is CheckStatus.FAIL
