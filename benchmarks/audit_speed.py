"""Host audit speed: N real sshd hosts on loopback x the shipped baseline policy.

Each run is what `compliance audit` does: `run_host_audit` (audit, gate, and every check
result of every host stored in a fresh SQLite database). Prints wall time (and how much of
it was storing), per-host cost, peak memory, and where the CPU went: the auditor's own
process and the targets' (all sshd session processes, shells and commands of the lab
hosts, read from each sshd's reaped-children CPU times). On one machine both share the
same cores, so (auditor + targets) x N / cores is a floor for the wall time.

For N = 1, 10, 50, 100 (or --sizes), and,
with --ansible, the same remote work through ansible-core ad-hoc `-m shell` (installed
from PyPI into a temporary venv for this run, or --ansible-venv), with default forks (5)
and with forks = N, and the ratios: of wall time, and of CPU (controller + targets), which
other work on a shared machine distorts far less than wall time. Every run is checked: a
host that failed, or an ansible host whose output lacks the script's end marker, is
reported, never timed as success. Needs root, openssh-server, openssh-client, util-linux
(as the tests). Run:

    sudo .venv/bin/python benchmarks/audit_speed.py [--sizes 1,10,50,100] [--ansible]

Each size is also timed as the `compliance audit` command (a new process: start-up,
imports, store, audit, gate, HTML report), the way ansible's command is timed; the ansible
ratio is command against command (the in-process one is printed beside it).

Targets (issue 5): 100 hosts <= 10 s; >= 10x faster than ansible; 1 -> 100 hosts <= 10x.
Other processes on the machine count: the load average is printed with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance.host_audit import HostAuditRequest, run_host_audit  # noqa: E402
from compliance.hosts.audit import HostReport, plan  # noqa: E402
from compliance.hosts.checks.interface import CheckStatus  # noqa: E402
from compliance.hosts.framing import marker  # noqa: E402
from compliance.hosts.policy import HostCheck, load_host_policy  # noqa: E402
from compliance.paths import shipped_policy  # noqa: E402
from compliance.policy import load_policy  # noqa: E402
from compliance.store import Store  # noqa: E402
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


@dataclass(frozen=True)
class Run:
    wall: float
    store: float
    """Seconds after the last host finished: gate, findings and check rows stored."""
    auditor_cpu: float
    target_cpu: float


LAB_ERRORS = ("auditd-active:", "time-sync-active:", "cron-active:", "firewall-in-use:")
"""Checks that are errors on every lab host for a known reason (no systemd as PID 1 in a
lab host, so unit state cannot be read); any other error is a bug or a broken lab."""


def reaped_cpu(lab: Lab) -> float:
    """CPU seconds of every finished child of the lab's sshd's (their sessions and shells)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for host in lab.hosts.values():
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{host.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / tick


def ours(
    lab: Lab, n: int, workdir: Path, policy: Path, checks: list[HostCheck], concurrency: int
) -> Run:
    inventory = lab.inventory(workdir / f"inv{n}.yml", names(n))
    store = Store.open(f"sqlite:///{workdir}/bench{n}.db")
    request = HostAuditRequest(
        inventory, load_policy(None), host_policies=[policy], concurrency=concurrency
    )
    finished = [0.0]

    def progress(report: HostReport) -> None:
        finished[0] = time.perf_counter()

    time.sleep(0.3)  # let the sshd's reap the previous run's sessions
    target0, cpu0 = reaped_cpu(lab), time.process_time()
    started = time.perf_counter()
    result = run_host_audit(request, store, progress)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    time.sleep(0.3)
    target = reaped_cpu(lab) - target0
    failed = [r for r in result.hosts if r.failure is not None or len(r.results) != len(checks)]
    if failed:
        print(f"  !! {len(failed)} host(s) failed: {failed[0].failure}")
    errored = Counter(
        f"{r.check.id}: {r.verdict.reason[:100]}"
        for host in result.hosts
        for r in host.results
        if r.verdict.status is CheckStatus.ERROR
    )
    for reason, count in sorted(errored.items()):
        if not reason.startswith(LAB_ERRORS):
            print(f"  !! {count} host(s) report an error the lab does not explain: {reason}")
    stored = len(store.host_checks(result.scan_id))
    if stored != n * len(checks):
        print(f"  !! {stored} check results stored, expected {n * len(checks)}")
    return Run(wall, started + wall - finished[0], cpu, target)


def host_policy_option() -> str:
    """`--host-policy` since issue 17 (`--policy` names the gate policy); older checkouts,
    which this benchmark is also run on to compare, took host policies as `--policy`."""
    done = subprocess.run(
        [sys.executable, "-m", "compliance", "audit", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "--host-policy" if "--host-policy" in done.stdout else "--policy"


def command(lab: Lab, n: int, workdir: Path, policy: Path, concurrency: int) -> float:
    """Wall time of `compliance audit` as a user or a nightly job runs it: a new process
    (interpreter start, imports, store, audit, gate, HTML report), as ansible is timed."""
    inventory = lab.inventory(workdir / f"cmd-inv{n}.yml", names(n))
    argv = [
        sys.executable,
        "-m",
        "compliance",
        "audit",
        "--inventory",
        str(inventory),
        host_policy_option(),
        str(policy),
        "--db",
        f"sqlite:///{workdir}/cmd{n}.db",
        "--concurrency",
        str(concurrency),
    ]
    time.sleep(0.3)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=workdir, check=False)
    wall = time.perf_counter() - started
    unexplained = [
        line
        for line in done.stderr.splitlines()
        if line.startswith("error:") and not any(f"check {e[:-1]}:" in line for e in LAB_ERRORS)
    ]
    if done.returncode not in (0, 1, 2) or unexplained:
        print(f"  !! compliance audit exited {done.returncode}: {unexplained[:3]}")
    return wall


def ansible(
    lab: Lab, n: int, workdir: Path, forks: int | None, venv: Path, checks: list[HostCheck]
) -> Run:
    """`Run.auditor_cpu` is ansible's process tree (workers, ssh clients), not counting the
    ssh ControlPersist masters it leaves in the background: an underestimate.

    Each run gets its own HOME, so no run reuses the persistent ssh connections of the one
    before (a nightly audit starts cold); the masters are told to exit afterwards, so the
    targets' sshd sessions end and their CPU is counted."""
    home = workdir / f"ansible-home-{n}-{forks or 'default'}"
    home.mkdir()
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
        "HOME": str(home),
        "LC_ALL": "C.UTF-8",
        "ANSIBLE_HOST_KEY_CHECKING": "True",  # against the lab's known_hosts, as ours
    }
    time.sleep(0.3)
    target0, children0 = reaped_cpu(lab), children_cpu()
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600, check=False)
    wall = time.perf_counter() - started
    controller = children_cpu() - children0
    for socket in (home / ".ansible" / "cp").glob("*"):
        exit_master = ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "lab"]
        subprocess.run(exit_master, capture_output=True, timeout=30, check=False)
    time.sleep(0.5)
    target = reaped_cpu(lab) - target0
    finished = done.stdout.count(marker(nonce, "Z"))
    if done.returncode != 0 or finished != n:
        print(
            f"  !! ansible: exit {done.returncode}, {finished}/{n} hosts ran the whole script: "
            f"{(done.stderr or done.stdout)[-500:]}"
        )
    return Run(wall, 0.0, controller, target)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
    parser.add_argument("--concurrency", type=int, default=32, help="as `compliance audit`")
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
    policy = shipped_policy("hosts/linux-baseline.yml")
    checks = list(load_host_policy(policy).checks)
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
        commands = {}
        cpu = {}
        cores = os.cpu_count() or 1
        for n in sorted(set(sizes + ansible_sizes)):
            run = ours(lab, n, workdir, policy, checks, args.concurrency)
            results[n] = run.wall
            commands[n] = command(lab, n, workdir, policy, args.concurrency)
            cpu[n] = run.auditor_cpu + run.target_cpu
            if n in sizes:
                floor = (run.auditor_cpu + run.target_cpu) / cores
                auditor, target = run.auditor_cpu / n * 1000, run.target_cpu / n * 1000
                print(
                    f"compliance audit: {n:>4} hosts x {len(checks)} checks: {run.wall:6.2f} s "
                    f"wall (storing {run.store:.2f} s), {run.wall / n * 1000:6.1f} ms/host, "
                    f"peak RSS {peak_mb():.0f} MB; CPU/host: auditor {auditor:.0f} ms, targets "
                    f"{target:.0f} ms (floor {floor:.2f} s on {cores} cores); {load()}"
                )
                print(f"  the command, timed as a user would: {commands[n]:6.2f} s wall")
        if len(sizes) > 1:
            growth = results[max(sizes)] / results[min(sizes)]
            print(f"growth {min(sizes)} -> {max(sizes)} hosts: {growth:.1f}x wall (in-process)")
            growth = commands[max(sizes)] / commands[min(sizes)]
            print(f"growth {min(sizes)} -> {max(sizes)} hosts: {growth:.1f}x wall (the command)")
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
                    run = ansible(lab, n, workdir, forks, venv, checks)
                    wall, spent = run.wall, run.auditor_cpu + run.target_cpu
                    label = "default forks (5)" if forks is None else f"forks={forks}"
                    print(
                        f"ansible-core -m shell: {n:>4} hosts, {label:>17}: {wall:6.2f} s wall, "
                        f"{wall / n * 1000:7.1f} ms/host; {wall / commands[n]:5.1f}x our "
                        f"command's {commands[n]:.2f} s ({wall / results[n]:.1f}x in-process); "
                        f"CPU/host: ansible {run.auditor_cpu / n * 1000:.0f}"
                        f" ms, targets {run.target_cpu / n * 1000:.0f} ms, {spent / cpu[n]:.1f}x "
                        f"our CPU; {load()}"
                    )


if __name__ == "__main__":
    main()
