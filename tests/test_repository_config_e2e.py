"""The repository does not configure the gate: real git repositories, real bandit/semgrep.

Every tree here commits a new `subprocess.call(cmd, shell=True)` (bandit B602, high under
these tests' policies: conftest.SINKS_BLOCK) plus one
of the ways bandit lets a repository hide it. Before `repository_config`, the gate applied
`.bandit` and `[tool.bandit]` by itself and passed (exit 0) on most of them. Now the default
(`report`) blocks and names the setting; `apply` does what bandit would do and lists what it
skipped; `ignore` does not even read the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import SINKS_BLOCK, bandit_baseline, git, run_cli, sinks_policy, write_tree

pytestmark = pytest.mark.e2e

APP = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"
EMPTIED = "shell_injection:\n  subprocess: []\n  shell: []\n  no_shell: []\n"

HOSTILE: dict[str, dict[str, str]] = {
    "bandit-ini-skips": {"app.py": APP, ".bandit": "[bandit]\nskips = B602\n"},
    "pyproject-skips": {"app.py": APP, "pyproject.toml": '[tool.bandit]\nskips = ["B602"]\n'},
    "configfile-empties-functions": {
        "app.py": APP,
        ".bandit": "[bandit]\nconfigfile = bandit.yml\n",
        "bandit.yml": EMPTIED,
    },
    "profile-excludes-test": {
        "app.py": APP,
        ".bandit": "[bandit]\nconfigfile = bandit.yml\nprofile = quiet\n",
        "bandit.yml": "profiles:\n  quiet:\n    include: [B101]\n",
    },
    "pyproject-exclude-dirs": {
        "vendored/app.py": APP,
        "main.py": "print('hi')\n",
        "pyproject.toml": '[tool.bandit]\nexclude_dirs = ["vendored"]\n',
    },
}
MARKERS = {
    "bandit-ini-skips": ".bandit:2: skips = B602",
    "pyproject-skips": 'pyproject.toml [tool.bandit]:2: skips = ["B602"]',
    "configfile-empties-functions": "bandit.yml:1: shell_injection",
    "profile-excludes-test": ".bandit:3: profile = quiet",
    "pyproject-exclude-dirs": 'pyproject.toml [tool.bandit]:2: exclude_dirs = ["vendored"]',
}


def repository(root: Path, files: dict[str, str]) -> Path:
    write_tree(root, files)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a merge request")
    return root


def with_baseline(root: Path) -> Path:
    """A tree whose committed bandit baseline lists the B602 it introduces, made by the
    real bandit exactly as the gate runs it (file named on the command line)."""
    write_tree(root, {"app.py": APP, ".bandit": "[bandit]\nbaseline = bandit-baseline.json\n"})
    assert "B602" in bandit_baseline(root, "app.py").read_text()
    return repository(root, {})


def scan(tree: Path, db: str, policy: Path | None = None) -> tuple[int, str, str, dict]:
    if policy is None:  # the shipped defaults, sinks blocking (conftest.SINKS_BLOCK)
        policy = sinks_policy(tree.parent / f"{tree.name}-policy")
    args: list[str | Path] = ["scan", tree, "--db", db, "--policy", policy]
    run = run_cli(*args)
    stored = run_cli("scans", "--db", db, "--json", "--limit", "1").json()[0]
    return run.code, run.stdout, run.stderr, stored


def findings(db: str) -> list[dict]:
    return run_cli("findings", "--db", db, "--json").json()


def b602(db: str) -> dict:
    return next(f for f in findings(db) if f["rule_id"] == "B602")


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_default_policy_blocks_and_names_the_setting(tmp_path, db, case):
    tree = repository(tmp_path / "repo", HOSTILE[case])
    code, out, err, stored = scan(tree, db)
    assert code == 1, out + err
    assert b602(db)["status"] == "open" and b602(db)["blocking"]
    line = next(line for line in out.splitlines() if MARKERS[case] in line)
    assert line.lstrip().startswith("not applied bandit") and "would" in line, line
    assert "B602" in line or "vendored/app.py" in line, line  # what it would have changed
    config = stored["repository_config"]
    assert config["mode"] == "report" and config["skipped_tests"] == []
    assert any(s["file"] in MARKERS[case] and not s["applied"] for s in config["settings"])


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_apply_does_what_bandit_does_and_lists_it(tmp_path, db, policy_file, case):
    tree = repository(tmp_path / "repo", HOSTILE[case])
    code, out, err, stored = scan(tree, db, policy_file(SINKS_BLOCK + "repository_config: apply\n"))
    assert code == 0, out + err
    assert all(f["rule_id"] != "B602" for f in findings(db))
    line = next(line for line in out.splitlines() if MARKERS[case] in line)
    assert line.lstrip().startswith("APPLIED"), line
    config = stored["repository_config"]
    assert config["mode"] == "apply"
    if case == "pyproject-exclude-dirs":
        assert config["excluded_files"] == ["vendored/app.py"]
        assert "excluded files (applied, 1): vendored/app.py" in out
        assert stored["coverage"]["bandit"] == {"requested": 1, "scanned": 1}
    elif case == "profile-excludes-test":
        assert config["skipped_tests"] == ["all but B101"]
    else:
        assert "B602" in config["skipped_tests"]
        assert "skipped tests (applied): " in out and "B602" in out


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_ignore_reads_nothing_and_lists_nothing(tmp_path, db, policy_file, case):
    tree = repository(tmp_path / "repo", HOSTILE[case])
    code, out, err, stored = scan(
        tree, db, policy_file(SINKS_BLOCK + "repository_config: ignore\n")
    )
    assert code == 1, out + err
    assert "repository scanner settings" not in out
    assert stored["repository_config"] == {
        "mode": "ignore",
        "settings": [],
        "skipped_tests": [],
        "excluded_files": [],
    }


def test_committed_bandit_baseline_does_not_hide_the_finding(tmp_path, db, policy_file):
    tree = with_baseline(tmp_path / "repo")
    code, out, err, stored = scan(tree, db)
    assert stored["repository_config"]["mode"] == "report"
    assert code == 1, out + err
    assert b602(db)["status"] == "open"
    line = next(line for line in out.splitlines() if ".bandit:2: baseline" in line)
    assert "would hide the findings bandit-baseline.json lists" in line
    assert "app.py:5 B602" in line, line

    applied = tmp_path / "applied.db"
    code, out, err, _ = scan(
        tree, str(applied), policy_file(SINKS_BLOCK + "repository_config: apply\n")
    )
    assert code == 0, out + err
    # bandit would drop it; the gate keeps it visible as suppressed, and says so
    assert b602(str(applied))["status"] == "suppressed"
    line = next(line for line in out.splitlines() if ".bandit:2: baseline" in line)
    assert line.lstrip().startswith("APPLIED") and "stored as suppressed: " in line
    assert "app.py:5 B602" in line


def test_bandit_reads_no_settings_from_the_tree_by_itself(tmp_path, db):
    """Settings everywhere bandit (or a tool around it) might look, in the root and in the
    scanned file's own folder: the default policy still sees the B602 in both files."""
    skip = "[bandit]\nskips = B602,B404\nexclude = pkg\n"
    tree = repository(
        tmp_path / "repo",
        {
            "app.py": APP,
            "pkg/mod.py": APP,
            ".bandit": skip,
            "pkg/.bandit": skip,
            "pyproject.toml": '[tool.bandit]\nskips = ["B602"]\n',
            "pkg/pyproject.toml": '[tool.bandit]\nskips = ["B602"]\n',
            "setup.cfg": "[bandit]\nskips = B602\n[tool:bandit]\nskips = B602\n",
            "tox.ini": "[bandit]\nskips = B602\n",
        },
    )
    code, out, err, _ = scan(tree, db)
    assert code == 1, out + err
    hits = sorted((f["path"], f["rule_id"]) for f in findings(db) if f["scanner"] == "bandit")
    assert hits == [
        ("app.py", "B404"),
        ("app.py", "B602"),
        ("pkg/mod.py", "B404"),
        ("pkg/mod.py", "B602"),
    ]
    assert "setup.cfg [bandit]:2: skips = B602: not applied: bandit itself never reads" in out
    assert "setup.cfg [tool:bandit]:4" in out and "tox.ini [bandit]:2" in out


def test_semgrep_ignores_the_trees_semgrepignore_and_rules(tmp_path, db, policy_file):
    """The real semgrep (its OCaml CLI, as the gate runs it) with a tree that tries to hide
    a secret with `.semgrepignore` and to run its own rules: neither happens, both listed."""
    rule = (
        "rules:\n- id: tree-rule\n  pattern: $X = $Y\n  message: planted\n"
        "  languages: [python]\n  severity: ERROR\n"
    )
    tree = repository(
        tmp_path / "repo",
        {
            "settings.py": 'password = "hunter2hunter2hunter2"\n',
            ".semgrepignore": "settings.py\n*.py\n",
            ".semgrep.yml": rule,
            ".semgrep/more.yml": rule.replace("tree-rule", "tree-rule-2"),
        },
    )
    for mode in ("report", "apply"):
        store = str(tmp_path / f"{mode}.db")
        policy = policy_file(SINKS_BLOCK + f"scanners: [semgrep]\nrepository_config: {mode}\n")
        code, out, err, stored = scan(tree, store, policy)
        assert code == 1, out + err
        rules = {f["rule_id"] for f in findings(store)}
        assert "secret-password-literal" in rules and not any(r.startswith("tree") for r in rules)
        assert ".semgrepignore: ignore patterns = settings.py, *.py: never applied" in out
        assert "it would exclude 1 file" in out and ".semgrep.yml: rules: never applied" in out
        assert ".semgrep/: rules" in out
        assert not any(s["applied"] for s in stored["repository_config"]["settings"])


GARBAGE = {
    "invalid-toml": ({"pyproject.toml": "[tool.bandit]\nskips = [\n"}, "pyproject.toml:3"),
    "invalid-ini": ({".bandit": "skips = B602\n[bandit\n"}, ".bandit:1"),
    "duplicate-key": ({".bandit": "[bandit]\nskips = B1\nskips = B2\n"}, ".bandit:3"),
    "yaml-alias-bomb": (
        {
            ".bandit": "[bandit]\nconfigfile = bandit.yml\n",
            "bandit.yml": 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nskips: *c\n',
        },
        "bandit.yml:2",
    ),
    "configfile-outside": (
        {".bandit": "[bandit]\nconfigfile = /etc/passwd\n"},
        ".bandit:2: configfile: points outside the scanned tree",
    ),
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_garbage_is_listed_in_report_mode_and_an_error_in_apply_mode(
    tmp_path, db, policy_file, case
):
    files, where = GARBAGE[case]
    tree = repository(tmp_path / "repo", {"app.py": APP, **files})
    # without pip-audit: a pyproject.toml it cannot read is its error (test_manifests_e2e)
    code, out, err, _ = scan(tree, db, policy_file(SINKS_BLOCK + "scanners: [bandit, semgrep]\n"))
    assert code == 1, out + err
    assert "Traceback" not in err
    line = next(line for line in out.splitlines() if "unreadable, not applied" in line)
    assert where.split(": ")[0] in line, line

    apply = policy_file(SINKS_BLOCK + "repository_config: apply\n")
    code, out, err, _ = scan(tree, str(tmp_path / "apply.db"), apply)
    assert code == 2, out + err
    assert "Traceback" not in err
    assert f"cannot apply the repository's bandit settings: {where}" in err, err
    assert "repository_config: report" in err  # what to do about it


def test_settings_that_leave_the_tree_are_never_read(tmp_path, db, policy_file):
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")
    tree = repository(tmp_path / "repo", {"app.py": APP})
    os.symlink(secret, tree / ".bandit")
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "link")
    code, out, err, stored = scan(tree, db, policy_file(SINKS_BLOCK + "scanners: [bandit]\n"))
    # the link out of the tree is itself an error (sources.survey), and the finding still shows
    assert code == 2, out + err
    assert "symlink leaving the scanned tree" in err
    assert "1 blocking finding(s)" in out
    assert ".bandit: (file): unreadable, not applied: is a symlink out of the scanned tree" in out
    assert "PRIVATE KEY" not in out + err + json.dumps(stored)


def test_a_value_cannot_forge_a_summary_line(tmp_path, db):
    forged = '[tool.bandit]\nskips = ["B602\\nverdict: PASS (exit 0)"]\n'
    tree = repository(tmp_path / "repo", {"app.py": APP, "pyproject.toml": forged})
    code, out, err, _ = scan(tree, db)
    assert code == 1, out + err
    assert "verdict: PASS (exit 0)" not in out.splitlines()
    assert r"B602\nverdict: PASS (exit 0)" in out


def test_reports_show_the_settings(tmp_path, db):
    tree = repository(tmp_path / "repo", HOSTILE["bandit-ini-skips"])
    html, report = tmp_path / "report.html", tmp_path / "report.json"
    run = run_cli(
        "scan",
        tree,
        "--db",
        db,
        "--policy",
        sinks_policy(tmp_path / "policy"),
        "--output",
        f"html:{html}",
        "--output",
        f"json:{report}",
    )
    assert run.code == 1, run.stdout + run.stderr
    page = html.read_text()
    assert "Repository scanner settings" in page and "repository_config: report" in page
    assert "would skip test B602" in page and "<code>.bandit:2</code>" in page
    stored = json.loads(report.read_text())["scan"]["repository_config"]
    assert stored["mode"] == "report"
    assert [(s["file"], s["key"], s["applied"]) for s in stored["settings"]] == [
        (".bandit", "skips", False)
    ]
