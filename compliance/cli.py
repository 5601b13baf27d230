"""The `compliance` command: parse → call one function → print → exit code. No logic here.

Exit codes are the contract with pipelines: 0 pass, 1 policy violated, 2 could not decide.
Every error a user can cause ends as one readable line on stderr and exit 2, never a
traceback (set COMPLIANCE_DEBUG=1 to see one).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from compliance.baseline import check_baseline_usable
from compliance.boundary import KINDS, guard_scan
from compliance.cli_options import (
    COUNT,
    given_on_command_line,
    hosts_option,
    hosts_selected,
    output_option,
    scan_count_limit_option,
    text_format_option,
    wants_json,
)
from compliance.code_scan import CodeScanRequest, run_code_scan
from compliance.errors import UserError
from compliance.ops.metrics_output import FORMAT as METRICS_FORMAT
from compliance.ops.metrics_output import METRICS_FORMATS
from compliance.policy import ConfigError, LoadedPolicy, load_policy, load_waivers
from compliance.policy.pinned import PinnedPolicy, policy_for_scan
from compliance.render.data import history_note
from compliance.render.escape import terminal_safe
from compliance.render.options import DEFAULT_GITLAB_SCHEMA, RenderOptions
from compliance.render.outputs import (
    REPORTS_DIR,
    OutputSpec,
    default_outputs,
    parse_output,
    report_output,
    reports_dir_outside,
    write_outputs,
)
from compliance.render.records import finding_json, scan_json
from compliance.render.registry import FORMATS
from compliance.render.terminal import MAX_LISTED, summary_parts
from compliance.scanners import REGISTRY
from compliance.store import Store
from compliance.ui.options import add_ui_options, current_ui
from compliance.ui.progress import audit_progress, scan_progress
from compliance.ui.streams import end_quietly_on_closed_pipe, one_stdout_document, shared_envvars
from compliance.ui.summary import show_lines, show_summary

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
FINDING_STATUSES = ("open", "waived", "suppressed", "preexisting", "fixed")
F = TypeVar("F", bound=Callable[..., Any])


def fail_closed(func: F) -> F:
    """Turn every error into a one-line message and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ui = current_ui()
        try:
            with end_quietly_on_closed_pipe():
                return func(*args, **kwargs)
        except UserError as exc:
            for line in exc.lines():
                ui.error(line)
        except KeyboardInterrupt:
            ui.error("interrupted; the scan is stored as interrupted")
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("COMPLIANCE_DEBUG"):
                traceback.print_exc()
            first = (str(exc).strip().splitlines() or [""])[0]  # never a multi-line dump
            ui.error(
                f"internal error: {type(exc).__name__}: {first}",
                "set COMPLIANCE_DEBUG=1 for a traceback and please report it",
            )
        sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_sigterm() -> None:
    """SIGTERM (a cancelled CI job) ends like Ctrl-C: tools killed, scan stored interrupted."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


notify_option = click.option(
    "--notify",
    "notify_url",
    metavar="URL",
    envvar="COMPLIANCE_NOTIFY_URL",
    help="Slack/Mattermost-compatible webhook: post regressions since the previous run of "
    "this target (nothing when nothing got worse). Never changes the exit code.",
)


def send_drift_alert(store: Store, scan_id: int, url: str | None) -> None:
    """Best effort by contract: whatever happens here, the verdict stands."""
    if not url:
        return
    from compliance.ops.drift import drift_since_previous
    from compliance.ops.notify import describe_failure, notify

    try:
        delivery = notify(url, drift_since_previous(store, scan_id))
    except Exception as exc:  # an alert must never change the gate's exit code
        current_ui().warning(f"drift alert failed: {describe_failure(exc, url)}")
        return
    current_ui().note(("" if delivery.sent else "note: ") + delivery.detail, style="")


db_option = click.option(
    "--db",
    metavar="PATH|URL",
    help="SQLite file or SQLAlchemy URL (postgresql+psycopg://…). Default: $COMPLIANCE_DB, "
    "else $XDG_STATE_HOME/compliance/compliance.db (~/.local/state/compliance/compliance.db).",
)
policy_option = click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    help="Gate policy YAML: thresholds, scanners, waivers, error classes "
    "(default: the shipped policies/default.yml).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="compliance")
def main() -> None:
    """Security and compliance gate: exit 0 pass, 1 policy violated, 2 could not decide.

    \b
    Examples:
      compliance scan .                          # gate this repository
      compliance scan src --policy policies/default.yml --db sqlite:///ci.db
      compliance findings --scan latest --json   # stored findings as JSON
      compliance policy check policies/*.yml
    """


@main.command()
@click.argument("path", type=click.Path(path_type=Path), default=".")
@policy_option
@db_option
@click.option(
    "--target",
    help="Name that identifies this tree across runs (default: "
    "$CI_PROJECT_PATH, the git remote, or the folder name).",
)
@click.option(
    "--baseline",
    help="Scan id or git ref: only findings new since then block. "
    "Default in GitLab merge request pipelines: $CI_MERGE_REQUEST_DIFF_BASE_SHA.",
)
@click.option("--no-baseline", is_flag=True, help="Judge every finding, even in an MR pipeline.")
@text_format_option
@click.option(
    "--advisory-db",
    type=click.Path(exists=True, path_type=Path),
    help="Folder or zip of OSV records: audit dependencies offline against it "
    "(served on a loopback port for the scan; adds pip-audit to the scanners).",
)
@notify_option
@output_option
@click.option(
    "--allow-in-tree",
    "allow_in_tree",
    multiple=True,
    type=click.Choice(KINDS),
    envvar="COMPLIANCE_ALLOW_IN_TREE",
    help="Also allow this kind of the gate's state inside the scanned tree (repeatable; "
    "adds to the policy's allow_in_tree; env: space-separated). Tracked or symlinked paths "
    "there are refused regardless.",
)
@fail_closed
def scan(
    path: Path,
    policy_path: Path | None,
    db: str | None,
    target: str | None,
    baseline: str | None,
    no_baseline: bool,
    fmt: str,
    as_json: bool,
    advisory_db: Path | None,
    notify_url: str | None,
    outputs: tuple[str, ...] = (),
    allow_in_tree: tuple[str, ...] = (),
) -> None:
    """Scan a source tree and gate it against the policy.

    \b
    Examples:
      compliance scan .
      compliance scan services/payments --policy policies/strict.yml --db sqlite:///ci.db
      compliance scan . --baseline origin/main      # only what this branch introduced blocks
    """
    if not path.is_dir():
        raise ConfigError([f"{path}: not a directory; pass the root of the tree to scan"])
    if no_baseline:
        baseline = None
    elif baseline is None:
        baseline = os.environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or None
    if baseline is not None:
        check_baseline_usable(baseline, path)
    with policy_for_scan(policy_path, path, baseline) as pinned:
        _scan(
            path,
            pinned,
            db,
            target,
            baseline,
            wants_json(fmt, as_json),
            advisory_db,
            notify_url,
            outputs,
            allow_in_tree,
        )


def _scan(
    path: Path,
    pinned: PinnedPolicy,
    db: str | None,
    target: str | None,
    baseline: str | None,
    as_json: bool,
    advisory_db: Path | None,
    notify_url: str | None,
    outputs: tuple[str, ...],
    allow_in_tree: tuple[str, ...],
) -> None:
    ui = current_ui()
    loaded = load_policy(pinned.path, known_scanners=REGISTRY.keys())
    if pinned.note:
        ui.note(f"note: {pinned.note}", style="")
    # a typo fails now, not after the scan; the default report never lands in the tree
    output_specs = output_specs_for(outputs, reports_dir_outside(path), json_on_stdout=as_json)
    own_outputs = guard_scan(  # before the database is created or anything written
        path,
        db,
        [(spec.format, spec.path) for spec in output_specs if spec.path is not None],
        {*loaded.policy.allow_in_tree, *allow_in_tree},
        advisories=advisory_db is not None,
    )
    store = Store.open(db)
    stop_on_sigterm()
    scanners, options = None, {}
    if advisory_db is not None:
        scanners = list(dict.fromkeys([*loaded.policy.scanners, "pip-audit"]))
        options = {"advisory_db": str(advisory_db.resolve())}
    names = list(scanners or loaded.policy.scanners)
    with scan_progress(ui, names) as observer:
        request = CodeScanRequest(
            root=path,
            policy=loaded,
            target=target,
            baseline_ref=baseline,
            scanners=scanners,
            scanner_options=options,
            notes=(pinned.note,) if pinned.note else (),
            own_outputs=own_outputs,
            observer=observer,
            merge_request=os.environ.get("CI_MERGE_REQUEST_IID") or None,
        )
        report = run_code_scan(request, store)
    emit_outputs(store, report.scan_id, output_specs, tree=path)
    for error in report.verdict.errors:
        ui.error(error.one_line())
    if as_json:
        echo_scan_json(store, report.scan_id)
    used = report.baseline.source if report.baseline else None
    max_listed = 10**9 if ui.settings.verbose else MAX_LISTED
    parts = summary_parts(
        report.verdict, report.results, report.scan_id, report.target, used, max_listed
    )
    if note := history_note(store, report.scan_id):
        parts.before.insert(0, terminal_safe(note))
    show_summary(ui, parts)
    send_drift_alert(store, report.scan_id, notify_url)
    sys.exit(report.verdict.exit_code)


@main.command()
@db_option
@scan_count_limit_option
@click.option("--target", help="Only scans of this target.")
@click.option("--group", help="Only scans of this scan group (the shards of a sharded audit).")
@text_format_option
@fail_closed
def scans(
    db: str | None, limit: int, target: str | None, group: str | None, fmt: str, as_json: bool
) -> None:
    """List stored scans, newest first.

    \b
    Examples:
      compliance scans --json | jq '.[0].verdict'
      compliance scans --group nightly-4711          # the shards of one sharded audit
    """
    store = Store.open(db)
    rows = [scan_json(s) for s in store.scans(limit=limit, target=target, group=group)]
    if wants_json(fmt, as_json):
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        shard = f" shard {r['shard']}" if r.get("shard") else ""
        click.echo(
            terminal_safe(
                f"{r['id']:>6}  {r['started_at']}  {r['status']:<11} {r['verdict']!s:<6} "
                f"{r['target']}{shard}"
            )
        )
    if group is not None:
        from compliance.scan_group import judge_group

        verdict = judge_group(store, group)
        click.echo(
            terminal_safe(f"group {group}: {verdict.outcome.value} (exit {verdict.exit_code})")
        )
        for reason in verdict.reasons()[1:]:
            click.echo(f"  {terminal_safe(reason)}")


@main.command()
@db_option
@click.option(
    "--scan", "scan_ref", default="latest", show_default=True, help="Scan id or 'latest'."
)
@click.option(
    "--status",
    type=click.Choice(FINDING_STATUSES),
    help="Only findings with this status.",
)
@click.option(
    "--include-fixed",
    is_flag=True,
    help="Also list findings this scan showed fixed (status 'fixed').",
)
@text_format_option
@fail_closed
def findings(
    db: str | None,
    scan_ref: str,
    status: str | None,
    include_fixed: bool,
    fmt: str,
    as_json: bool,
) -> None:
    """Show the findings stored for a scan.

    \b
    Example:
      compliance findings --scan latest --json
    """
    store = Store.open(db)
    scan_record = store.resolve_scan(scan_ref)
    assert scan_record.id is not None
    records = store.findings(scan_record.id)
    if include_fixed or status == "fixed":
        records += store.fixed_in(scan_record.id)
    rows = [finding_json(f) for f in records]
    if status:
        rows = [r for r in rows if r["status"] == status]
    if wants_json(fmt, as_json):
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        where = (r["path"] and f"{r['path']}:{r['line']}") or r["host"] or r["package"] or "?"
        mark = "BLOCKS " if r["blocking"] else ""
        click.echo(
            terminal_safe(
                f"{r['severity']:<8} {r['status']:<11} {mark}{where}  {r['scanner']} "
                f"{r['rule_id']}: {r['title']}  [{r['fingerprint'][:12]}]"
            )
        )


@main.command()
@click.argument("fingerprint", required=False)
@click.option("--rule", help="Waive a rule instead of one finding (with --path).")
@click.option("--path", "path_glob", help="Path glob the rule waiver applies to.")
@click.option("--reason", required=True, help="Why this is acceptable (reviewed in the MR).")
@click.option("--approver", required=True, help="Who approved the exception (not the requester).")
@click.option(
    "--expires",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="YYYY-MM-DD, at most the policy's waivers_max_days (365) away; after it the waiver "
    "stops applying.",
)
@click.option("--scope", help="Only for scans of this target.")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    help="The scanned tree whose .compliance/waivers.yml (the policy's repository_waivers) "
    "to append to. Default: the git top level of the current directory, else '.'.",
)
@click.option(
    "--file",
    "waiver_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append to this waiver file instead (e.g. the pipeline's, beside its policy); "
    "never one inside the installed package.",
)
@click.option(
    "--requested-by",
    metavar="WHO",
    help="Who asks for the waiver. Default: $GITLAB_USER_LOGIN, else git's user.email/name.",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    help="Policy whose rules apply (waivers_max_days, repository_waivers). "
    "Default: the shipped policy.",
)
@db_option
@fail_closed
def waive(
    fingerprint: str | None,
    rule: str | None,
    path_glob: str | None,
    reason: str,
    approver: str,
    expires: Any,
    scope: str | None,
    repo: Path | None,
    waiver_file: Path | None,
    requested_by: str | None,
    policy_path: Path | None,
    db: str | None,
) -> None:
    """Add a reviewed, expiring waiver to the repository's waiver file.

    The fingerprint (a unique prefix will do) or rule must match a stored finding.

    \b
    Examples:
      compliance waive 3f2a9c01d7e4 --reason "input is a constant" --approver alice \\
          --expires 2027-01-31
      compliance waive --rule B101 --path "tests/**" --reason "asserts in tests" \\
          --approver bob --expires 2027-06-30
    """
    from compliance.waive import WaiveRequest, add_waiver

    if not fingerprint and not rule:
        raise ConfigError(["waive: name a FINGERPRINT or a --rule (with an optional --path)"])
    if repo is not None and not repo.is_dir():
        raise ConfigError([f"{repo}: --repo is not a directory"])
    loaded = load_policy(policy_path, known_scanners=REGISTRY.keys())
    request = WaiveRequest(
        fingerprint=fingerprint,
        rule=rule,
        path_glob=path_glob,
        reason=reason,
        approver=approver,
        expires=expires.date(),
        scope=scope,
        waiver_file=waiver_file,
        repo=repo,
        requested_by=requested_by,
    )
    result = add_waiver(request, loaded, Store.open(db))
    click.echo(terminal_safe(f"waiver added to {result.path}: {result.waiver.describe()}"))


@main.group()
def policy() -> None:
    """Policy files: validate before they reach the gate."""


@policy.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@fail_closed
def policy_check(files: tuple[Path, ...]) -> None:
    """Validate policy files; errors name file:line and key, exit 2 on any error.

    Also refused: a threshold a scanner can never reach (bandit rates nothing critical, so
    `per_scanner.bandit.fail_on: critical` could never block: a silent pass).

    \b
    Example:
      compliance policy check policies/*.yml
    """
    from compliance.thresholds import scanners_to_check, unreachable_thresholds

    problems: list[str] = []
    for path in files:
        try:
            loaded = load_policy(path, known_scanners=REGISTRY.keys())
            load_waivers(loaded.waivers_path)
            unreachable = unreachable_thresholds(loaded, scanners_to_check(loaded))
            if unreachable:
                raise ConfigError(unreachable)
            click.echo(terminal_safe(f"ok: {path}"))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)


@main.group()
def db() -> None:
    """The findings database: schema upgrades and retention."""


@db.command("upgrade")
@db_option
@fail_closed
def db_upgrade(db: str | None) -> None:
    """Bring the database schema up to this release (also done automatically on open).

    \b
    Example:
      compliance db upgrade --db postgresql+psycopg://gate@db.internal/compliance
    """
    store = Store.open(db)
    click.echo(f"schema is at revision {store.schema_revision()}")


@db.command("prune")
@db_option
@click.option(
    "--keep-days",
    type=COUNT,
    required=True,
    help="Delete scans older than this many days.",
)
@fail_closed
def db_prune(db: str | None, keep_days: int) -> None:
    """Delete old scans; keep each target's newest complete scan and open findings' history.

    \b
    Example:
      compliance db prune --keep-days 400
    """
    from compliance.scan_group import newest_complete_groups

    store = Store.open(db)
    counts = store.prune(keep_days, keep_groups=newest_complete_groups(store))
    click.echo(", ".join(f"{n} {what.replace('_', ' ')} deleted" for what, n in counts.items()))


@main.command()
@click.option(
    "--inventory",
    "inventory_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Inventory YAML: ours (hosts/groups/defaults) or an Ansible YAML inventory.",
)
@click.option(
    "--host-policy",
    "host_policies",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Host policy YAML (repeatable). Default: host_policies of the gate policy "
    "(the shipped policies/hosts/linux-baseline.yml).",
)
@policy_option
@click.option(
    "--gate-policy",
    "old_gate_policy",
    type=click.Path(path_type=Path),
    hidden=True,
    help="Deprecated spelling of --policy.",
)
@hosts_option
@click.option(
    "--shard",
    metavar="I/N",
    envvar="COMPLIANCE_SHARD",
    help="Audit only slice I of N of the inventory (after --hosts), split by a hash of the host "
    "name; in GitLab: --shard $CI_NODE_INDEX/$CI_NODE_TOTAL with `parallel: N`.",
)
@click.option(
    "--group",
    metavar="NAME",
    envvar="COMPLIANCE_SCAN_GROUP",
    help="Scan group to store this audit in; `report --group NAME` judges all shards as one "
    "fleet. Default with --shard in GitLab: pipeline-$CI_PIPELINE_ID.",
)
@click.option(
    "--concurrency",
    default=32,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Hosts audited at once.",
)
@click.option(
    "--trust-on-first-use",
    is_flag=True,
    help="Accept and record unknown host keys in the known_hosts file (changed keys still fail).",
)
@db_option
@notify_option
@text_format_option
@output_option
@fail_closed
def audit(
    inventory_path: Path,
    host_policies: tuple[Path, ...],
    policy_path: Path | None,
    old_gate_policy: Path | None,
    hosts: tuple[str, ...],
    old_limit: tuple[str, ...],
    shard: str | None,
    group: str | None,
    concurrency: int,
    trust_on_first_use: bool,
    db: str | None,
    notify_url: str | None,
    fmt: str = "text",
    as_json: bool = False,
    outputs: tuple[str, ...] = (),
) -> None:
    """Audit hosts over SSH against host policies; exit 0 pass, 1 violated, 2 could not decide.

    \b
    Examples:
      compliance audit --inventory hosts.yml
      compliance audit --inventory hosts.yml --host-policy policies/hosts/linux-baseline.yml \\
          --hosts web
      compliance audit --inventory inventory/ansible-hosts.yml --concurrency 64
      compliance audit --inventory hosts.yml --shard 2/4 --group nightly-4711 --db $PG_URL
      compliance audit --inventory hosts.yml --json | jq .verdict   # summary on stderr
      compliance audit --inventory hosts.yml -o sarif:- > audit.sarif
    """
    from compliance.host_audit import (
        HostAuditRequest,
        host_summary_line,
        run_host_audit,
        score_lines,
    )
    from compliance.hosts.shard import Shard
    from compliance.scan_group import default_group

    ui = current_ui()
    if old_gate_policy is not None:
        ui.warning("--gate-policy is deprecated: it is now --policy (host policies: --host-policy)")
        policy_path = policy_path or old_gate_policy
    shard_spec = Shard.parse(shard) if shard else None
    group = default_group(group, sharded=shard_spec is not None)
    loaded = load_gate_policy_for_audit(policy_path)
    as_json = wants_json(fmt, as_json)
    # a typo or two documents for stdout fail now, not after the audit
    output_specs = output_specs_for(outputs, json_on_stdout=as_json)
    store = Store.open(db)
    with audit_progress(ui) as observer:
        report = run_host_audit(
            HostAuditRequest(
                inventory=inventory_path,
                policy=loaded,
                host_policies=host_policies,
                hosts=hosts_selected(hosts, old_limit),
                concurrency=concurrency,
                trust_on_first_use=trust_on_first_use,
                shard=shard_spec,
                group=group,
            ),
            store,
            observer.host_done,
            observer.hosts_selected,
        )
    for error in report.verdict.errors:
        ui.error(error.one_line())
    in_shard = f" (shard {shard_spec} of group {group})" if shard_spec else ""
    show_lines(
        ui,
        [
            terminal_safe(
                f"audit {report.scan_id} of {report.target}{in_shard}: "
                f"{len(report.hosts)} host(s), {report.checks} check(s) each"
            ),
            *(
                terminal_safe(host_summary_line(h, report.scores.hosts.get(h.host.name)))
                for h in report.hosts
            ),
            *(terminal_safe(line) for line in score_lines(report.scores)),
        ],
    )
    parts = summary_parts(report.verdict, [], report.scan_id, report.target)
    if note := history_note(store, report.scan_id):
        parts.before.insert(0, terminal_safe(note))
    show_summary(ui, parts, False)
    emit_outputs(store, report.scan_id, output_specs)
    if as_json:
        echo_scan_json(store, report.scan_id)
    send_drift_alert(store, report.scan_id, notify_url)
    sys.exit(report.verdict.exit_code)


def load_gate_policy_for_audit(path: Path | None) -> LoadedPolicy:
    """The gate policy; a host policy given as --policy (its meaning before --host-policy)
    is named as such instead of listed as a dozen unknown keys."""
    from compliance.hosts.policy import load_host_policy

    try:
        return load_policy(path, known_scanners=REGISTRY.keys())
    except ConfigError as gate_problems:
        if path is None:
            raise
        try:
            load_host_policy(path)
        except ConfigError:
            raise gate_problems from None
        raise ConfigError(
            [f"{path}: a host policy given as --policy, which names the gate policy"],
            hint="pass host policies with --host-policy",
        ) from None


@policy.command("check-hosts")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@fail_closed
def policy_check_hosts(files: tuple[Path, ...]) -> None:
    """Validate host policy files; errors name file:line and key, exit 2 on any error.

    \b
    Example:
      compliance policy check-hosts policies/hosts/*.yml
    """
    from compliance.hosts.policy import load_host_policy

    problems: list[str] = []
    for path in files:
        try:
            loaded = load_host_policy(path)
            if loaded.unsupported:  # an audit runs the rest; each of these is an error there
                problems.extend(loaded.unsupported)
                continue
            click.echo(terminal_safe(f"ok: {path} ({len(loaded.checks)} checks)"))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)


@main.command()
@db_option
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(METRICS_FORMATS),
    default=METRICS_FORMAT,
    show_default=True,
    help="prometheus: the exposition text (node_exporter's textfile collector); json: the "
    "same samples as one JSON document.",
)
@click.option(
    "-o",
    "--output",
    "output",
    metavar="FMT[:FILE]",
    help="Write FILE atomically, e.g. prometheus:/var/lib/node_exporter/textfile/"
    "compliance.prom; FMT alone: reports/compliance.prom (json: reports/"
    "compliance-metrics.json). Default (or FMT:-): stdout. A bare FILE still works "
    "(deprecated).",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    help="Policy whose waiver file feeds the waiver-expiry metrics.",
)
@fail_closed
def metrics(db: str | None, fmt: str, output: str | None, policy_path: Path | None) -> None:
    """Metrics: latest verdicts, findings, host scores, waiver expiry, scan age.

    \b
    Examples:
      compliance metrics
      compliance metrics --output prometheus:/var/lib/node_exporter/textfile/compliance.prom
      compliance metrics -f json | jq '.[] | select(.name == "compliance_verdict")'
    """
    from compliance.ops import metrics as prom
    from compliance.ops.metrics_output import parse_metrics_output

    # a typo fails before the store is read
    destination = parse_metrics_output(output, fmt, given_on_command_line("fmt"))
    if destination.deprecated:
        current_ui().warning(
            "--output FILE is deprecated: it is now --output FMT:FILE (e.g. "
            f"{destination.format}:FILE), as on every command"
        )
    loaded = load_policy(policy_path, known_scanners=REGISTRY.keys())
    registry = prom.build_registry(Store.open(db), load_waivers(loaded.waivers_path))
    if destination.path is None:
        click.echo(prom.render(registry, destination.format), nl=False)
    else:
        prom.write(registry, destination.path, destination.format)
        click.echo(terminal_safe(f"metrics written to {destination.path}"))


@main.group()
def advisories() -> None:
    """Air-gapped OSV advisory mirror for the dependency audit."""


@advisories.command("serve")
@click.argument("db", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port (0: any free port).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    help="Where the index is cached (default: $COMPLIANCE_CACHE_DIR or ~/.cache/compliance).",
)
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
@fail_closed
def advisories_serve(db: Path, port: int, host: str, cache_dir: Path | None, verbose: bool) -> None:
    """Serve OSV records (folder or zip, JSON or YAML) as an OSV-compatible API.

    \b
    Examples:
      compliance advisories serve advisory-database/vulns --port 8765
      pip-audit -s osv --osv-url http://127.0.0.1:8765/v1/query -r requirements.txt
    """
    from compliance.advisories import AdvisoryDbError, AdvisoryIndex, MirrorServer

    try:
        index = AdvisoryIndex.open(db, cache_dir)
    except AdvisoryDbError as exc:
        raise ConfigError([str(exc)]) from None
    try:
        server = MirrorServer(index, host, port, verbose=verbose)
    except OSError as exc:
        raise ConfigError([f"cannot listen on {host}:{port}: {exc.strerror}"]) from None
    stats = index.stats
    how = "built" if stats.built else "opened"
    click.echo(
        f"serving {stats.records - stats.withdrawn} advisories ({stats.withdrawn} withdrawn) "
        f"for {stats.packages} packages at {server.query_url} "
        f"(index {how} in {stats.seconds:.2f}s: {stats.path})",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        index.close()


@main.command()
@db_option
@click.option(
    "--scan", "scan_ref", default="latest", show_default=True, help="Scan id or 'latest'."
)
@click.option(
    "-f",
    "--format",
    "fmt",
    default="html",
    show_default=True,
    type=click.Choice(list(FORMATS)),
    help="Report format: the FMT names `scan --output FMT:FILE` takes.",
)
@click.option(
    "-o",
    "--output",
    "output",
    metavar="FMT[:FILE]|FILE",
    help="As on `scan`: FMT:FILE, FMT:- (stdout) or FMT alone (reports/<conventional "
    "name>); a plain FILE (or '-') takes --format's format. An FMT other than a typed "
    "--format is refused. Default: reports/<conventional name>.",
)
@click.option(
    "--group",
    metavar="NAME",
    help="Report a whole scan group (every shard of a sharded audit) as one fleet, and exit "
    "with its verdict: 0 pass, 1 violated, 2 a shard missing, unfinished or errored.",
)
@click.option(
    "--gitlab-schema-version",
    metavar="X.Y.Z",
    help=f"Schema version for the GitLab formats (default {DEFAULT_GITLAB_SCHEMA}, or "
    "$COMPLIANCE_GITLAB_SCHEMA_VERSION): use one your GitLab ships.",
)
@fail_closed
def report(
    db: str | None,
    scan_ref: str,
    fmt: str,
    output: str | None,
    gitlab_schema_version: str | None,
    group: str | None = None,
) -> None:
    """Render a stored scan as a report; never runs a scanner.

    \b
    Examples:
      compliance report                                   # reports/compliance-report.html
      compliance report --scan 42 --format sarif --output compliance.sarif
      compliance report --format gitlab-sast --output gl-sast-report.json
      compliance report --format json --output - | jq .scan.verdict
      compliance report --group nightly-4711 --format junit   # all shards, one verdict
    """
    store = Store.open(db)
    if group is not None:
        report_group(store, group, scan_ref, fmt, output, gitlab_schema_version)
    scan_record = store.resolve_scan(scan_ref)
    assert scan_record.id is not None
    spec = report_output(fmt, output, given_on_command_line("fmt"))
    options = RenderOptions.from_env(gitlab_schema_version)
    write_outputs(store, scan_record.id, [spec], options, click.get_text_stream("stdout"))
    if spec.path is not None:
        current_ui().note(f"report ({spec.format}) of scan {scan_record.id}: {spec.path}")


def report_group(
    store: Store,
    group: str,
    scan_ref: str,
    fmt: str,
    output: str | None,
    gitlab_schema_version: str | None,
) -> None:
    from compliance.scan_group import write_group_outputs

    if scan_ref != "latest":
        raise ConfigError(["report: pass --scan or --group, not both"])
    spec = report_output(fmt, output, given_on_command_line("fmt"))
    options = RenderOptions.from_env(gitlab_schema_version)
    verdict = write_group_outputs(
        store, group, [spec], options, stdout=click.get_text_stream("stdout")
    )
    where = f": {spec.path}" if spec.path is not None else ""
    click.echo(
        f"report ({spec.format}) of scan group {group}, {len(verdict.shards)} of "
        f"{verdict.count} shard(s){where}: {verdict.outcome.value}",
        err=True,
    )
    for reason in verdict.reasons()[1:]:
        click.echo(f"error: {terminal_safe(reason)}", err=True)
    sys.exit(verdict.exit_code)


def output_specs_for(
    outputs: tuple[str, ...], reports_dir: Path = REPORTS_DIR, json_on_stdout: bool = False
) -> list[OutputSpec]:
    """`--output` values, or the HTML report in `reports_dir` when none is given. At most
    one document on stdout (`--json` is one); when there is one, the summary goes to stderr."""
    specs = [parse_output(o, reports_dir) for o in outputs] or default_outputs(reports_dir)
    on_stdout = [s.format for s in specs if s.path is None] + (["--json"] if json_on_stdout else [])
    if one_stdout_document(on_stdout):
        current_ui().claim_stdout()
    return specs


def echo_scan_json(store: Store, scan_id: int) -> None:
    """`--json`: the stored scan's record (verdict, counts, …) as stdout's one document."""
    click.echo(json.dumps(scan_json(store.resolve_scan(str(scan_id))), indent=2))


def emit_outputs(
    store: Store, scan_id: int, specs: list[OutputSpec], tree: Path | None = None
) -> None:
    """Write the reports from the stored scan, naming each file on stderr."""
    write_outputs(store, scan_id, specs, stdout=click.get_text_stream("stdout"), tree=tree)
    for spec in specs:
        if spec.path is not None:
            current_ui().note(f"report ({spec.format}): {spec.path}")


add_ui_options(main)  # --color, -q, -v everywhere
shared_envvars(main)  # every option from COMPLIANCE_<OPTION>, shown in --help
