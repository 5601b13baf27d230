"""`compliance scan` with the real semgrep and the shipped rule packs, on small trees.

Every scan here runs the real tool (no network: local rules, metrics and version check off).
Scans are shared per module where they can be, because each semgrep start costs seconds.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from compliance.cli import main
from compliance.scanners.process import find_tool

pytestmark = pytest.mark.e2e

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DB_PASSWORD = "Tr0ub4dor-and-3-horses"
GITLAB_TOKEN = "glpat-Zq8Xw3Vb6Nm1Lk4Jh7Gf"
SECRETS = (AWS_SECRET, DB_PASSWORD, GITLAB_TOKEN)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def policy(root: Path, extra: str = "") -> Path:
    path = root.parent / f"{root.name}-policy.yml"
    path.write_text("version: 1\nscanners: [semgrep]\nwaivers: null\n" + textwrap.dedent(extra))
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def scan(root: Path, db: Path, extra_policy: str = "", env: dict[str, str] | None = None) -> Result:
    """Each tree gets its own result cache, so no test is answered from another's results."""
    env = {"COMPLIANCE_CACHE_DIR": str(db.parent / "cache"), **(env or {})}
    return run(
        "scan", str(root), "--policy", str(policy(root, extra_policy)), "--db", str(db),
        "--json", env=env,
    )  # fmt: skip


VULNERABLE = {
    "app.py": """
        import tempfile
        import yaml

        def load(text):
            return yaml.load(text)

        def scratch():
            return tempfile.mktemp()

        def reviewed():
            return tempfile.mktemp()  # nosemgrep: python-tempfile-mktemp
        """,
    "tests/test_app.py": """
        import tempfile

        def test_scratch():
            assert tempfile.mktemp()
        """,
    "deploy/install.sh": """
        #!/bin/sh
        curl -fsSL https://get.example.com | sh
        """,
    "config/app.env": f"""
        AWS_SECRET_ACCESS_KEY={AWS_SECRET}
        DB_PASSWORD={DB_PASSWORD}
        """,
    "settings.py": f"""
        GITLAB = "{GITLAB_TOKEN}"
        """,
    # semgrep's own ignore files must not hide anything the policy did not exclude
    ".semgrepignore": "*\n",
}


@pytest.fixture(scope="module")
def vulnerable(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, list[dict], Path]:
    base = tmp_path_factory.mktemp("vulnerable")
    root = write(base / "tree", VULNERABLE)
    db = base / "compliance.db"
    result = scan(root, db)
    listed = run("findings", "--db", str(db), "--json")
    assert listed.exit_code == 0, listed.output
    return result, json.loads(listed.output), db


def test_vulnerable_tree_blocks_with_semgrep_findings(vulnerable) -> None:
    result, findings, _ = vulnerable
    assert result.exit_code == 1, result.output
    scan_record = json.loads(result.stdout)
    assert scan_record["status"] == "complete"
    assert (
        scan_record["coverage"]["semgrep"]["requested"]
        == scan_record["coverage"]["semgrep"]["scanned"]
    )
    rules = {(f["rule_id"], f["path"]) for f in findings}
    assert ("python-yaml-unsafe-load", "app.py") in rules
    assert ("python-tempfile-mktemp", "app.py") in rules
    assert ("pipeline-curl-pipe-shell", "deploy/install.sh") in rules
    assert ("secret-aws-secret-access-key", "config/app.env") in rules
    assert ("secret-password-in-config", "config/app.env") in rules
    assert ("secret-gitlab-token", "settings.py") in rules
    assert all(f["scanner"] == "semgrep" for f in findings)
    yaml_load = next(f for f in findings if f["rule_id"] == "python-yaml-unsafe-load")
    assert yaml_load["severity"] == "medium"  # a sink seen alone (classification.sinks)
    assert yaml_load["evidence"].strip() == "return yaml.load(text)"
    assert "CWE-502" in yaml_load["references"]
    assert "OWASP A08:2021" in yaml_load["references"]


def test_files_under_tests_are_scanned(vulnerable) -> None:
    _, findings, _ = vulnerable
    assert any(f["path"] == "tests/test_app.py" for f in findings)


def test_nosemgrep_is_kept_as_suppressed(vulnerable) -> None:
    _, findings, _ = vulnerable
    mktemp = [f for f in findings if f["rule_id"] == "python-tempfile-mktemp"]
    by_line = {(f["path"], f["line"]): f["status"] for f in mktemp}
    assert by_line[("app.py", 11)] == "suppressed"
    assert by_line[("app.py", 8)] == "open"


def test_secrets_are_stored_and_shown_only_redacted(vulnerable) -> None:
    result, findings, db = vulnerable
    secret_findings = [f for f in findings if f["rule_id"].startswith("secret-")]
    assert len(secret_findings) >= 3
    aws = next(f for f in secret_findings if f["rule_id"] == "secret-aws-secret-access-key")
    assert "wJal…EKEY" in aws["evidence"]
    assert "wJal…EKEY" in aws["message"]
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    for secret in SECRETS:
        for text in (result.output, json.dumps(findings)):
            assert secret not in text
        assert secret.encode() not in stored
        assert json.dumps(secret)[1:-1].encode() not in stored  # as escaped in JSON columns


def test_clean_tree_passes(tmp_path: Path) -> None:
    root = write(
        tmp_path / "tree",
        {
            "app.py": """
                import tempfile
                import yaml

                def load(text):
                    return yaml.safe_load(text)

                def scratch():
                    return tempfile.NamedTemporaryFile()
                """,
            "tests/test_app.py": "def test_nothing():\n    assert True\n",
            "README.md": "Install with `pip install app`.\n",
        },
    )
    result = scan(root, tmp_path / "c.db")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["coverage"]["semgrep"] == {"requested": 3, "scanned": 3}


def test_file_semgrep_cannot_parse_exits_2(tmp_path: Path) -> None:
    root = write(
        tmp_path / "tree",
        {
            "ok.py": "x = 1\n",
            "broken.py": "import tempfile\ndef f(:\n  x = = 3 tempfile.mktemp()\n  ))))\nclass\n",
        },
    )
    result = scan(root, tmp_path / "c.db")
    assert result.exit_code == 2, result.output
    assert "broken.py" in result.stderr
    assert "could not parse" in result.stderr
    assert json.loads(result.stdout)["status"] == "errored"


def test_broken_rule_file_exits_2(tmp_path: Path) -> None:
    root = write(tmp_path / "tree", {"app.py": "import os\nos.system('ls')\n"})
    rules = write(
        tmp_path / "rules",
        {
            "good.yml": """
                rules:
                  - id: os-system
                    languages: [python]
                    severity: ERROR
                    message: os.system
                    pattern: os.system(...)
                """,
            "bad.yml": """
                rules:
                  - id: broken-pattern
                    languages: [python]
                    severity: ERROR
                    message: broken
                    pattern: foo(((
                """,
        },
    )
    result = scan(root, tmp_path / "c.db", f"per_scanner:\n  semgrep:\n    rules: ['{rules}']\n")
    assert result.exit_code == 2, result.output
    assert "broken-pattern" in result.stderr


def test_tiny_timeout_exits_2(tmp_path: Path) -> None:
    root = write(tmp_path / "tree", {"app.py": "x = 1\n"})
    result = scan(root, tmp_path / "c.db", "per_scanner:\n  semgrep:\n    timeout: 0.05\n")
    assert result.exit_code == 2, result.output
    assert "did not finish within" in result.stderr


def test_result_cache_rescans_only_what_changed(tmp_path: Path) -> None:
    """The real semgrep behind a wrapper that only logs its command line."""
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "semgrep-logged"
    real = find_tool("semgrep")
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    env = {"COMPLIANCE_SEMGREP_BIN": str(wrapper)}
    root = write(tmp_path / "tree", {k: v for k, v in VULNERABLE.items() if k != "config/app.env"})
    db = tmp_path / "c.db"

    def findings() -> list[tuple[str, str, str, str]]:
        rows = json.loads(run("findings", "--db", str(db), "--json").output)
        return sorted((f["rule_id"], f["path"], f["fingerprint"], f["status"]) for f in rows)

    cold = scan(root, db, env=env)
    assert cold.exit_code == 1, cold.output
    cold_findings = findings()
    assert log.read_text().count(" --json ") >= 1
    log.write_text("")

    warm = scan(root, db, env=env)
    assert warm.exit_code == 1, warm.output
    assert log.read_text() == ""  # nothing ran
    assert findings() == cold_findings
    assert json.loads(warm.stdout)["coverage"] == json.loads(cold.stdout)["coverage"]

    (root / "deploy" / "install.sh").write_text("#!/bin/sh\necho fixed\n")
    changed = scan(root, db, env=env)
    assert changed.exit_code == 1, changed.output
    calls = [line for line in log.read_text().splitlines() if " --json " in line]
    assert calls and all(line.endswith("-- deploy/install.sh") for line in calls)
    assert findings() == [f for f in cold_findings if f[0] != "pipeline-curl-pipe-shell"]


def test_errors_are_never_cached(tmp_path: Path) -> None:
    root = write(
        tmp_path / "tree",
        {"broken.py": "import tempfile\ndef f(:\n  x = = 3 tempfile.mktemp()\n  ))))\nclass\n"},
    )
    for _ in range(2):
        result = scan(root, tmp_path / "c.db")
        assert result.exit_code == 2, result.output
        assert "broken.py" in result.stderr


def test_sshd_fragments_are_found_at_any_depth(tmp_path: Path) -> None:
    """`sshd_config.d/*` in a rule's paths matches under any folder, as semgrep reads it."""
    root = write(
        tmp_path / "tree",
        {"etc/ssh/sshd_config.d/50-root.conf": "PermitRootLogin yes\n", "app.py": "x = 1\n"},
    )
    result = scan(root, tmp_path / "c.db")
    assert result.exit_code == 1, result.output
    found = json.loads(run("findings", "--db", str(tmp_path / "c.db"), "--json").output)
    assert ("sshd-permit-root-login", "etc/ssh/sshd_config.d/50-root.conf") in {
        (f["rule_id"], f["path"]) for f in found
    }


def test_own_rules_may_share_lists_through_yaml_aliases(tmp_path: Path) -> None:
    """Rule authors share `paths:` lists with anchors; semgrep's OCaml CLI does not follow
    aliases, so the gate hands it the rules resolved. Both rules must run on both files."""
    root = write(
        tmp_path / "tree",
        {"conf/sub/a.txt": "BAD here\n", "deep/conf/sub/b.txt": "BAD there\n", "c.txt": "BAD\n"},
    )
    rules = write(
        tmp_path / "rules",
        {
            "shared.yml": """
                rules:
                  - id: first
                    languages: [regex]
                    severity: ERROR
                    message: bad
                    paths: {include: &conf ["conf/sub/*.txt"]}
                    pattern-regex: BAD
                  - id: second
                    languages: [regex]
                    severity: WARNING
                    message: bad too
                    paths: {include: *conf}
                    pattern-regex: BAD
                """,
        },
    )
    result = scan(root, tmp_path / "c.db", f"per_scanner:\n  semgrep:\n    rules: ['{rules}']\n")
    assert result.exit_code == 1, result.output
    found = json.loads(run("findings", "--db", str(tmp_path / "c.db"), "--json").output)
    assert {(f["rule_id"], f["path"]) for f in found} == {
        (rule, path)
        for rule in ("first", "second")
        for path in ("conf/sub/a.txt", "deep/conf/sub/b.txt")
    }


def test_templates_are_read_and_their_escaping_hints_are_medium(tmp_path: Path) -> None:
    """Template files reach semgrep (the template rules' paths pick them, at any depth) and
    count in coverage; `|safe` and `{% autoescape off %}` are reported at medium (a person
    judges what is marked safe), so they do not block under the shipped policy."""
    root = write(
        tmp_path / "tree",
        {
            "app/templates/profile.html": "<p>{{ user.bio|safe }}</p>\n",
            "app/templates/shop/list.html": "{% autoescape off %}{{ items }}{% endautoescape %}\n",
            "app/templates/clean.html": "<p>{{ user.name }}</p>\n",
            "mail/welcome.jinja": "Hi {{ name|safe }}\n",
            "static/notes.html": "<p>{{ not_a_template|safe }}</p>\n",
            "app.py": "x = 1\n",
        },
    )
    result = scan(root, tmp_path / "c.db")
    assert result.exit_code == 0, result.output
    # every text file is some rule's target (the secrets rules read all): all six scanned
    assert json.loads(result.stdout)["coverage"]["semgrep"] == {"requested": 6, "scanned": 6}
    found = json.loads(run("findings", "--db", str(tmp_path / "c.db"), "--json").output)
    assert {(f["rule_id"], f["path"], f["severity"]) for f in found} == {
        ("web-template-safe-filter", "app/templates/profile.html", "medium"),
        ("web-template-autoescape-off", "app/templates/shop/list.html", "medium"),
        ("web-template-safe-filter", "mail/welcome.jinja", "medium"),
    }
