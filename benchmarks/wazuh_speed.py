"""Wazuh SCA speed: a ~200-check CIS policy against 1 and 20 real sshd lab hosts.

Each lab host claims to be the policy's OS (its /etc/os-release and /etc/debian_version are
bound in its own mount namespace), so the requirements hold and every check really runs.
Prints wall time, per-host cost, remote executions (round trips) per host, peak memory
and the verdict counts. Needs root, openssh-server, util-linux, socat (as the tests) and
../shared/data/wazuh-sca. Run:

    sudo .venv/bin/python benchmarks/wazuh_speed.py [--sizes 1,20] [--policy cis_ubuntu22-04.yml]

Target (issue 9): a ~200-check CIS policy runs on one host in ≤ 5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance.hosts.audit import audit_hosts  # noqa: E402
from compliance.hosts.inventory import Host, load_inventory  # noqa: E402
from compliance.hosts.ssh import Connector, HostSession, SshOptions  # noqa: E402
from compliance.hosts.wazuh.loader import load_wazuh_policy  # noqa: E402
from tests.hosts.conftest import good_spec  # noqa: E402
from tests.hosts.lab import HostSpec, Lab, missing_requirements  # noqa: E402
from tests.hosts.wazuh.conftest import DEBIAN_11, UBUNTU_22_04  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "wazuh-sca"
IDENTITY = {"cis_debian11.yml": DEBIAN_11, "cis_ubuntu22-04.yml": UBUNTU_22_04}


class CountingConnector(Connector):
    """The real connector, counting remote executions per host."""

    def __init__(self, options: SshOptions):
        super().__init__(options)
        self.runs: Counter[str] = Counter()

    def open(self, host: Host) -> HostSession:
        session = super().open(host)
        original = session.run

        def run(*args: Any, **kwargs: Any) -> Any:
            self.runs[host.name] += 1
            return original(*args, **kwargs)

        session.run = run  # type: ignore[method-assign]
        return session


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spec(name: str, policy: str) -> HostSpec:
    base = good_spec(name)
    return HostSpec(
        name,
        files={**base.files, **IDENTITY.get(policy, {})},
        modes=base.modes,
        tmp_options=base.tmp_options,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20")
    parser.add_argument("--policy", action="append", help="file name in ../shared/data/wazuh-sca")
    args = parser.parse_args()
    missing = missing_requirements()
    if missing or not SHARED.is_dir():
        print(f"cannot run: missing {', '.join(missing) or SHARED}")
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]
    policies = args.policy or ["cis_ubuntu22-04.yml", "cis_debian11.yml"]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    for name in policies:
        started = time.perf_counter()
        loaded = load_wazuh_policy(SHARED / name)
        load_s = time.perf_counter() - started
        plan = loaded.program.plan
        print(
            f"\n{name}: {len(loaded.policy.checks)} checks, loaded in {load_s:.2f} s; per host: "
            f"{len(plan.file_keys)} files, {len(plan.dir_keys)} directories, "
            f"{len(plan.command_keys)} distinct commands, one shell section"
        )
        with Lab() as lab:
            for i in range(max(sizes)):
                lab.start(spec(f"w{i:03d}", name))
            lab.wait_ready(60)
            lab.write_known_hosts()
            inventory = load_inventory(lab.inventory(lab.root / "inv.yml"))
            for size in sizes:
                hosts = inventory.hosts[:size]
                connector = CountingConnector(SshOptions())
                started = time.perf_counter()
                reports = audit_hosts(hosts, loaded.policy.checks, connector, concurrency=32)
                wall = time.perf_counter() - started
                connector.close()
                failed = [r for r in reports if r.failure is not None]
                counts: Counter[str] = Counter(
                    r.verdict.status.value for report in reports for r in report.results
                )
                trips = sorted(set(connector.runs[h.name] for h in hosts))
                slowest = max(r.seconds for r in reports)
                print(
                    f"  {size:3d} host(s): wall {wall:6.2f} s, {wall / size:5.2f} s/host, slowest "
                    f"host {slowest:.2f} s, round trips per host {trips}, peak {peak_mb():.0f} MB, "
                    f"load {os.getloadavg()[0]:.1f}"
                )
                note = f"; {len(failed)} host(s) FAILED" if failed else ""
                print(f"      verdicts: {dict(counts)}{note}")
                errors = Counter(
                    f"{r.check.id}: {r.verdict.reason[:150]}"
                    for report in reports
                    for r in report.results
                    if r.verdict.status.value == "error"
                )
                for reason, count in errors.most_common(3):
                    print(f"      error x{count}: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
