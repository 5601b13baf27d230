"""Dependency audit of a 300-package lock file: the gate cold and warm against pip-audit
run by hand on the same file (issue 15's targets: <= 1x cold, <= 0.1x warm).

    .venv/bin/python benchmarks/lock_audit.py [DB]

DB defaults to ../shared/data/pypa-advisory-db (read in place, never copied). The lock is
a pylock.toml (PEP 751) of 300 packages the database has records for, at versions its
ranges mention, so a good share are vulnerable. Both sides ask the same local advisories:

- by hand: `pip-audit --locked DIR` against `compliance advisories serve DB` (already
  started and indexed: its start-up is not counted), cold with an empty pip-audit cache,
  warm with the cache the cold run left;
- the gate: `compliance scan DIR --advisory-db DB` (its default index engine matches in
  process; with `dependencies.engine: pip-audit` the mirror it starts is counted), cold
  with an empty result cache but the advisory index already built (as after any earlier
  scan with that database), warm with the cache the cold run left. The first scan ever,
  which also builds the index, is printed too.

Every run is a fresh process. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from advisory_mirror import serve_startup

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / ".." / "shared" / "data" / "pypa-advisory-db"
BIN = Path(sys.executable).parent
PACKAGES = 300


def pick_packages(db: Path, count: int) -> list[tuple[str, str]]:
    """(name, version) for `count` packages of the database, at a version its ranges name."""
    picked: list[tuple[str, str]] = []
    for folder in sorted((db / "vulns").iterdir()):
        if not folder.is_dir():
            continue
        text = " ".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))[:2])
        versions = re.findall(r'(?:introduced|fixed): "?([0-9]+(?:\.[0-9]+){1,2})"?', text)
        version = next((v for v in versions if v != "0"), None)
        if version:
            picked.append((folder.name, version))
        if len(picked) == count:
            break
    return picked


def write_lock(folder: Path, packages: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    entries = "".join(
        f'[[packages]]\nname = "{name}"\nversion = "{version}"\n' for name, version in packages
    )
    (folder / "pylock.toml").write_text(
        f'lock-version = "1.0"\ncreated-by = "benchmark"\n{entries}', encoding="utf-8"
    )


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - started, run


def by_hand(tree: Path, url: str, cache: Path) -> tuple[float, int, int]:
    argv = [
        str(BIN / "pip-audit"), "--locked", str(tree), "-s", "osv", "--osv-url", url,
        "-f", "json", "--progress-spinner", "off", "--cache-dir", str(cache),
        "--desc", "on", "--aliases", "on",
    ]  # fmt: skip
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    seconds, run = timed(argv, env)
    try:
        deps = json.loads(run.stdout)["dependencies"]
        vulns = sum(len(d.get("vulns") or []) for d in deps)
    except (ValueError, KeyError, TypeError):
        raise SystemExit(f"pip-audit failed (exit {run.returncode}): {run.stderr[-500:]}") from None
    return seconds, len(deps), vulns


def gate(tree: Path, db: Path, cache: Path, work: Path, n: int) -> tuple[float, int, int]:
    policy = work / "policy.yml"
    policy.write_text("version: 1\nscanners: [pip-audit]\nwaivers: null\n", encoding="utf-8")
    store = work / f"scan-{n}.sqlite"
    argv = [
        str(BIN / "compliance"), "scan", str(tree), "--policy", str(policy),
        "--db", str(store), "--advisory-db", str(db),
    ]  # fmt: skip
    seconds, run = timed(argv, {**os.environ, "COMPLIANCE_CACHE_DIR": str(cache)})
    if run.returncode not in (0, 1):
        raise SystemExit(f"compliance scan exited {run.returncode}: {run.stderr[-800:]}")
    listed = subprocess.run(
        [str(BIN / "compliance"), "findings", "--db", str(store), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    findings = json.loads(listed.stdout)
    return seconds, run.returncode, len([f for f in findings if f["package"]])


def main() -> None:
    db = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DB
    if not (db / "vulns").is_dir():
        raise SystemExit(f"no advisory database at {db} (expected {db}/vulns); pass its path")
    packages = pick_packages(db, PACKAGES)
    with tempfile.TemporaryDirectory(prefix="lock-audit-") as tmp:
        work = Path(tmp)
        tree = work / "tree"
        write_lock(tree, packages)
        first, _, _ = gate(tree, db, work / "first-cache", work, 0)  # builds the index too
        _, mirror, port = serve_startup(db, work / "first-cache")
        url = f"http://127.0.0.1:{port}/v1/query"
        try:
            hand_cold, deps, vulns = by_hand(tree, url, work / "pip-audit-cache")
            hand_warm, _, _ = by_hand(tree, url, work / "pip-audit-cache")
        finally:
            mirror.terminate()
            mirror.wait(timeout=10)
        gate_cache = work / "gate-cache"
        gate_cache.mkdir()
        (gate_cache / "advisories").symlink_to(work / "first-cache" / "advisories")
        cold, code, found = gate(tree, db, gate_cache, work, 1)
        warm, warm_code, warm_found = gate(tree, db, gate_cache, work, 2)
    print(f"lock file: pylock.toml, {len(packages)} packages; database {db.resolve()}")
    print(f"pip-audit by hand: {deps} packages, {vulns} advisories")
    print(f"  cold (empty pip-audit cache): {hand_cold:.2f} s")
    print(f"  warm (its cache from the cold run): {hand_warm:.2f} s")
    print(f"compliance scan: exit {code}, {found} dependency findings (warm: exit {warm_code}, "
          f"{warm_found})")  # fmt: skip
    print(f"  first scan ever (builds the advisory index): {first:.2f} s")
    print(f"  cold (index built, empty result cache): {cold:.2f} s = "
          f"{cold / hand_cold:.2f}x pip-audit cold (target <= 1x)")  # fmt: skip
    print(f"  warm (result cache from the cold run): {warm:.2f} s = "
          f"{warm / hand_warm:.2f}x pip-audit warm (target <= 0.1x)")  # fmt: skip


if __name__ == "__main__":
    main()
