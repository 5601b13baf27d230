"""The shipped pipeline, service and dashboard files refer only to things that exist."""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest
import yaml

from compliance.cli import main
from compliance.ops.metrics import build_registry
from compliance.store import Store
from tests.conftest import WEB_SHELL_APP, run_cli, write_tree

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


def run_gate_job(
    checkout: Path, state: Path, ci: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The template's compliance-gate job as a runner would run it (its before_script's
    installation steps left out: this checkout's gate is on the path), with its state
    folder under `state` instead of /tmp/compliance. `ci`: GitLab's predefined variables
    for the kind of pipeline (branch, merge request) and CI/CD variables."""
    template = gitlab_yaml(TEMPLATE)
    bin_dir = state / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, command in (("compliance", "-m compliance"), ("python", "")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {sys.executable} {command} "$@"\n')
        shim.chmod(0o755)
    env = {**os.environ, **{k: str(v) for k, v in template["variables"].items()}}
    env.pop("CI_MERGE_REQUEST_IID", None)
    env.update(
        CI="true",
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        CI_PROJECT_PATH="group/app",
        CI_PROJECT_DIR=str(checkout),
        COMPLIANCE_TARGET="group/app",
        COMPLIANCE_STATE_DIR=str(state / "compliance"),
        COMPLIANCE_DB=f"sqlite:///{state}/compliance/compliance.db",
        COMPLIANCE_CACHE_DIR=str(state / "compliance" / "cache"),
        CI_JOB_NAME="compliance-gate",
        **(ci or {}),
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


VULNERABLE_APP = {"app.py": WEB_SHELL_APP}


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


class ArtifactsAPI:
    """GitLab's job artifacts API on a loopback port, as far as the template uses it: the
    raw file of the latest successful pipeline of a ref, for a job token. `artifacts`
    maps (ref, job) to the database file a finished pipeline left; every request is
    recorded, so a test can show that a pipeline asked for nothing."""

    TOKEN = "job-token-of-this-pipeline"

    def __init__(self) -> None:
        self.artifacts: dict[tuple[str, str], bytes] = {}
        self.requests: list[str] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests.append(self.path)
                url = urllib.parse.urlsplit(self.path)
                match = re.fullmatch(
                    r"/api/v4/projects/42/jobs/artifacts/([^/]+)/raw/compliance-reports/"
                    r"compliance\.db",
                    url.path,
                )
                job = urllib.parse.parse_qs(url.query).get("job", [""])[0]
                body = None
                if match and self.headers.get("JOB-TOKEN") == api.TOKEN:
                    body = api.artifacts.get((urllib.parse.unquote(match[1]), job))
                self.send_response(200 if body else 404)
                self.end_headers()
                self.wfile.write(body or b'{"message":"404 Not found"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pipeline(self, **predefined: str) -> dict[str, str]:
        """GitLab's predefined variables of one pipeline, with history from main on."""
        return {
            "CI_API_V4_URL": f"http://127.0.0.1:{self.server.server_address[1]}/api/v4",
            "CI_PROJECT_ID": "42",
            "CI_JOB_TOKEN": self.TOKEN,
            "CI_DEFAULT_BRANCH": "main",
            "COMPLIANCE_HISTORY_FROM_MAIN": "1",
            **predefined,
        }


@pytest.mark.e2e
def test_history_comes_from_the_previous_main_pipeline_and_never_from_a_merge_request(
    tmp_path,
):
    """The per-job SQLite database holds one pipeline: without history the summary and the
    report say so. With COMPLIANCE_HISTORY_FROM_MAIN a protected main-branch pipeline starts
    from the previous main pipeline's database artifact (here from a loopback stand-in for
    GitLab's artifacts API), so its report has a real trend; a merge request pipeline
    never asks for it (its own artifact is never restored either) and has no history."""
    api = ArtifactsAPI()
    try:
        checkout = git_checkout(tmp_path / "checkout", VULNERABLE_APP)
        main = api.pipeline(CI_COMMIT_BRANCH="main", CI_COMMIT_REF_PROTECTED="true")
        first = run_gate_job(checkout, tmp_path / "runner-1", main)
        assert first.returncode == 1, first.stdout + first.stderr
        assert "history: none restored" in first.stdout
        assert "no history: single-pipeline database" in first.stdout
        html = (checkout / REPORTS / "compliance.html").read_text()
        assert "no history: single-pipeline database" in html and 'class="trend"' not in html
        api.artifacts[("main", "compliance-gate")] = (
            checkout / REPORTS / "compliance.db"
        ).read_bytes()

        second = run_gate_job(checkout, tmp_path / "runner-2", main)
        assert second.returncode == 1, second.stdout + second.stderr
        assert "history: restored the previous main pipeline's database" in second.stdout
        assert "no history" not in second.stdout
        html = (checkout / REPORTS / "compliance.html").read_text()
        assert html.count('<g class="bar') == 2 and "no history" not in html
        assert "May this code meet the policy?" in html  # a branch pipeline: no merge
        history = checkout / REPORTS / "compliance.db"
        assert len(run_cli("scans", "--db", history, "--json").json()) == 2
        asked = len(api.requests)

        # a merge request pipeline, even one whose source branch is called main
        mr = api.pipeline(CI_MERGE_REQUEST_IID="7", CI_COMMIT_REF_PROTECTED="false")
        third = run_gate_job(checkout, tmp_path / "runner-3", mr)
        assert third.returncode == 1, third.stdout + third.stderr
        assert len(api.requests) == asked, api.requests[asked:]
        assert "no history: single-pipeline database" in third.stdout
        html = (checkout / REPORTS / "compliance.html").read_text()
        assert "May merge request !7 be merged? No: 1 finding(s) block." in html
        assert len(run_cli("scans", "--db", history, "--json").json()) == 1
        # an unprotected branch that names itself main gets nothing either
        fake = api.pipeline(CI_COMMIT_BRANCH="main", CI_COMMIT_REF_PROTECTED="false")
        assert run_gate_job(checkout, tmp_path / "runner-4", fake).returncode == 1
        assert len(api.requests) == asked
    finally:
        api.server.shutdown()


@pytest.mark.e2e
def test_a_postgresql_url_from_ci_variables_keeps_history_across_pipelines(tmp_path, postgres):
    """COMPLIANCE_DB_URL (a masked, protected CI/CD variable) is the documented way to
    history: two pipelines on fresh runners write one real PostgreSQL database, and the
    second's report has a two-scan trend and no "no history" line."""
    url = postgres.new_database()
    checkout = git_checkout(tmp_path / "checkout", VULNERABLE_APP)
    for n in (1, 2):
        job = run_gate_job(checkout, tmp_path / f"runner-{n}", {"COMPLIANCE_DB_URL": url})
        assert job.returncode == 1, job.stdout + job.stderr
    assert "no history" not in job.stdout
    html = (checkout / REPORTS / "compliance.html").read_text()
    assert html.count('<g class="bar') == 2 and "no history" not in html
    assert len(run_cli("scans", "--db", url, "--json").json()) == 2
    assert not (checkout / REPORTS / "compliance.db").exists()  # nothing copied from SQLite
    text = TEMPLATE.read_text()
    assert "PROTECTED" in text and "single-pipeline database" in text
    docs = (ROOT / "docs" / "ci-history.md").read_text()
    assert "COMPLIANCE_DB_URL" in docs and "COMPLIANCE_HISTORY_FROM_MAIN" in docs
