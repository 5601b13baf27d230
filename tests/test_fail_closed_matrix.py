"""Fail closed, for every scanner and every way a tool can let the gate down.

Every cell runs the real `compliance scan` in a subprocess and asserts exit 2, a line on
stderr naming the scanner, and a stored scan with status `errored` (never `complete`).

Stand-ins: apart from "binary missing" (a pinned path that does not exist), the tools here
are small Python scripts pinned with COMPLIANCE_<TOOL>_BIN. The real bandit, semgrep and
pip-audit cannot be made to segfault, hang, print garbage or silently skip a file on
demand; the real tools' own failure modes (unparseable files, bad rules, offline advisory
service, tiny timeouts) are covered by the e2e tests of each scanner.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_tree

FAULTS = ("missing", "crash", "timeout", "garbage", "partial")
TIMEOUT = 3  # seconds the policy gives the stand-in that never finishes

# One stand-in for all three tools: it answers --version, then misbehaves as FAKE_FAULT says.
STAND_IN = """#!{python}
import json, os, sys, time
tool, fault, argv = {tool!r}, os.environ["FAKE_FAULT"], sys.argv[1:]
if "--version" in argv:
    print({{"bandit": "bandit 9.9.9", "semgrep": "9.9.9", "pip-audit": "pip-audit 9.9.9"}}[tool])
    sys.exit(0)
if fault == "crash":
    sys.stderr.write("Segmentation fault\\n")
    sys.exit(139)
if fault == "timeout":
    time.sleep(600)
files = argv[argv.index("--") + 1:] if "--" in argv else []
if tool == "pip-audit":
    pins = open(argv[argv.index("-r") + 1]).read().split()
    first = pins[0].split("==")
    report = {{"dependencies": [{{"name": first[0], "version": first[1], "vulns": []}}],
               "fixes": []}}
elif tool == "bandit":
    report = {{"results": [], "errors": [],
               "metrics": {{"./" + files[0]: {{"loc": 1, "nosec": 0, "skipped_tests": 0}}}}}}
else:
    report = {{"version": "9.9.9", "results": [], "errors": [],
               "paths": {{"scanned": files[:1]}}}}
text = "<html>proxy login required</html>" if fault == "garbage" else json.dumps(report)
if "--output" in argv:
    open(argv[argv.index("--output") + 1], "w").write(text)
else:
    print(text)
"""

# What the one line on stderr must say, beyond naming the tool ({tool} is filled in).
REASONS = {
    "missing": "{tool} not found at",
    "crash": "{tool} exited with code 139: Segmentation fault",
    "timeout": f"{{tool}} did not finish within {TIMEOUT}s and was killed",
    "garbage": {
        "bandit": "bandit wrote invalid JSON",
        "semgrep": "semgrep printed invalid JSON",
        "pip-audit": "pip-audit wrote a report that is not the JSON expected",
    },
    "partial": {
        "bandit": "bandit did not report on a file it was asked to scan in b.py",
        "semgrep": "semgrep did not scan a file its rules apply to in b.py",
        "pip-audit": "pip-audit did not report on beta-pkg==2.0 in requirements.txt",
    },
}

TREES = {
    "bandit": {"a.py": "x = 1\n", "b.py": "y = 2\n"},
    "semgrep": {"a.py": "x = 1\n", "b.py": "y = 2\n"},
    "pip-audit": {"requirements.txt": "alpha-pkg==1.0\nbeta-pkg==2.0\n"},
}


def stand_in(tmp_path: Path, tool: str, fault: str) -> dict[str, str]:
    variable = "COMPLIANCE_" + tool.upper().replace("-", "_") + "_BIN"
    if fault == "missing":
        return {variable: str(tmp_path / "nonexistent" / tool)}
    script = tmp_path / f"fake-{tool}"
    script.write_text(STAND_IN.format(python=sys.executable, tool=tool))
    script.chmod(0o755)
    return {variable: str(script), "FAKE_FAULT": fault}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("tool", sorted(TREES))
def test_every_scanner_fails_closed(tmp_path: Path, tool: str, fault: str) -> None:
    tree = write_tree(tmp_path / "repo", TREES[tool])
    policy = tmp_path / "policy.yml"
    policy.write_text(
        f"version: 1\nscanners: [{tool}]\nwaivers: null\n"
        f"per_scanner:\n  {tool}:\n    timeout: {TIMEOUT}\n"
    )
    db = tmp_path / "store.db"
    env = {**stand_in(tmp_path, tool, fault), "COMPLIANCE_CACHE_DIR": str(tmp_path / "cache")}
    run = run_cli("scan", tree, "--db", db, "--policy", policy, env=env, timeout=120)
    assert run.code == 2, (run.stdout, run.stderr)
    reason = REASONS[fault]
    reason = reason[tool] if isinstance(reason, dict) else reason.format(tool=tool)
    assert f"error: {tool}: {reason}" in run.stderr, run.stderr
    (scan,) = run_cli("scans", "--db", db, "--json").json()
    assert scan["status"] == "errored" and scan["verdict"] == "error", scan
    assert scan["exit_code"] == 2
    # and again from the cache that run left: a fault is never cached into a pass
    again = run_cli("scan", tree, "--db", tmp_path / "again.db", "--policy", policy, env=env)
    assert again.code == 2 and f"error: {tool}: {reason}" in again.stderr, again.stderr
