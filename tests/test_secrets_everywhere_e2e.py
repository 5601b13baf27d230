"""Secrets stay secret everywhere: real bandit and semgrep on a real git repository, then
every byte the gate wrote or printed is searched for each secret in clear text.

The tree holds what leaked before: two secrets on one line (each finding's evidence quoted
the other's), bandit's B105/B106/B107 (the password in the title, message and evidence;
B106 names only the first of two password arguments of a call), and a `shell=True` call on
a password's line (another rule's evidence). Where the bytes are searched: the SQLite file
and its -wal/-shm, the result cache, every report format, `findings` (JSON and text),
`scans`, `metrics`, the drift alert's body and every stdout/stderr, cold and warm.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.render.registry import FORMATS
from tests.conftest import Run, git, run_cli, write_tree
from tests.test_ops import Webhook

pytestmark = pytest.mark.e2e

AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"
SECRETS = {
    AWS: "AKIA…MPLE",
    GITHUB: "ghp_…3fG5",
    "hunter2": "h…2",  # B106, the argument bandit names
    "s3cr3tvalue": "s…e",  # B106, the second password argument of the same call
    "correcthorse": "co…se",  # B105, on a line with a B602 finding
    "defaultpw1": "d…1",  # B107
}
APP = f"""
import subprocess

a = "{AWS}"; b = "{GITHUB}"
x = dict(password="hunter2", token="s3cr3tvalue")
PASSWORD = "correcthorse"; subprocess.call(PASSWORD, shell=True)


def login(user, password="defaultpw1"):
    return user, password
"""
POLICY = "version: 1\nscanners: [bandit, semgrep]\ngate:\n  fail_on: low\n"  # all block: in alerts


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "repo", {"app.py": APP})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "secrets")
    return root


def scan(repo: Path, db: str, out: Path, policy: Path, hook: Webhook, cache: Path) -> Run:
    outputs = [f"--output={name}:{out / name}" for name in FORMATS]
    return run_cli(
        "scan",
        repo,
        "--db",
        db,
        "--policy",
        policy,
        "--notify",
        hook.url,
        *outputs,
        env={"COMPLIANCE_CACHE_DIR": str(cache)},
        cwd=out,
    )


def test_no_secret_reaches_the_store_a_report_an_alert_or_the_terminal(
    repo, tmp_path, db, policy_file
):
    policy = policy_file(POLICY)
    cache = tmp_path / "cache"
    hook = Webhook()
    runs: list[Run] = []
    try:
        for name in ("cold", "warm"):
            out = tmp_path / name
            out.mkdir()
            runs.append(scan(repo, db, out, policy, hook, cache))
            # app.py unchanged (a cache hit), a new finding elsewhere: the warm run alerts too
            (repo / "b.py").write_text("import hashlib\n\nhashlib.md5(b'x')\n")
    finally:
        hook.close()
    assert [r.code for r in runs] == [1, 1], runs[0].stdout + runs[0].stderr
    stored = run_cli("findings", "--db", db, "--json").json()
    runs += [
        run_cli("findings", "--db", db),
        run_cli("findings", "--db", db, "--include-fixed", "--scan", "1"),
        run_cli("scans", "--db", db),
        run_cli("metrics", "--db", db),
        *(run_cli("report", "--db", db, "--format", f, "--output", "-") for f in FORMATS),
    ]

    # the findings are there, and each shows its secret only redacted
    by_rule = {f["rule_id"]: f for f in stored}
    assert {"B105", "B106", "B107", "B602"} <= by_rule.keys()
    assert {"secret-aws-access-key-id", "secret-github-token"} <= by_rule.keys()
    # bandit's B106 and semgrep's password rule on that line are one issue (weakness.py)
    assert by_rule["B106"]["title"] == (
        "Possible hardcoded password: 'h…2' [also semgrep secret-password-literal]"
    )
    assert [m["rule_id"] for m in by_rule["B106"]["also"]] == ["secret-password-literal"]
    assert by_rule["B106"]["evidence"] == 'x = dict(password="h…2", token="s…e")'
    assert "co…se" in by_rule["B602"]["evidence"]
    both = 'a = "AKIA…MPLE"; b = "ghp_…3fG5"'
    assert by_rule["secret-aws-access-key-id"]["evidence"] == both
    assert by_rule["secret-github-token"]["evidence"] == both
    assert len(hook.posts) == 2 and "h…2" in json.dumps(hook.posts, ensure_ascii=False)

    texts = [json.dumps(stored), json.dumps(hook.posts)]
    texts += [r.stdout + r.stderr for r in runs]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(repo)]
    assert {p.name for p in files} >= {Path(db).name, *FORMATS}
    assert any(p.parent == cache for p in files)
    blobs = [p.read_bytes() for p in files]
    for secret, shown in SECRETS.items():
        assert any(shown in text for text in texts), shown
        for text in texts:
            assert secret not in text
        for blob in blobs:
            assert secret.encode() not in blob
            assert json.dumps(secret)[1:-1].encode() not in blob


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks/T000/SECRETPATH?token=SECRETQUERY",
        "http://127.0.0.1:9?token=SECRETQUERY",
        "http://SECRETUSER:SECRETPASS@127.0.0.1:9/SECRETPATH",
        "127.0.0.1:9/hooks/SECRETPATH?token=SECRETQUERY",  # no scheme: requests quotes it
        "http://127.0.0.1:99999/SECRETPATH?token=SECRETQUERY",  # an invalid port
    ],
)
def test_a_failed_notify_names_only_scheme_and_host(repo, db, url):
    run = run_cli("scan", repo, "--db", db, "--notify", url)
    assert run.code == 1, run.stderr
    assert "drift alert not delivered to" in run.stderr or "drift alert failed" in run.stderr
    assert "127.0.0.1" in run.stderr
    for secret in ("SECRETPATH", "SECRETQUERY", "SECRETUSER", "SECRETPASS"):
        assert secret not in run.stdout + run.stderr
