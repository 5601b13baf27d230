"""Host audit speed: N real sshd hosts on loopback x the shipped baseline policy.

Prints wall time, per-host cost and peak memory for N = 1, 10, 50, 100 (or --sizes), and,
with --ansible, the same remote work through ansible-core ad-hoc `-m shell` (installed
from PyPI into a temporary venv for this run, or --ansible-venv), with default forks (5)
and with forks = N, and the ratios. Every run is checked: a host that failed, or an
ansible host whose output lacks the script's end marker, is reported, never timed as
success. Needs root, openssh-server, openssh-client, util-linux (as the tests). Run:

    sudo .venv/bin/python benchmarks/audit_speed.py [--sizes 1,10,50,100] [--ansible]

Targets (issue 5): 100 hosts <= 10 s; >= 10x faster than ansible; 1 -> 100 hosts <= 10x.
Other processes on the machine count: the load average is printed with every figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance.hosts.audit import audit_hosts, plan  # noqa: E402
from compliance.hosts.inventory import load_inventory  # noqa: E402
from compliance.hosts.policy import HostCheck, load_host_policy  # noqa: E402
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


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def names(n: int) -> list[str]:
    return [f"h{i:03d}" for i in range(n)]


def ours(lab: Lab, n: int, workdir: Path, checks: list[HostCheck]) -> float:
    inventory = load_inventory(lab.inventory(workdir / f"inv{n}.yml", names(n)))
    started = time.perf_counter()
    reports = audit_hosts(inventory.hosts, checks, Connector(SshOptions()), concurrency=32)
    wall = time.perf_counter() - started
    failed = [r for r in reports if r.failure is not None or len(r.results) != len(checks)]
    if failed:
        print(f"  !! {len(failed)} host(s) failed: {failed[0].failure}")
    return wall


def ansible(
    lab: Lab, n: int, workdir: Path, forks: int | None, venv: Path, checks: list[HostCheck]
) -> float:
    inv = workdir / f"ansible{n}.ini"
    inv.write_text(
        "".join(f"{h} ansible_host=127.0.0.1 ansible_port={lab.hosts[h].port}\n" for h in names(n))
        + f"[all:vars]\nansible_user=root\nansible_ssh_private_key_file={lab.client_key}\n"
        f"ansible_ssh_common_args='-o UserKnownHostsFile={lab.known_hosts}'\n"
        "ansible_python_interpreter=/usr/bin/python3\n"
    )
    nonce = "ansiblebench0000"
    script = plan(checks).batch.render(nonce)
    cmd = [str(venv / "bin" / "ansible"), "all", "-i", str(inv), "-m", "shell", "-a", script]
    if forks:
        cmd += ["--forks", str(forks)]
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(workdir),
        "LC_ALL": "C.UTF-8",
        "ANSIBLE_HOST_KEY_CHECKING": "True",  # against the lab's known_hosts, as ours
    }
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600, check=False)
    wall = time.perf_counter() - started
    finished = done.stdout.count(f"{nonce} Z")
    if done.returncode != 0 or finished != n:
        print(
            f"  !! ansible: exit {done.returncode}, {finished}/{n} hosts ran the whole script: "
            f"{(done.stderr or done.stdout)[-500:]}"
        )
    return wall


def ensure_ansible(workdir: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    venv = workdir / "ansible-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "ansible-core"]
    subprocess.run(pip, check=True)
    return venv


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50,100")
    parser.add_argument("--ansible", action="store_true")
    parser.add_argument("--ansible-sizes", help="host counts for ansible (default: --sizes)")
    parser.add_argument("--ansible-venv", help="an existing venv with ansible-core")
    parser.add_argument(
        "--host-bashrc",
        action="store_true",
        help="keep this machine's /root/.bashrc in the lab hosts (default: Debian's stock one)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    ansible_sizes = [int(s) for s in (args.ansible_sizes or args.sizes).split(",")]
    checks = list(load_host_policy(shipped_policy("hosts/linux-baseline.yml")).checks)
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        files = {} if args.host_bashrc else {"/root/.bashrc": root_bashrc()}
        for name in names(max(sizes + ansible_sizes)):
            lab.start(HostSpec(name, files=files, tmp_options="nodev,nosuid,noexec"))
        lab.wait_ready(timeout=120)
        lab.write_known_hosts()
        bashrc = "this machine's" if args.host_bashrc else "stock Debian"
        print(
            f"started {len(lab.hosts)} sshd hosts in {time.perf_counter() - started:.1f} s "
            f"(root .bashrc: {bashrc}); {load()}"
        )
        results = {}
        for n in sorted(set(sizes + ansible_sizes)):
            wall = ours(lab, n, workdir, checks)
            results[n] = wall
            if n in sizes:
                print(
                    f"compliance audit: {n:>4} hosts x {len(checks)} checks: {wall:6.2f} s wall, "
                    f"{wall / n * 1000:7.1f} ms/host, peak RSS {peak_mb():.0f} MB; {load()}"
                )
        if len(sizes) > 1:
            growth = results[max(sizes)] / results[min(sizes)]
            print(f"growth {min(sizes)} -> {max(sizes)} hosts: {growth:.1f}x wall")
        if args.ansible:
            venv = ensure_ansible(workdir, args.ansible_venv)
            version = subprocess.run(
                [str(venv / "bin" / "ansible"), "--version"], capture_output=True, text=True
            ).stdout.splitlines()[0]
            print(f"{version}, ssh connection plugin, default settings")
            for n in ansible_sizes:
                for forks in (None, n):
                    if forks == 5:
                        continue  # the default already
                    wall = ansible(lab, n, workdir, forks, venv, checks)
                    label = "default forks (5)" if forks is None else f"forks={forks}"
                    print(
                        f"ansible-core -m shell: {n:>4} hosts, {label:>17}: {wall:6.2f} s wall, "
                        f"{wall / n * 1000:7.1f} ms/host; {wall / results[n]:5.1f}x our "
                        f"{results[n]:.2f} s; {load()}"
                    )


if __name__ == "__main__":
    main()
