"""`compliance scan`: source tree → scanners → store → gate → verdict.

Data flows one way. Every scanner problem, including our own bugs in a scanner adapter,
ends up as a ScanError that the gate turns into exit 2: nothing here can turn a failure
into "no findings".
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from compliance.baseline import BaselineError, resolve_baseline
from compliance.findings import Finding
from compliance.gate import GateInput, Verdict, judge
from compliance.policy import LoadedPolicy, load_waivers
from compliance.render.data import waiver_summary
from compliance.render.repository_config import repository_config_summary
from compliance.scanners import REGISTRY, get_scanner
from compliance.scanners.interface import ScanContext, ScanError, ScannerFailure, ScannerResult
from compliance.scanners.process import kill_running_tools
from compliance.sources import apply_excludes, default_target, git_info, list_files
from compliance.store import ScanMeta, ScanOutcome, Store


@dataclass(frozen=True)
class CodeScanRequest:
    root: Path
    policy: LoadedPolicy
    target: str | None = None
    scanners: Sequence[str] | None = None  # None: the policy's list
    baseline_ref: str | None = None  # a scan id or a git ref; only new findings block
    today: date = field(default_factory=date.today)
    scanner_options: dict[str, Any] = field(default_factory=dict)  # e.g. advisory_db


@dataclass(frozen=True)
class CodeScanReport:
    scan_id: int
    target: str
    verdict: Verdict
    results: tuple[ScannerResult, ...]


def run_code_scan(request: CodeScanRequest, store: Store) -> CodeScanReport:
    loaded = request.policy
    policy = loaded.policy
    root = request.root.resolve()
    waivers = load_waivers(loaded.waivers_path)
    info = git_info(root)
    target = request.target or default_target(root, info)
    names = list(request.scanners or policy.scanners)

    scan_id = store.begin_scan(
        ScanMeta(
            kind="code",
            target=target,
            git_commit=info.commit,
            git_branch=info.branch,
            policy_path=str(loaded.path),
            policy_digest=loaded.digest,
        )
    )
    try:
        files, results = run_scanners(root, loaded, names, request.scanner_options)
        findings: list[Finding] = [f for r in results for f in r.findings]
        errors = [e for r in results for e in r.errors] + _coverage_errors(results)
        baseline: frozenset[str] | None = None
        if request.baseline_ref:
            try:
                baseline = resolve_baseline(
                    request.baseline_ref,
                    root,
                    target,
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
                baseline=baseline,
                first_seen=store.first_seen(target, (f.fingerprint for f in findings)),
                today=request.today,
            )
        )
        store.finish_scan(
            scan_id,
            ScanOutcome(
                verdict=verdict,
                tool_versions={r.scanner: r.version for r in results if r.version},
                coverage={
                    r.scanner: {"requested": r.files_requested, "scanned": r.files_scanned}
                    for r in results
                },
                completed_scanners=[r.scanner for r in results if r.complete],
                summary={
                    "files": len(files),
                    "root": str(root),
                    "waivers": waiver_summary(waivers, verdict, target, request.today),
                    "repository_config": repository_config_summary(
                        policy.repository_config, results
                    ),
                },
            ),
        )
    except BaseException as exc:
        kill_running_tools()
        store.mark_interrupted(scan_id, f"scan stopped before it finished: {type(exc).__name__}")
        raise
    return CodeScanReport(scan_id, target, verdict, tuple(results))


def run_scanners(
    root: Path, loaded: LoadedPolicy, names: Sequence[str], extra: dict[str, Any] | None = None
) -> tuple[list[str], list[ScannerResult]]:
    """The tree's files after the policy's excludes, and every scanner's result, in parallel."""
    files = apply_excludes(list_files(root), loaded.policy.exclude)
    options = {"concurrent_scanners": len(names), **(extra or {})}  # semgrep's --jobs
    pool = ThreadPoolExecutor(max_workers=max(1, len(names)))
    try:
        results = list(
            pool.map(lambda name: _run_scanner(name, root, files, loaded, options), names)
        )
    finally:
        # On Ctrl-C the tools are killed first, so waiting for the threads is short.
        if sys.exc_info()[0] is not None:
            kill_running_tools()
        pool.shutdown(wait=True, cancel_futures=True)
    return files, results


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
        chosen = apply_excludes(scanner.select(root, files), settings.exclude)
        context = ScanContext(
            root=root,
            files=tuple(chosen),
            timeout=policy.timeout_for(name),
            options={
                "unknown_severity": policy.unknown_severity.label,
                "rules": [str(loaded.path.parent / rule) for rule in settings.rules],
                "dependencies": policy.dependencies.model_dump(),
                "repository_config": policy.repository_config,
                **extra,
            },
        )
        return scanner.scan(context)
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


def _failed(name: str, error: ScanError) -> ScannerResult:
    return ScannerResult(scanner=name, version="", errors=(error,), files_requested=0)


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
