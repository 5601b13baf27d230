"""Metrics and drift alerts, against a real store and a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from compliance.ops.drift import drift_since_previous
from compliance.ops.notify import notify
from compliance.store import Store
from tests.conftest import WEB_SHELL_APP, run_cli, write_tree

VULN = {"app.py": WEB_SHELL_APP}


class Webhook:
    """A loopback webhook that records posts; `fail_first` answers 503 that many times."""

    def __init__(self, fail_first: int = 0, hang: bool = False):
        self.posts: list[dict] = []
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.attempts += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hang:
                    time.sleep(5)
                if outer.attempts <= fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.posts.append(json.loads(body))
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except BrokenPipeError:  # the client gave up (the hanging-server test)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hooks: list[Webhook] = []

    def make(**kw: object) -> Webhook:
        hooks.append(Webhook(**kw))  # type: ignore[arg-type]
        return hooks[-1]

    yield make
    for hook in hooks:
        hook.close()


def test_metrics_parse_and_match_the_store(tmp_path, db):
    tree = write_tree(tmp_path / "repo", VULN)
    assert run_cli("scan", tree, "--db", db, "--target", "payments").code == 1
    out = tmp_path / "compliance.prom"
    run = run_cli("metrics", "--db", db, "--output", f"prometheus:{out}")
    assert run.code == 0 and "warning" not in run.stderr, run.stderr
    families = {f.name: f for f in text_string_to_metric_families(out.read_text())}
    verdict = families["compliance_verdict"].samples
    assert [(s.labels, s.value) for s in verdict] == [({"kind": "code", "target": "payments"}, 1)]
    findings: Counter[tuple[str, str]] = Counter()
    for sample in families["compliance_findings"].samples:  # one per scanner too
        findings[sample.labels["severity"], sample.labels["status"]] += int(sample.value)
    stored = run_cli("findings", "--db", db, "--json").json()
    assert sum(findings.values()) == len(stored)
    assert findings[("high", "open")] == sum(1 for f in stored if f["severity"] == "high")
    assert families["compliance_blocking_findings"].samples[0].value == 1
    assert families["compliance_scan_age_seconds"].samples[0].value >= 0
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, nothing left behind


def test_metrics_output_takes_fmt_file_and_the_old_file_spelling_warns(tmp_path, db):
    """--output FMT[:FILE] as on every command; a bare FILE (the old spelling) still works."""
    to_stdout = run_cli("metrics", "--db", db, "-o", "prometheus:-")
    assert to_stdout.code == 0 and "# TYPE compliance_verdict gauge" in to_stdout.stdout
    old = tmp_path / "old" / "compliance.prom"
    legacy = run_cli("metrics", "--db", db, "--output", old)
    assert legacy.code == 0, legacy.stderr
    assert "warning: --output FILE is deprecated" in legacy.stderr
    assert "--output FMT:FILE (e.g. prometheus:FILE)" in legacy.stderr  # what instead
    assert "# TYPE compliance_verdict gauge" in old.read_text()
    default = run_cli("metrics", "--db", db, "--output", "prometheus", cwd=tmp_path)
    assert default.code == 0 and (tmp_path / "reports" / "compliance.prom").is_file()
    report_format = run_cli("metrics", "--db", db, "--output", f"html:{tmp_path / 'm.html'}")
    assert report_format.code == 2 and report_format.stderr.count("\n") == 1
    assert "metrics are written as prometheus or json, not html" in report_format.stderr
    assert not (tmp_path / "m.html").exists()


def test_metrics_format_and_output_mean_what_they_mean_on_every_command(tmp_path, db):
    """-f json: the same samples as one JSON document on stdout; -o json:FILE writes it;
    a typed -f contradicting -o's FMT is refused; a bare FILE takes -f's format."""
    tree = write_tree(tmp_path / "repo", VULN)
    assert run_cli("scan", tree, "--db", db, "--target", "payments").code == 1
    as_json = run_cli("metrics", "--db", db, "-f", "json")
    assert as_json.code == 0, as_json.stderr
    families = {f["name"]: f for f in as_json.json()}
    verdict = families["compliance_verdict"]
    assert verdict["type"] == "gauge"
    assert verdict["samples"] == [{"labels": {"kind": "code", "target": "payments"}, "value": 1.0}]
    out = tmp_path / "m.json"
    to_file = run_cli("metrics", "--db", db, "-o", f"json:{out}")
    assert to_file.code == 0 and "warning" not in to_file.stderr, to_file.stderr
    assert {f["name"] for f in json.loads(out.read_text())} == set(families)
    default = run_cli("metrics", "--db", db, "-o", "json", cwd=tmp_path)
    assert default.code == 0 and (tmp_path / "reports" / "compliance-metrics.json").is_file()
    clash = run_cli("metrics", "--db", db, "-f", "json", "-o", f"prometheus:{tmp_path / 'x'}")
    assert clash.code == 2 and clash.stderr.count("\n") == 1
    assert "name two formats" in clash.stderr and not (tmp_path / "x").exists()
    bare = run_cli("metrics", "--db", db, "-f", "json", "-o", tmp_path / "bare")
    assert bare.code == 0 and "--output FMT:FILE (e.g. json:FILE)" in bare.stderr
    assert json.loads((tmp_path / "bare").read_text())
    unknown = run_cli("metrics", "--db", db, "-f", "text")
    assert unknown.code == 2 and "'text' is not one of 'prometheus', 'json'" in unknown.stderr


def test_waiver_expiry_metrics(tmp_path, db, policy_file):
    policy = policy_file(
        "{}\n",
        waivers=(
            "waivers:\n"
            "  - {rule: B1, reason: soon gone, approver: al, expires: 2000-01-01}\n"
            "  - {rule: B2, reason: far away, approver: al, expires: 2999-01-01}\n"
        ),
    )
    tree = write_tree(tmp_path / "repo", VULN)
    run_cli("scan", tree, "--db", db, "--policy", policy)
    run = run_cli("metrics", "--db", db, "--policy", policy)
    families = {f.name: f for f in text_string_to_metric_families(run.stdout)}
    assert families["compliance_waivers_expired"].samples[0].value == 1
    assert families["compliance_waivers_expiring"].samples[0].value == 0
    assert len(families["compliance_waiver_expiry_timestamp_seconds"].samples) == 2


def test_drift_alert_only_when_something_got_worse(tmp_path, db, webhook):
    hook = webhook()
    tree = write_tree(tmp_path / "repo", VULN)
    run = run_cli("scan", tree, "--db", db, "--notify", hook.url)
    assert run.code == 1
    assert len(hook.posts) == 1
    text = hook.posts[0]["text"]
    assert "1 new blocking finding(s)" in text and "app.py:10" in text and "B602" in text
    assert "secret-token" not in run.stderr  # the webhook's secret path is never printed

    assert run_cli("scan", tree, "--db", db, "--notify", hook.url).code == 1
    assert len(hook.posts) == 1  # nothing changed: nothing sent

    (tree / "b.py").write_text("import hashlib\n\ndef g(y):\n    return hashlib.md5(y)\n")
    assert run_cli("scan", tree, "--db", db, "--notify", hook.url).code == 1
    assert len(hook.posts) == 2 and "B324" in hook.posts[1]["text"]
    assert "B602" not in hook.posts[1]["text"]


def test_server_failing_twice_then_succeeding_gets_the_alert(tmp_path, db, webhook):
    hook = webhook(fail_first=2)
    tree = write_tree(tmp_path / "repo", VULN)
    run = run_cli("scan", tree, "--db", db, "--notify", hook.url)
    assert run.code == 1
    assert hook.attempts == 3 and len(hook.posts) == 1
    assert "drift alert sent" in run.stderr


def test_unreachable_webhook_never_changes_the_verdict(tmp_path, db):
    tree = write_tree(tmp_path / "repo", {"a.py": "x = 1\n"})
    write_tree(tree, VULN)
    run = run_cli("scan", tree, "--db", db, "--notify", "http://127.0.0.1:9/hook")
    assert run.code == 1
    assert "drift alert not delivered" in run.stderr


def test_hanging_webhook_times_out(tmp_path, db, webhook):
    hook = webhook(hang=True)
    tree = write_tree(tmp_path / "repo", VULN)
    assert run_cli("scan", tree, "--db", db).code == 1
    store = Store.open(db)
    drift = drift_since_previous(store, store.scans()[0].id)
    started = time.monotonic()
    delivery = notify(hook.url, drift, timeout=(1.0, 0.5), retries=1, backoff=0)
    assert not delivery.sent
    assert "ReadTimeout" in delivery.detail or "timed out" in delivery.detail
    assert time.monotonic() - started < 30


def test_pre_commit_hook_definition_points_at_a_real_command():
    import yaml

    hooks = yaml.safe_load(Path(".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        command = hook["entry"].split()
        assert command[0] == "compliance"
        assert run_cli(*command[1:2], "--help").code == 0
