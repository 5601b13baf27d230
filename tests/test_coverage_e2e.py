"""What is not scanned is said, never silently dropped (issue 13, point 7).

Every test builds a real git repository, runs the real `compliance scan` with real bandit and
semgrep, and reads what the store kept. Each would pass a hostile change on the code before
this point: the Python, secret or link it plants was dropped without a word.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SINKS_BLOCK, Run, git, run_cli, sinks_policy

pytestmark = pytest.mark.e2e

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITLAB_TOKEN = "glpat-Zq8Xw3Vb6Nm1Lk4Jh7Gf"
SHELL_AND_MKTEMP = b"import os, tempfile\nos.system(cmd)\nname = tempfile.mktemp()\n"


def repository(root: Path, files: dict[str | bytes, bytes | str]) -> Path:
    """A git repository holding `files` (bytes names for names that are not UTF-8), committed."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for name, content in files.items():
        path = Path(os.fsdecode(name))
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(content if isinstance(content, bytes) else content.encode())
    git(root, "add", "-A")
    git(root, "commit", "-qm", "tree")
    return root


def policy(tmp_path: Path, text: str = "", scanners: str = "bandit, semgrep") -> Path:
    path = tmp_path / f"policy-{len(list(tmp_path.glob('policy-*')))}.yml"
    path.write_text(f"version: 1\nscanners: [{scanners}]\nwaivers: null\n" + SINKS_BLOCK + text)
    return path


def scan(
    tmp_path: Path, root: Path, *args: str | Path, db: str | None = None, policy_path: Path | None
) -> Run:
    """`compliance scan` with its own result cache and store; `policy_path` None: shipped."""
    chosen = ["--policy", str(policy_path)] if policy_path is not None else []
    return run_cli(
        "scan",
        root,
        *chosen,
        "--db",
        db or str(tmp_path / "store.db"),
        "--output",
        f"json:{tmp_path / 'report.json'}",
        *args,
        env={"COMPLIANCE_CACHE_DIR": str(tmp_path / "cache")},
        cwd=tmp_path,
    )


def stored(tmp_path: Path, db: str | None = None) -> list[dict[str, Any]]:
    listed = run_cli("findings", "--db", db or str(tmp_path / "store.db"), "--json")
    assert listed.code == 0, listed.stderr
    return list(listed.json())


def where(findings: list[dict[str, Any]], scanner: str, rule: str) -> set[tuple[str, int]]:
    """Where the tool reported the rule: its own findings, and those merged into another
    tool's finding of the same flaw (`also`, weakness.merge_flaws: bandit's B306 and
    semgrep's mktemp rule on one line are one issue)."""
    return {
        (f["path"], f["line"])
        for f in findings
        for member in [f, *f.get("also", [])]
        if (member["scanner"], member["rule_id"]) == (scanner, rule)
    }


def test_shebang_scripts_and_stubs_are_python_to_bandit_and_semgrep(tmp_path: Path) -> None:
    root = repository(
        tmp_path / "repo",
        {
            "bin/deploy": b"#!/usr/bin/env python3\n" + SHELL_AND_MKTEMP,
            "bin/unbuffered": b"#!/usr/bin/python3 -u\n" + SHELL_AND_MKTEMP,
            "bin/split": b"#!/usr/bin/env -S python3 -X dev\n" + SHELL_AND_MKTEMP,
            "typing/api.pyi": SHELL_AND_MKTEMP,
            "bin/hello": b"#!/bin/sh\necho hello\n",  # not Python: bandit must not read it
        },
    )
    run = scan(tmp_path, root, policy_path=policy(tmp_path))
    assert run.code == 1, run.stdout + run.stderr
    assert "error:" not in run.stderr
    findings = stored(tmp_path)
    scripts = {("bin/deploy", 3), ("bin/unbuffered", 3), ("bin/split", 3), ("typing/api.pyi", 2)}
    assert where(findings, "bandit", "B605") == scripts
    mktemp = {(path, line + 1) for path, line in scripts}
    assert where(findings, "semgrep", "python-tempfile-mktemp") == mktemp
    assert re.search(r"bandit [\d.]+: 4/4 files", run.stdout), run.stdout


def notebook(*cells: dict[str, Any], language: str = "python") -> bytes:
    document = {
        "cells": list(cells),
        "metadata": {"kernelspec": {"name": "k", "language": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=1).encode()


def code(*lines: str, outputs: list[Any] | None = None) -> dict[str, Any]:
    source = [line + "\n" for line in lines]
    return {"cell_type": "code", "metadata": {}, "outputs": outputs or [], "source": source}


MARKDOWN = {"cell_type": "markdown", "metadata": {}, "source": ["# Analysis\n"]}
CELLS = (
    MARKDOWN,
    code(
        "%matplotlib inline",
        "import os, tempfile",
        "!curl -s https://example.org/setup.sh | sh",
        "files = !ls {folder}",
        "os.system(cmd)",
        outputs=[
            {
                "output_type": "stream",
                "name": "stdout",
                "text": [f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"],
            }
        ],
    ),
    code("%%bash", "echo $HOME"),
    code("%%time", "name = tempfile.mktemp()"),
    code("for item in items:", "    %time work(item)", "os?"),
)


def test_notebook_code_cells_are_scanned_and_findings_name_cell_and_line(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo", {"nb/analysis.ipynb": notebook(*CELLS)})
    run = scan(tmp_path, root, policy_path=policy(tmp_path))
    assert run.code == 1, run.stdout + run.stderr
    assert "error:" not in run.stderr
    findings = stored(tmp_path)
    by_rule = {(f["scanner"], f["rule_id"], f["line"]): f for f in findings}
    shell = by_rule["bandit", "B605", 5]
    assert shell["path"] == "nb/analysis.ipynb"
    assert "notebook cell 2, line 5" in shell["message"]
    assert shell["evidence"] == "os.system(cmd)"
    # bandit's B306 and semgrep's mktemp rule on that line are one issue (weakness.py)
    mktemp = by_rule["bandit", "B306", 2]
    assert [m["rule_id"] for m in mktemp["also"]] == ["python-tempfile-mktemp"]
    assert "notebook cell 4, line 2" in mktemp["message"]
    escapes = [f for f in findings if f["rule_id"] == "python-notebook-shell-command"]
    assert sorted((f["line"], f["evidence"]) for f in escapes) == [
        (1, "%%bash"),
        (3, "!curl -s https://example.org/setup.sh | sh"),
        (4, "files = !ls {folder}"),
    ]
    # a secret in a cell's output is found in the notebook file itself
    assert any(f["rule_id"] == "secret-aws-secret-access-key" for f in findings)
    assert "nb/analysis.ipynb[cell 2]:5" in run.stdout  # the summary's location

    # a cell inserted above moves every finding to another cell: fingerprints stay
    before = {(f["rule_id"], f["fingerprint"]) for f in findings if f["scanner"] == "bandit"}
    (root / "nb/analysis.ipynb").write_bytes(notebook(MARKDOWN, code("x = 1"), *CELLS))
    git(root, "commit", "-qam", "a cell above")
    again = scan(tmp_path, root, db=str(tmp_path / "again.db"), policy_path=policy(tmp_path))
    assert again.code == 1, again.stdout + again.stderr
    moved = stored(tmp_path, str(tmp_path / "again.db"))
    assert {(f["rule_id"], f["fingerprint"]) for f in moved if f["scanner"] == "bandit"} == before
    assert any("notebook cell 4, line 5" in f["message"] for f in moved if f["rule_id"] == "B605")


def test_a_notebook_that_is_not_json_is_an_error_naming_it(tmp_path: Path) -> None:
    root = repository(
        tmp_path / "repo",
        {"ok.py": "x = 1\n", "nb/broken.ipynb": '{"cells": [\n  {"cell_type": "code",\n'},
    )
    run = scan(tmp_path, root, policy_path=policy(tmp_path))
    assert run.code == 2, run.stdout + run.stderr
    lines = [line for line in run.stderr.splitlines() if "broken.ipynb" in line]
    assert lines and all("not valid JSON" in line and "line 3" in line for line in lines)
    assert "internal error" not in run.stdout + run.stderr


def test_a_link_inside_the_tree_is_scanned_once_under_its_own_name(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "notes.txt").write_bytes(SHELL_AND_MKTEMP)
    (root / "tool.py").symlink_to("notes.txt")  # `import tool` runs notes.txt
    root = repository(root, {"ok.py": "x = 1\n"})
    run = scan(tmp_path, root, policy_path=policy(tmp_path))
    assert run.code == 1, run.stdout + run.stderr
    findings = stored(tmp_path)
    assert [(f["path"], f["line"]) for f in findings if f["rule_id"] == "B605"] == [("tool.py", 2)]
    assert where(findings, "semgrep", "python-tempfile-mktemp") == {("tool.py", 3)}


def test_links_out_of_the_tree_and_submodules_are_errors_until_excluded(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_bytes(SHELL_AND_MKTEMP)
    root = tmp_path / "repo"
    (root / "lib").mkdir(parents=True)
    (root / "escape.py").symlink_to(outside)
    (root / "dangling.py").symlink_to("gone.py")
    (root / "linked").symlink_to("lib", target_is_directory=True)
    root = repository(root, {"lib/ok.py": "x = 1\n", "lib/ok.cpython-312.pyc": b"\x00\x01"})
    commit = git(root, "rev-parse", "HEAD")
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{commit},vendor/tools")
    git(root, "commit", "-qm", "submodule")
    nested = root / "scratch"
    nested.mkdir()
    git(nested, "init", "-q")

    run = scan(tmp_path, root, policy_path=policy(tmp_path))
    assert run.code == 2, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: tree:")]
    expected = {
        "escape.py": "symlink leaving the scanned tree",
        "dangling.py": "symlink to nothing",
        "linked": "symlink to a directory",
        "vendor/tools": "git submodule",
        "scratch": "nested git repository",
        "lib/ok.cpython-312.pyc": "compiled or packed Python",
    }
    assert len(errors) == len(expected), errors
    for path, reason in expected.items():
        assert any(reason in line and f" in {path} (" in line for line in errors), (path, errors)
    assert "B605" not in run.stdout  # the code outside the tree is not what was reviewed

    excludes = "exclude: [/escape.py, /dangling.py, /linked, /vendor/tools/, /scratch/, '*.pyc']\n"
    run = scan(tmp_path, root, policy_path=policy(tmp_path, excludes))
    assert run.code == 0, run.stdout + run.stderr


def test_a_nested_repository_in_a_walked_tree_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "vendor/lib/.git").mkdir(parents=True)
    (root / "vendor/lib/evil.py").write_bytes(SHELL_AND_MKTEMP)
    (root / "ok.py").write_text("x = 1\n")
    run = scan(tmp_path, root, policy_path=policy(tmp_path))
    assert run.code == 2, run.stdout + run.stderr
    assert any(
        "nested git repository" in line and " in vendor/lib (" in line
        for line in run.stderr.splitlines()
    ), run.stderr


def test_the_shipped_excludes_are_anchored_to_the_root(tmp_path: Path) -> None:
    root = repository(
        tmp_path / "repo",
        {
            "build/generated.py": SHELL_AND_MKTEMP,
            "dist/pkg.py": SHELL_AND_MKTEMP,
            "src/app/build/evil.py": SHELL_AND_MKTEMP,
            "src/app/dist/evil.py": SHELL_AND_MKTEMP,
        },
    )
    defaults = sinks_policy(tmp_path / "defaults")  # the shipped excludes, sinks blocking
    run = scan(tmp_path, root, policy_path=defaults)
    assert run.code == 1, run.stdout + run.stderr
    found = {f["path"] for f in stored(tmp_path) if f["rule_id"] == "B605"}
    assert found == {"src/app/build/evil.py", "src/app/dist/evil.py"}


def test_text_with_a_nul_byte_reaches_the_secret_rules_and_binaries_are_counted(
    tmp_path: Path,
) -> None:
    root = repository(
        tmp_path / "repo",
        {
            "settings.py": f'# generated \0 by a tool\nGITLAB = "{GITLAB_TOKEN}"\n'.encode(),
            "config/app.env": f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\0\n".encode(),
            # one latin-1 byte used to hide every secret of a file from semgrep's regex engine
            "config/legacy.env": f"# caf\xe9\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n".encode(
                "latin-1"
            ),
            "assets/logo.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe\0",
        },
    )
    path = policy(tmp_path, scanners="semgrep")  # bandit rightly refuses a .py with a NUL
    run = scan(tmp_path, root, "--json", policy_path=path)
    assert run.code == 1, run.stdout + run.stderr
    findings = stored(tmp_path)
    assert ("settings.py", 2) in where(findings, "semgrep", "secret-gitlab-token")
    aws = where(findings, "semgrep", "secret-aws-secret-access-key")
    assert {("config/app.env", 1), ("config/legacy.env", 2)} <= aws
    assert not any(AWS_SECRET in json.dumps(f) or "\\u0000" in json.dumps(f) for f in findings)
    record = run.json()
    assert record["coverage"]["semgrep"]["not_scanned"] == {"binary files": 1}
    assert record["coverage"]["semgrep"]["requested"] == record["coverage"]["semgrep"]["scanned"]

    summary = scan(tmp_path, root, db=str(tmp_path / "summary.db"), policy_path=path)
    assert "binary files not scanned: 1 (assets/logo.png)" in summary.stdout


def test_python_declaring_another_coding_is_read_as_python_reads_it(tmp_path: Path) -> None:
    hidden = (
        b"# -*- coding: utf-7 -*-\nimport os, tempfile\nx = 1  # +AAo-name = tempfile.mktemp()\n"
    )
    root = repository(
        tmp_path / "repo",
        {
            "hidden.py": hidden,  # Python runs `name = tempfile.mktemp()` as line 4 of its text
            "legacy.py": "# -*- coding: latin-1 -*-\n# café\nname = tempfile.mktemp()\n".encode(
                "latin-1"
            ),
        },
    )
    path = policy(tmp_path, "gate: {fail_on: medium}\n", scanners="semgrep")
    run = scan(tmp_path, root, policy_path=path)
    assert run.code == 1, run.stdout + run.stderr  # semgrep alone must not pass it
    findings = {f["path"]: f for f in stored(tmp_path) if f["rule_id"] == "python-tempfile-mktemp"}
    assert findings["hidden.py"]["line"] == 3  # the file's own line, where the reviewer looks
    assert findings["hidden.py"]["evidence"] == "name = tempfile.mktemp()"
    assert "decoded from utf-7" in findings["hidden.py"]["message"]
    assert findings["legacy.py"]["line"] == 3

    both_policy = policy(tmp_path, "gate: {fail_on: medium}\n")
    both = scan(tmp_path, root, db=str(tmp_path / "both.db"), policy_path=both_policy)
    assert both.code == 1, both.stdout + both.stderr
    bandit = [f for f in stored(tmp_path, str(tmp_path / "both.db")) if f["rule_id"] == "B306"]
    assert {(f["path"], f["line"], f["evidence"]) for f in bandit} == {
        ("hidden.py", 3, "name = tempfile.mktemp()"),
        ("legacy.py", 3, "name = tempfile.mktemp()"),
    }


def test_a_file_name_that_is_not_utf8_scans_and_is_stored(tmp_path: Path, store_url: str) -> None:
    root = repository(
        tmp_path / "repo",
        {
            b"caf\xe9.py": SHELL_AND_MKTEMP,
            b"conf/r\xe9glages.env": f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n",
            "ok.py": "x = 1\n",
        },
    )
    run = scan(tmp_path, root, "--output", f"sarif:{tmp_path / 'report.sarif'}", db=store_url,
               policy_path=policy(tmp_path))  # fmt: skip
    assert run.code == 1, run.stdout + run.stderr
    assert "internal error" not in run.stdout + run.stderr
    assert "error:" not in run.stderr
    findings = stored(tmp_path, store_url)
    assert where(findings, "bandit", "B605") == {("caf\\xe9.py", 2)}
    assert where(findings, "semgrep", "python-tempfile-mktemp") == {("caf\\xe9.py", 3)}
    assert ("conf/r\\xe9glages.env", 1) in where(
        findings, "semgrep", "secret-aws-secret-access-key"
    )
    for report in ("report.json", "report.sarif"):
        text = (tmp_path / report).read_text(encoding="utf-8")
        json.loads(text)
        assert "caf\\\\xe9.py" in text, report  # the name as shown, JSON-escaped
