"""The shipped pipeline, service and dashboard files refer only to things that exist."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml

from compliance.cli import main
from compliance.ops.metrics import build_registry
from compliance.store import Store
from tests.conftest import run_cli

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
