"""The Wazuh example run of docs/wazuh.md: Wazuh's own CIS Debian 11 policy, as Wazuh ships
it, against two real sshd lab hosts, through the real CLI.

Why a script: the docs show what an auditor sees (score per host and per policy, how many
checks failed, exit 1), and that output must come from a run, not be typed. The policy is
read where benchmarks/wazuh_speed.py reads it (../shared/data/wazuh-sca, never copied into
the project). Each host claims to be Debian 11 (os-release and debian_version bound in its
own mount namespace) so the policy's requirements hold and every check runs. Needs root,
openssh-server, util-linux, socat (as the tests). Run:

    sudo .venv/bin/python scripts/wazuh_example.py [--policy cis_debian11.yml]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hosts.conftest import bad_spec, good_spec  # noqa: E402
from tests.hosts.lab import HostSpec, lab_hosts, missing_requirements  # noqa: E402
from tests.hosts.wazuh.conftest import DEBIAN_11  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "wazuh-sca"


def as_debian_11(base: HostSpec, name: str) -> HostSpec:
    return HostSpec(
        name,
        files={**base.files, **DEBIAN_11},
        modes=base.modes,
        tmp_options=base.tmp_options,
        netns=base.netns,
        sysctls=base.sysctls,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policy", default="cis_debian11.yml", help="file in ../shared/data/wazuh-sca"
    )
    parser.add_argument("--shared", type=Path, default=SHARED, help="the Wazuh SCA files' folder")
    parser.add_argument(
        "--min-score", type=int, help="gate on Wazuh's score (hosts.min_score) instead"
    )
    args = parser.parse_args()
    policy = args.shared / args.policy
    missing = missing_requirements()
    if missing or not policy.is_file():
        print(f"cannot run: missing {', '.join(missing) or policy}", file=sys.stderr)
        return 2
    specs = [as_debian_11(good_spec("web1"), "web1"), as_debian_11(bad_spec("web2"), "web2")]
    work = Path(tempfile.mkdtemp(prefix="wazuh-example-"))
    for lab in lab_hosts(specs):
        inventory = lab.inventory(work / "hosts.yml")
        command = [sys.executable, "-m", "compliance", "audit", "--color", "never"]
        command += ["--inventory", str(inventory), "--host-policy", str(policy)]
        command += ["--db", str(work / "c.db"), "-o", f"json:{work / 'report.json'}"]
        shown = f"$ compliance audit --inventory hosts.yml --host-policy {args.policy}"
        if args.min_score is not None:
            gate = work / "gate.yml"
            gate.write_text(f"version: 1\nhosts: {{min_score: {args.min_score}}}\n")
            command += ["--policy", str(gate)]
            shown += f" --policy gate.yml  # hosts: {{min_score: {args.min_score}}}"
        print(shown)
        done = subprocess.run(command, cwd=work, env=None, text=True, capture_output=True)
        print(done.stdout + done.stderr, end="")
        print(f"$ echo $?\n{done.returncode}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
