"""The shipped pipeline, service and dashboard files refer only to things that exist."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compliance.cli import main
from compliance.ops.metrics import build_registry
from compliance.store import Store
from tests.conftest import run_cli, write_tree

ROOT = Path(__file__).resolve().parent.parent


def gitlab_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def compliance_invocations(text: str) -> list[list[str]]:
    """Every `compliance …` command in a script, with its words (variables left as text)."""
    found = []
    for match in re.finditer(r"(?:^|[\s;|&/])compliance (\w[^\n;|]*)", text):
        words = shlex.split(match.group(1).replace('"$@"', ""), posix=True)
        if words[0] in main.commands or words[0].startswith("-"):
            found.append(words)  # (not the crontab's user column, also named compliance)
    return found


def check_invocation(words: list[str]) -> None:
    sub = [w for w in words if not w.startswith("-")][:1]
    if sub == ["policy"] or sub == ["db"]:
        sub = [w for w in words if not w.startswith("-")][:2]
    run = run_cli(*sub, "--help")
    assert run.code == 0, (words, run.stderr)
    for option in (w.split("=")[0] for w in words if w.startswith("--")):
        assert option in run.stdout, f"compliance {' '.join(sub)} has no option {option}"


def test_pipeline_files_parse_and_use_real_commands():
    scripts = []
    for path in (ROOT / ".gitlab-ci.yml", ROOT / "ci" / "compliance.gitlab-ci.yml"):
        data = gitlab_yaml(path)
        for job in data.values():
            if isinstance(job, dict):
                for key in ("before_script", "script", "after_script"):
                    scripts.extend(job.get(key, []))
    text = "\n".join(scripts)
    invocations = compliance_invocations(text)
    assert {w[0] for w in invocations} >= {"scan", "audit", "metrics"}
    for words in invocations:
        if words[0] == "--version":
            continue
        check_invocation(words)


def test_project_pipeline_shape():
    data = gitlab_yaml(ROOT / ".gitlab-ci.yml")
    template = gitlab_yaml(ROOT / "ci" / "compliance.gitlab-ci.yml")
    assert data["test"]["script"] == ["bash scripts/test.sh"]
    gate = template["compliance-gate"]
    assert set(gate["artifacts"]["reports"]) == {
        "sast",
        "dependency_scanning",
        "codequality",
        "junit",
    }
    audit = data["nightly-host-audit"]
    assert audit["extends"] == ".compliance-audit"
    assert template[".compliance-audit"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert "public" in data["pages"]["artifacts"]["paths"]


def test_systemd_and_cron_commands_exist():
    for path in [*(ROOT / "contrib" / "systemd").glob("*.service"), ROOT / "contrib" / "crontab"]:
        text = path.read_text().replace("\\\n", " ")
        for words in compliance_invocations(text):
            check_invocation(words)
        assert "flock" in text


def test_grafana_dashboard_reads_metrics_we_export(tmp_path):
    registry = build_registry(Store.open(str(tmp_path / "empty.db")), [])
    exported = {m.name for m in registry.collect()}
    exported |= {f"{name}_seconds" for name in exported}  # counters/gauges keep their names
    dashboard = json.loads((ROOT / "contrib" / "grafana" / "compliance-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"compliance_[a-z_]+", target["expr"])
    }
    assert used and used <= exported, used - exported


TEMPLATE = ROOT / "ci" / "compliance.gitlab-ci.yml"
REPORTS = "compliance-reports"


def test_the_template_keeps_database_and_cache_outside_the_checkout():
    """The checkout is the merge request's: the template's state defaults must not be in it,
    and only reports (which GitLab needs there) are allowed in, into a folder it empties."""
    template = gitlab_yaml(TEMPLATE)
    variables = template["variables"]
    db_path = variables["COMPLIANCE_DB"].removeprefix("sqlite:///")
    assert variables["COMPLIANCE_DB"].startswith("sqlite:////"), "an absolute SQLite path"
    for path in (db_path, variables["COMPLIANCE_CACHE_DIR"], variables["COMPLIANCE_STATE_DIR"]):
        assert Path(path).is_absolute() and "CI_PROJECT_DIR" not in path and "$" not in path
    assert Path(db_path).parent == Path(variables["COMPLIANCE_STATE_DIR"])
    script = template["compliance-gate"]["script"]
    scan_line = next(i for i, line in enumerate(script) if "compliance scan" in line)
    assert script.index(f"rm -rf {REPORTS}") < scan_line
    scan = [words for words in compliance_invocations("\n".join(script)) if words[0] == "scan"]
    assert len(scan) == 1
    words = scan[0] + [w for line in script if line.startswith("set --") for w in shlex.split(line)]
    allowed = [words[i + 1] for i, w in enumerate(words) if w == "--allow-in-tree"]
    assert allowed == ["reports"]
    outputs = [words[i + 1] for i, w in enumerate(words) if w == "--output"]
    assert outputs and all(o.partition(":")[2].startswith(f"{REPORTS}/") for o in outputs)
    artifacts = template["compliance-gate"]["artifacts"]
    kept = [*artifacts["paths"], *artifacts["reports"].values()]
    assert all(path.startswith(f"{REPORTS}/") for path in kept)
    pages = gitlab_yaml(ROOT / ".gitlab-ci.yml")["pages"]["script"]
    assert any(f"{REPORTS}/compliance.html" in line for line in pages)


def run_gate_job(checkout: Path, state: Path) -> subprocess.CompletedProcess[str]:
    """The template's compliance-gate job as a runner would run it (its before_script's
    installation steps left out: this checkout's gate is on the path), with its state
    folder under `state` instead of /tmp/compliance."""
    template = gitlab_yaml(TEMPLATE)
    shim = state / "bin" / "compliance"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m compliance "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, **{k: str(v) for k, v in template["variables"].items()}}
    env.update(
        PATH=f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
        CI_PROJECT_PATH="group/app",
        CI_PROJECT_DIR=str(checkout),
        COMPLIANCE_TARGET="group/app",
        COMPLIANCE_STATE_DIR=str(state / "compliance"),
        COMPLIANCE_DB=f"sqlite:///{state}/compliance/compliance.db",
        COMPLIANCE_CACHE_DIR=str(state / "compliance" / "cache"),
    )
    before = [line for line in template[".compliance-base"]["before_script"] if "mkdir" in line]
    script = "\n".join([*before, *template["compliance-gate"]["script"]])
    return subprocess.run(
        ["sh", "-e", "-c", script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def git_checkout(root: Path, files: dict[str, str]) -> Path:
    write_tree(root, files)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "mr"]):
        subprocess.run(
            ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            check=True,
            capture_output=True,
        )
    return root


VULNERABLE_APP = {
    "app.py": "import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
}


@pytest.mark.e2e
def test_the_gate_template_runs_and_keeps_its_state_out_of_the_checkout(tmp_path):
    checkout = git_checkout(tmp_path / "checkout", VULNERABLE_APP)
    for _ in range(2):  # the second run finds the first one's reports: never judged
        job = run_gate_job(checkout, tmp_path / "runner")
        assert job.returncode == 1, job.stdout + job.stderr
    sast = json.loads((checkout / REPORTS / "gl-sast-report.json").read_text())
    assert {v["location"]["file"] for v in sast["vulnerabilities"]} == {"app.py"}
    history = checkout / REPORTS / "compliance.db"
    assert run_cli("scans", "--db", history, "--json").json()[0]["verdict"] == "fail"
    listed = run_cli("findings", "--db", history, "--json").json()
    assert {f["path"] for f in listed} == {"app.py"}
    assert not (checkout / "compliance.db").exists()


@pytest.mark.e2e
def test_a_report_committed_by_the_merge_request_never_reaches_the_artifacts(tmp_path):
    """A merge request commits the SAST report GitLab would show ("no vulnerabilities").
    The template empties the folder first and the gate refuses a tracked report path, so
    the job fails (exit 2) and there is no report to upload but the gate's."""
    forged = json.dumps({"version": "15.0.0", "vulnerabilities": []})
    files = {**VULNERABLE_APP, f"{REPORTS}/gl-sast-report.json": forged}
    checkout = git_checkout(tmp_path / "checkout", files)
    job = run_gate_job(checkout, tmp_path / "runner")
    assert job.returncode == 2, job.stdout + job.stderr
    assert "is tracked by git" in job.stderr
    assert not (checkout / REPORTS / "gl-sast-report.json").exists()


@pytest.mark.e2e
def test_a_reports_folder_symlink_committed_by_the_merge_request_is_removed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    checkout = git_checkout(tmp_path / "checkout", VULNERABLE_APP)
    (checkout / REPORTS).symlink_to(outside)
    for args in (["add", REPORTS], ["commit", "-qm", "a reports folder leaving the tree"]):
        subprocess.run(
            ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@e", *args],
            check=True,
        )
    job = run_gate_job(checkout, tmp_path / "runner")
    assert job.returncode == 1, job.stdout + job.stderr
    assert (
        not (checkout / REPORTS).is_symlink()
        and (checkout / REPORTS / "compliance.sarif").is_file()
    )
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
