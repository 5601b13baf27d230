"""Host audit speed: N real sshd hosts on loopback × the shipped baseline policy.

Prints wall time, per-host cost and peak memory for N = 1, 10, 50, 100 (or --sizes), and,
with --ansible, the same checks through ansible-core ad-hoc `-m shell` (installed into a
temporary venv for this run only), with default forks and with forks = N.
Needs root, openssh-server, util-linux (as the tests). Run:

    sudo .venv/bin/python benchmarks/audit_speed.py [--sizes 1,10,50,100] [--ansible]

Targets (issue 5): 100 hosts ≤ 10 s; ≥ 10× faster than ansible; 1 → 100 hosts ≤ 10× wall.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance.hosts.audit import audit_hosts, plan  # noqa: E402
from compliance.hosts.batch import new_nonce  # noqa: E402
from compliance.hosts.inventory import load_inventory  # noqa: E402
from compliance.hosts.policy import load_host_policy  # noqa: E402
from compliance.hosts.ssh import Connector, SshOptions  # noqa: E402
from compliance.paths import shipped_policy  # noqa: E402
from tests.hosts.lab import HostSpec, Lab  # noqa: E402


def root_bashrc() -> str:
    """The stock Debian root .bashrc for the lab hosts.

    sshd runs every command through root's login shell; bash then sources ~/.bashrc even
    for `bash -c`. A developer machine's .bashrc (pyenv/conda init) can cost 200-400 ms
    per SSH session, which would measure that file, not the audit (ansible pays it on
    each of its several sessions per host too). Fleet servers have the stock one.
    """
    stock = Path("/usr/share/base-files/dot.bashrc")
    return stock.read_text() if stock.exists() else ""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(lab: Lab, n: int, workdir: Path) -> float:
    names = [f"h{i:03d}" for i in range(n)]
    inventory = load_inventory(lab.inventory(workdir / f"inv{n}.yml", names))
    checks = load_host_policy(shipped_policy("hosts/linux-baseline.yml")).checks
    started = time.perf_counter()
    reports = audit_hosts(inventory.hosts, checks, Connector(SshOptions()), concurrency=32)
    wall = time.perf_counter() - started
    failed = [r for r in reports if r.failure is not None]
    if failed:
        print(f"  !! {len(failed)} host(s) failed: {failed[0].failure}")
    return wall


def ansible(lab: Lab, n: int, workdir: Path, forks: int | None, venv: Path) -> float:
    names = [f"h{i:03d}" for i in range(n)]
    inv = workdir / f"ansible{n}.ini"
    inv.write_text(
        "".join(
            f"{name} ansible_host=127.0.0.1 ansible_port={lab.hosts[name].port}\n"
            for name in names
        )
        + f"[all:vars]\nansible_user=root\nansible_ssh_private_key_file={lab.client_key}\n"
        f"ansible_ssh_common_args='-o UserKnownHostsFile={lab.known_hosts}'\n"
        "ansible_python_interpreter=/usr/bin/python3\n"
    )
    checks = load_host_policy(shipped_policy("hosts/linux-baseline.yml")).checks
    script = plan(checks).batch.render(new_nonce())
    cmd = [str(venv / "bin" / "ansible"), "all", "-i", str(inv), "-m", "shell", "-a", script]
    if forks:
        cmd += ["--forks", str(forks)]
    started = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, env={"ANSIBLE_HOST_KEY_CHECKING": "False",
                   "PATH": "/usr/bin:/bin", "HOME": str(workdir)})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50,100")
    parser.add_argument("--ansible", action="store_true")
    parser.add_argument(
        "--host-bashrc",
        action="store_true",
        help="keep this machine's /root/.bashrc in the lab hosts (default: Debian's stock one)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        files = {} if args.host_bashrc else {"/root/.bashrc": root_bashrc()}
        for i in range(max(sizes)):
            lab.start(HostSpec(f"h{i:03d}", files=files, tmp_options="nodev,nosuid,noexec"))
        lab.wait_ready(timeout=120)
        lab.write_known_hosts()
        print(f"started {max(sizes)} sshd hosts in {time.perf_counter() - started:.1f} s")
        checks = len(load_host_policy(shipped_policy("hosts/linux-baseline.yml")).checks)
        results = {}
        for n in sizes:
            wall = ours(lab, n, workdir)
            results[n] = wall
            print(f"compliance audit: {n:>4} hosts × {checks} checks: {wall:6.2f} s wall, "
                  f"{wall / n * 1000:7.1f} ms/host, peak RSS {peak_mb():.0f} MB")
        if len(sizes) > 1:
            print(f"growth {sizes[0]} → {sizes[-1]} hosts: {results[sizes[-1]] / results[sizes[0]]:.1f}×")
        if args.ansible:
            venv = workdir / "ansible-venv"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "ansible-core"], check=True)
            for n in sizes:
                for forks in (None, n):
                    wall = ansible(lab, n, workdir, forks, venv)
                    label = "default forks" if forks is None else f"forks={forks}"
                    print(f"ansible-core -m shell: {n:>4} hosts ({label}): {wall:6.2f} s wall; "
                          f"ratio {wall / results[n]:.1f}×")


if __name__ == "__main__":
    main()
