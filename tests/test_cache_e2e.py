"""The result cache cannot lie: real git repositories, real bandit and semgrep.

Each hostile tree is scanned cold (empty cache), warm, and after one file changed (a source
file, or the tree's own bandit settings), and every time the exit code and the findings
(rule, place, fingerprint, status, blocking) must be those of a scan with the cache off.
Planted entries are misses. The suite-wide form of the same guard is
`COMPLIANCE_TEST_WARM_CHECK=1` (tests/conftest.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from compliance.store import Store
from tests.conftest import bandit_baseline, git, run_cli, sinks_policy, write_tree

pytestmark = pytest.mark.e2e

APP = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"
MORE = "\n\ndef digest(b):\n    import hashlib\n    return hashlib.md5(b).hexdigest()\n"
EMPTIED = "shell_injection:\n  subprocess: []\n  shell: []\n  no_shell: []\n"

# name: (files, (file to change, its new text))
TREES: dict[str, tuple[dict[str, str], tuple[str, str]]] = {
    "plain": ({"app.py": APP, "lib/util.py": "X = 1\n"}, ("lib/util.py", "X = 1\n" + MORE)),
    "nosec-and-nosemgrep": (
        {
            "app.py": APP + "\n\ndef ok():\n    subprocess.call('ls', shell=True)  # nosec\n",
            "tmp.py": "import tempfile\n\n\ndef f():\n"
            "    return tempfile.mktemp()  # nosemgrep: python-tempfile-mktemp\n",
        },
        ("tmp.py", "import tempfile\n\n\ndef f():\n    return tempfile.mktemp()\n"),
    ),
    "secrets": (
        {"settings.py": 'password = "hunter2hunter2hunter2"\n', "app.py": "X = 1\n"},
        ("app.py", 'token = "glpat-Zq8Xw3Vb6Nm1Lk4Jh7Gf"\n'),
    ),
    "parse-error": ({"app.py": APP, "broken.py": "def oops(:\n"}, ("broken.py", "X = 2\n")),
    "bandit-ini-skips": (
        {"app.py": APP, ".bandit": "[bandit]\nskips = B602\n"},
        (".bandit", "[bandit]\nskips = B404\n"),
    ),
    "configfile-empties-functions": (
        {"app.py": APP, ".bandit": "[bandit]\nconfigfile = bandit.yml\n", "bandit.yml": "{}\n"},
        ("bandit.yml", EMPTIED),  # only the file .bandit points to changes
    ),
    "pyproject-exclude-dirs": (
        {
            "vendored/app.py": APP,
            "main.py": "X = 1\n",
            "pyproject.toml": '[tool.bandit]\nexclude_dirs = ["vendored"]\n',
        },
        ("pyproject.toml", '[tool.bandit]\nexclude_dirs = ["nothing-here"]\n'),
    ),
    "bandit-baseline": ({"app.py": APP}, ("bandit-baseline.json", '{"results": []}\n')),
}
REPORT = ["plain", "nosec-and-nosemgrep", "secrets", "parse-error", "bandit-ini-skips"]
APPLY = ["bandit-ini-skips", "configfile-empties-functions", "pyproject-exclude-dirs"]
CASES = [(n, "report") for n in REPORT] + [(n, "apply") for n in [*APPLY, "bandit-baseline"]]


def commit(root: Path, files: dict[str, str], message: str) -> None:
    write_tree(root, files)
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def hostile_tree(root: Path, name: str) -> Path:
    files, _ = TREES[name]
    commit(root, files, name)
    if name == "bandit-baseline":  # a committed baseline listing the tree's own B602
        bandit_baseline(root, "app.py")
        commit(root, {".bandit": "[bandit]\nbaseline = bandit-baseline.json\n"}, "baseline")
    return root


class Scans:
    """Scans of one tree, each into a fresh database, with or without the shared cache."""

    def __init__(self, tmp_path: Path, tree: Path, policy: Path) -> None:
        self.tmp, self.tree, self.policy = tmp_path, tree, policy
        self.cache = tmp_path / "cache"
        self.count = 0

    def outcome(self, cached: bool) -> tuple[Any, ...]:
        self.count += 1
        db = self.tmp / f"scan-{self.count}.db"
        env = {"COMPLIANCE_CACHE_DIR": str(self.cache) if cached else "off"}
        run = run_cli("scan", self.tree, "--db", db, "--policy", self.policy, env=env)
        assert "Traceback" not in run.stderr, run.stderr
        store = Store.open(str(db))
        try:
            (scan,) = store.scans()
            rows = sorted(
                (f.scanner, f.rule_id, f.path, f.start_line, f.fingerprint, f.status, f.blocking)
                for f in store.findings(int(scan.id or 0))
            )
            return (run.code, scan.verdict, scan.coverage, rows)
        finally:
            store.engine.dispose()


@pytest.mark.parametrize(("name", "mode"), CASES)
def test_cold_warm_and_changed_scans_give_the_uncached_verdict(
    tmp_path, policy_file, name, mode
) -> None:
    tree = hostile_tree(tmp_path / "repo", name)
    policy = policy_file(f"scanners: [bandit, semgrep]\nrepository_config: {mode}\n")
    scans = Scans(tmp_path, tree, policy)
    truth = scans.outcome(cached=False)
    assert scans.outcome(cached=True) == truth, "cold"
    assert scans.outcome(cached=True) == truth, "warm"

    changed, text = TREES[name][1]
    (tree / changed).write_text(text)
    git(tree, "commit", "-qam", "one file changed")
    changed_truth = scans.outcome(cached=False)
    if mode == "report" and name in APPLY:
        assert changed_truth == truth  # the tree's bandit settings do not count here
    else:
        assert changed_truth != truth  # the change matters, so a stale entry would show
    assert scans.outcome(cached=True) == changed_truth, "after one change"


def test_planted_entries_are_misses_and_are_overwritten(tmp_path) -> None:
    """Whoever can write the cache file (a job that shares the runner, the tree if the cache
    were inside it) rewrites every entry to "nothing found": the next scan does not
    believe it, and its fresh results replace the planted ones."""
    tree = hostile_tree(tmp_path / "repo", "plain")
    cache = tmp_path / "cache"
    env = {"COMPLIANCE_CACHE_DIR": str(cache)}
    policy = ("--policy", sinks_policy(tmp_path / "trusted"))  # the bare shell=True blocks
    assert run_cli("scan", tree, *policy, "--db", tmp_path / "1.db", env=env).code == 1
    (database,) = cache.glob("results-v*.sqlite")
    with sqlite3.connect(database) as db:
        planted = db.execute("UPDATE entry SET value = ?", ('{"results": [], "suppressed": []}',))
        assert planted.rowcount > 0
    run = run_cli("scan", tree, *policy, "--db", tmp_path / "2.db", env=env)
    assert run.code == 1, run.stdout + run.stderr
    assert "app.py:5  bandit B602" in run.stdout
    with sqlite3.connect(database) as db:
        values = [v for (v,) in db.execute("SELECT value FROM entry")]
    assert any("B602" in v for v in values)


def test_an_unsafe_key_file_turns_the_cache_off_and_says_so(tmp_path) -> None:
    tree = hostile_tree(tmp_path / "repo", "plain")
    cache = tmp_path / "cache"
    env = {"COMPLIANCE_CACHE_DIR": str(cache)}
    policy = ("--policy", sinks_policy(tmp_path / "trusted"))  # the bare shell=True blocks
    assert run_cli("scan", tree, *policy, "--db", tmp_path / "1.db", env=env).code == 1
    (cache / "key").chmod(0o666)
    run = run_cli("scan", tree, *policy, "--db", tmp_path / "2.db", env=env)
    assert run.code == 1, run.stdout + run.stderr
    assert "warning: result cache off for this run: the key file" in run.stderr
    assert f"chmod 600 {cache / 'key'}" in run.stderr


def test_a_changed_rule_file_changes_the_result(tmp_path, policy_file) -> None:
    tree = hostile_tree(tmp_path / "repo", "plain")
    policy = policy_file("scanners: [semgrep]\nper_scanner:\n  semgrep:\n    rules: [rules.yml]\n")
    rule = (
        "rules:\n- id: shell-call\n  pattern: {pattern}\n  message: shell call\n"
        "  languages: [python]\n  severity: ERROR\n"
    )
    rules = policy.parent / "rules.yml"
    rules.write_text(rule.format(pattern="eval(...)"))
    scans = Scans(tmp_path, tree, policy)
    assert scans.outcome(cached=True)[0] == 0
    rules.write_text(rule.format(pattern="subprocess.call(...)"))  # same file name, new rule
    assert scans.outcome(cached=True) == scans.outcome(cached=False)
    assert scans.outcome(cached=True)[0] == 1
