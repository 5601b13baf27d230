"""`compliance scan`: source tree → scanners → store → gate → verdict.

Data flows one way. Every scanner problem, including our own bugs in a scanner adapter,
ends up as a ScanError that the gate turns into exit 2: nothing here can turn a failure
into "no findings".
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from compliance import weakness
from compliance.baseline import Baseline, BaselineError, resolve_baseline
from compliance.boundary import NO_OWN_OUTPUTS, OwnOutputs, drop_own_outputs
from compliance.gate import GateInput, Verdict, judge
from compliance.policy import ConfigError, LoadedPolicy
from compliance.policy.scan_waivers import read_scan_waivers
from compliance.render.data import waiver_summary
from compliance.render.repository_config import repository_config_summary
from compliance.scanners import REGISTRY, get_scanner
from compliance.scanners.interface import ScanContext, ScanError, ScannerFailure, ScannerResult
from compliance.scanners.process import kill_running_tools
from compliance.scanners.redact import redact_results
from compliance.sources import (
    TreeProblem,
    apply_excludes,
    default_target,
    display_path,
    git_info,
    survey,
    tree_state,
    unexcluded,
)
from compliance.store import ScanMeta, ScanOutcome, Store
from compliance.store.baseline_match import BaselineKey
from compliance.thresholds import unreachable_thresholds


class ScanObserver(Protocol):
    """Told when each scanner starts and ends (the CLI draws progress from it); it only
    watches: whatever it does, the scan and its verdict are the same."""

    def scanner_started(self, name: str) -> None: ...

    def scanner_finished(self, result: ScannerResult) -> None: ...


class NoObserver:
    def scanner_started(self, name: str) -> None:
        """Nothing to show."""

    def scanner_finished(self, result: ScannerResult) -> None:
        """Nothing to show."""


@dataclass(frozen=True)
class CodeScanRequest:
    root: Path
    policy: LoadedPolicy
    target: str | None = None
    scanners: Sequence[str] | None = None  # None: the policy's list
    baseline_ref: str | None = None  # a scan id or a git ref; only new findings block
    today: date = field(default_factory=date.today)
    scanner_options: dict[str, Any] = field(default_factory=dict)  # e.g. advisory_db
    notes: tuple[str, ...] = ()  # said in the summary and stored, e.g. where the policy came from
    own_outputs: OwnOutputs = NO_OWN_OUTPUTS  # the gate's files in the tree: never judged
    merge_request: str | None = None  # $CI_MERGE_REQUEST_IID: the report asks "may it merge?"
    observer: ScanObserver = field(default_factory=NoObserver)  # progress, for people


@dataclass(frozen=True)
class CodeScanReport:
    scan_id: int
    target: str
    verdict: Verdict
    results: tuple[ScannerResult, ...]
    baseline: Baseline | None = None


def run_code_scan(request: CodeScanRequest, store: Store) -> CodeScanReport:
    loaded = request.policy
    policy = loaded.policy
    root = request.root.resolve()
    scan_waivers = read_scan_waivers(loaded, root, request.today)
    waivers = scan_waivers.entries
    info = git_info(root)
    state = tree_state(root)  # before any scanner reads the tree
    target = request.target or default_target(root, info)
    names = list(request.scanners or policy.scanners)
    unreachable = unreachable_thresholds(loaded, names)
    if unreachable:  # a gate that can never block is a silent pass: refuse to run it
        raise ConfigError(unreachable)

    scan_id = store.begin_scan(
        ScanMeta(
            kind="code",
            target=target,
            git_commit=info.commit,
            git_branch=info.branch,
            policy_path=str(loaded.path),
            policy_digest=loaded.digest,
            tree_dirty=state.dirty,
            scan_root=state.scan_root,
            scanners=names,
        )
    )
    try:
        files, results, problems = scan_tree(
            root, loaded, names, request.scanner_options, request.own_outputs, request.observer
        )
        findings = weakness.judged_findings(
            [f for r in results for f in r.findings], policy.classification.overrides()
        )
        errors = (
            [_problem_error(p) for p in problems]
            + [e for r in results for e in r.errors]
            + _coverage_errors(results)
        )
        errors.extend(_waiver_error(problem) for problem in scan_waivers.rejected)
        baseline: Baseline | None = None
        if request.baseline_ref:
            key = BaselineKey(
                target=target,
                scan_root=state.scan_root,
                policy_digest=loaded.digest,
                scanners={r.scanner: r.version for r in results},
            )
            try:
                baseline = resolve_baseline(
                    request.baseline_ref,
                    root,
                    key,
                    store,
                    lambda tree: run_scanners(tree, loaded, names, request.scanner_options)[1],
                )
            except BaselineError as exc:
                errors.append(ScanError("baseline", "baseline", str(exc), hint=exc.hint))
        verdict = judge(
            GateInput(
                findings=findings,
                policy=policy,
                target=target,
                waivers=waivers,
                errors=errors,
                baseline=baseline.fingerprints if baseline else None,
                baseline_suppressed=baseline.suppressed if baseline else frozenset(),
                first_seen=store.first_seen(
                    target, (m.fingerprint for f in findings for m in weakness.members(f))
                ),
                today=request.today,
            )
        )
        store.finish_scan(
            scan_id,
            ScanOutcome(
                verdict=verdict,
                tool_versions={r.scanner: r.version for r in results if r.version},
                coverage={
                    r.scanner: {
                        "requested": r.files_requested,
                        "scanned": r.files_scanned,
                        **(
                            {"not_scanned": {n.what: len(n.paths) for n in r.not_scanned}}
                            if r.not_scanned
                            else {}
                        ),
                    }
                    for r in results
                },
                completed_scanners=[r.scanner for r in results if r.complete],
                summary={
                    "files": len(files),
                    "root": display_path(str(root)),
                    "waivers": waiver_summary(waivers, verdict, target, request.today),
                    "repository_config": repository_config_summary(
                        policy.repository_config, results
                    ),
                    "notes": list(request.notes),
                    "runtime": {r.scanner: r.runtime for r in results if r.runtime},
                    "baseline": _baseline_summary(baseline),
                    "dependencies": _dependency_summary(results),
                    "merge_request": request.merge_request,
                    "not_scanned": [
                        {
                            "scanner": r.scanner,
                            "what": n.what,
                            "count": len(n.paths),
                            "examples": list(n.paths[:20]),
                        }
                        for r in results
                        for n in r.not_scanned
                    ],
                },
            ),
        )
    except BaseException as exc:
        kill_running_tools()
        store.mark_interrupted(scan_id, f"scan stopped before it finished: {type(exc).__name__}")
        raise
    return CodeScanReport(scan_id, target, verdict, tuple(results), baseline)


def _dependency_summary(results: Sequence[ScannerResult]) -> dict[str, Any]:
    """Every manifest's coverage line and every component found, stored with the scan: the
    SBOM and the report's dependency section are rendered from the store, not a re-scan."""
    return {
        "manifests": [
            {"path": m.path, "kind": m.kind, "packages": m.packages, "state": m.state}
            for r in results
            for m in r.manifests
        ],
        "components": [c.as_dict() for r in results for c in r.components],
    }


def _baseline_summary(baseline: Baseline | None) -> dict[str, Any] | None:
    """Which baseline judged this scan, stored with it: 'why was this preexisting?'."""
    if baseline is None:
        return None
    return {
        "source": baseline.source,
        "scan_id": baseline.scan_id,
        "commit": baseline.commit,
        "findings": len(baseline.fingerprints),
        "suppressed": len(baseline.suppressed),
    }


class TreeScan(NamedTuple):
    files: list[str]
    results: list[ScannerResult]
    problems: list[TreeProblem]
    """Paths no scanner reads (links leaving the tree, submodules…) the excludes leave in."""


def run_scanners(
    root: Path,
    loaded: LoadedPolicy,
    names: Sequence[str],
    extra: dict[str, Any] | None = None,
    own_outputs: OwnOutputs = NO_OWN_OUTPUTS,
) -> tuple[list[str], list[ScannerResult]]:
    """The tree's files after the policy's excludes and without the gate's own outputs, and
    every scanner's result."""
    tree = scan_tree(root, loaded, names, extra, own_outputs)
    return tree.files, tree.results


def scan_tree(
    root: Path,
    loaded: LoadedPolicy,
    names: Sequence[str],
    extra: dict[str, Any] | None = None,
    own_outputs: OwnOutputs = NO_OWN_OUTPUTS,
    observer: ScanObserver | None = None,
) -> TreeScan:
    """The tree's files after the policy's excludes and without the gate's own outputs,
    every scanner's result (in parallel), and what in the tree no scanner can read."""
    tree = survey(root)
    files = apply_excludes(drop_own_outputs(tree.files, own_outputs), loaded.policy.exclude)
    problems = unexcluded(tree.problems, loaded.policy.exclude)
    options = {"concurrent_scanners": len(names), **(extra or {})}  # semgrep's --jobs
    watch = observer or NoObserver()

    def run(name: str) -> ScannerResult:
        watch.scanner_started(name)
        result = _run_scanner(name, root, files, loaded, options)
        watch.scanner_finished(result)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, len(names)))
    try:
        results = list(pool.map(run, names))
    finally:
        # On Ctrl-C the tools are killed first, so waiting for the threads is short.
        if sys.exc_info()[0] is not None:
            kill_running_tools()
        pool.shutdown(wait=True, cancel_futures=True)
    # before anything is judged, stored or printed: a secret one scanner matched is hidden
    # in every scanner's findings (another rule's evidence on the same line quotes it too)
    return TreeScan(files, redact_results(results), problems)


def _run_scanner(
    name: str, root: Path, files: list[str], loaded: LoadedPolicy, extra: dict[str, Any]
) -> ScannerResult:
    """Run one scanner; any exception becomes an error in its result (fail closed)."""
    policy = loaded.policy
    if name not in REGISTRY:
        return _failed(name, ScanError(name, "scanner.missing", f"no scanner named {name!r}"))
    scanner = get_scanner(name)
    settings = policy.scanner(name)
    try:
        selected = scanner.select(root, files)
        chosen = apply_excludes(selected, settings.exclude)
        context = ScanContext(
            root=root,
            files=tuple(chosen),
            timeout=policy.timeout_for(name),
            options={
                "unknown_severity": policy.unknown_severity.label,
                "rules": [str(loaded.path.parent / rule) for rule in settings.rules],
                "python": settings.python,
                "dependencies": policy.dependencies.model_dump(),
                "repository_config": policy.repository_config,
                **extra,
            },
        )
        result = scanner.scan(context)
        left_out = scanner.not_selected(root, files, selected)
        if left_out:
            result = replace(result, not_scanned=(*left_out, *result.not_scanned))
        return result
    except ScannerFailure as exc:
        return _failed(name, ScanError(name, exc.kind, exc.reason, exc.path, exc.hint))
    except Exception as exc:  # a bug in an adapter must still stop the gate
        return _failed(
            name,
            ScanError(
                name,
                "scanner.crash",
                f"internal error while running {name}: {type(exc).__name__}: {exc}",
                hint="please report this; the scan cannot be trusted",
            ),
        )


def _waiver_error(problem: str) -> ScanError:
    return ScanError(
        "waivers",
        "waivers",
        problem,
        hint="fix or remove it; `compliance waive` writes waivers that follow the rules",
    )


def _failed(name: str, error: ScanError) -> ScannerResult:
    return ScannerResult(scanner=name, version="", errors=(error,), files_requested=0)


def _problem_error(problem: TreeProblem) -> ScanError:
    return ScanError(
        "tree", "coverage", problem.reason, path=display_path(problem.path), hint=problem.hint
    )


def _coverage_errors(results: Sequence[ScannerResult]) -> list[ScanError]:
    """A shortfall in files scanned that the scanner did not itself explain is an error."""
    errors = []
    for r in results:
        if r.files_scanned < r.files_requested and not r.errors:
            errors.append(
                ScanError(
                    r.scanner,
                    "coverage",
                    f"scanned {r.files_scanned} of {r.files_requested} files it was asked to",
                )
            )
    if results and all(r.files_requested == 0 and not r.errors for r in results):
        errors.append(
            ScanError(
                "scan",
                "coverage",
                "no file in the tree matched any scanner",
                hint="check the path and the policy's exclude list; set errors.coverage: warn "
                "to allow empty trees",
            )
        )
    return errors
