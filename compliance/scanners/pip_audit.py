"""pip-audit: known vulnerabilities in the dependencies a tree pins, online or air-gapped.

pip-audit alone fails open offline ("No known vulnerabilities found", exit 0, when it
could not audit a thing). Here every way of not auditing is an error the gate sees:

- manifests are read first (`dependency_set`, one parser per kind in compliance/manifests):
  pip-audit gets only exact pins (`--no-deps --disable-pip`, so it never builds a venv or
  reaches an index); every unpinned requirement is a `dependencies.unpinned` error naming
  file:line unless a lock pins it or the policy's index resolves it, and every URL or
  editable dependency is a `dependencies.skipped` error;
- pip-audit's own `skip_reason` entries become `dependencies.skipped` errors too;
- a pin pip-audit does not report back is a `coverage` error;
- a crash, a timeout, an unreachable advisory service or output that is not the JSON we
  expect is a scanner error. pip-audit exits 1 both for "found vulnerabilities" and for
  "failed", so its exit code alone proves nothing: only a well-formed report does.

Advisories come from OSV: api.osv.dev by default, an OSV-compatible URL from the policy
(`dependencies.osv_url`), or, with `--advisory-db DIR`, a mirror this scanner serves on an
ephemeral loopback port for the length of the scan. Each advisory's full record is then
read from the same service (`GET /v1/vulns/ID`) for its severity, since pip-audit's JSON
carries none.

With a local database the pins are by default matched in-process instead
(`dependencies.engine: index`, index_audit.py): the same index, the same answers shaped as
pip-audit shapes them, without the mirror and a pip-audit process. Either engine's answer
becomes findings in advisory_findings.py. Options are read once (PipAuditOptions).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from compliance.advisories.loader import AdvisoryDbError
from compliance.cache import ResultCache
from compliance.findings import Finding, Severity
from compliance.manifests.interface import Dependency
from compliance.manifests.registry import is_manifest
from compliance.scanners import index_audit
from compliance.scanners.advisory_findings import (
    ENVIRONMENT,
    Audited,
    Vuln,
    answer_json,
    finding,
    lowest_fix,
    usable,
)
from compliance.scanners.audit_cache import AuditCache
from compliance.scanners.dependency_set import SKIP_HINT, DependencySet, collect
from compliance.scanners.index_audit import ENGINE_VERSION
from compliance.scanners.interface import (
    ScanContext,
    ScanError,
    Scanner,
    ScannerFailure,
    ScannerResult,
)
from compliance.scanners.process import find_tool, run_tool, stderr_tail, venv_version
from compliance.scanners.scan_options import PipAuditOptions

if TYPE_CHECKING:
    from compliance.advisories.index import AdvisoryIndex

DEFAULT_OSV_URL = "https://api.osv.dev/v1/query"
SOCKET_TIMEOUT = 30  # seconds per request to the advisory service
_UNREACHABLE = ("ConnectionError", "Max retries exceeded", "Could not connect", "ConnectTimeout")


class PipAuditScanner(Scanner):
    name = "pip-audit"
    max_severity = Severity.CRITICAL  # advisories are rated up to critical (severity.py WORDS)

    def select(self, root: Path, files: Sequence[str]) -> list[str]:
        return [f for f in files if is_manifest(f)]

    def version(self) -> str:
        tool = find_tool("pip-audit")
        known = venv_version(tool, "pip-audit")
        if known:
            return known
        run = run_tool([tool, "--version"], tool="pip-audit", timeout=60)
        words = run.stdout.split()
        if run.returncode != 0 or not words:
            raise ScannerFailure(
                "scanner.crash", f"pip-audit --version failed: {stderr_tail(run.stderr)}"
            )
        return words[-1]

    def scan(self, context: ScanContext) -> ScannerResult:
        options = PipAuditOptions.from_mapping(context.options)
        cache = ResultCache.for_scan(options.cache)
        environment = options.environment
        engine = choose_engine(options)
        with tempfile.TemporaryDirectory(prefix="compliance-pip-audit-") as tmp:
            index_env = _no_proxy_for_loopback(options.index_url or "")
            settings = {"index_url": options.index_url}
            found = collect(
                context.root, context.files, settings, Path(tmp), context.timeout, index_env
            )
            if engine == "index":
                version = ENGINE_VERSION
                audited, records = self._with_index(found, options, cache)
            else:
                tool = find_tool("pip-audit")
                version = cache.tool_version(tool, self.version)
                audited, records = self._with_pip_audit(
                    found, options, context.timeout, cache, cache.identity(tool), Path(tmp)
                )
        unknown = options.unknown_severity
        findings: list[Finding] = []
        for pin, vulns in audited:
            known = [[records[i] for i in (v.id, *v.aliases) if i in records] for v in vulns]
            best = lowest_fix(pin, vulns, known)
            key = (pin.name, pin.version, pin.path)
            if vulns and key in found.components:
                found.components[key] = replace(
                    found.components[key], advisories=tuple(v.id for v in vulns), fix=best
                )
            findings += [
                finding(pin, v, k, unknown, best) for v, k in zip(vulns, known, strict=True)
            ]
        requested = len(context.files) + int(environment)
        scanned = len([f for f in context.files if f not in found.failed]) + int(environment)
        return ScannerResult(
            scanner=self.name,
            version=version,
            findings=(*found.findings, *findings),
            errors=tuple(found.errors),
            files_requested=requested,
            files_scanned=scanned,
            components=tuple(found.components.values()),
            manifests=tuple(found.coverage.values()),
        )

    def _with_index(
        self, found: DependencySet, options: PipAuditOptions, cache: ResultCache
    ) -> tuple[list[tuple[Dependency, list[Vuln]]], dict[str, dict[str, Any]]]:
        """The pins matched in-process against the local advisory index (index_audit)."""
        answers = AuditCache(cache, options.advisory_db, ENGINE_VERSION)
        pin_lines = [f"{p.name}=={p.version}" for p in found.pins]
        hit = usable(answers.get(pin_lines))
        if hit is not None:
            return self._check_run(hit[0], found.pins, found), hit[1]
        if not found.pins:
            return [], {}
        with _opened_index(options, answers.database_key) as index:
            result, records = index_audit.audit(index, found.pins)
        if not result.skipped:
            answers.put(pin_lines, answer_json([result], records))
        return self._check_run(result, found.pins, found), records

    def _with_pip_audit(
        self,
        found: DependencySet,
        options: PipAuditOptions,
        timeout: float,
        cache: ResultCache,
        identity: str,
        tmp: Path,
    ) -> tuple[list[tuple[Dependency, list[Vuln]]], dict[str, dict[str, Any]]]:
        """The pins (and, when the policy asks, the environment) audited by pip-audit runs
        against the advisory service: a remote OSV API or the local mirror."""
        environment = options.environment
        answers = AuditCache(cache, options.advisory_db, identity)
        pin_lines = [f"{p.name}=={p.version}" for p in found.pins]
        hit = None if environment else usable(answers.get(pin_lines))
        if hit is not None:
            return self._check_run(hit[0], found.pins, found), hit[1]
        with _advisory_service(options, needed=bool(found.pins) or environment) as service:
            runner = _Runner(tmp, service.query_url, timeout)
            audited: list[tuple[Dependency, list[Vuln]]] = []
            results = []
            for layer in _layers(found.pins):
                results.append(runner.audit_pins(layer))
                audited += self._check_run(results[-1], layer, found)
            if environment:
                result = runner.audit_environment()
                found.errors.extend(_skip_error(n, r, ENVIRONMENT) for n, r in result.skipped)
                audited += [
                    (Dependency(name, ENVIRONMENT, ver), vulns)
                    for (name, ver), vulns in sorted(result.vulns.items())
                ]
            wanted = {i for _, vs in audited for v in vs for i in (v.id, *v.aliases)}
            records = service.records(wanted)
            if not environment and not any(r.skipped for r in results):
                answers.put(pin_lines, answer_json(results, records))
        return audited, records

    def _check_run(
        self, result: Audited, layer: list[Dependency], found: DependencySet
    ) -> list[tuple[Dependency, list[Vuln]]]:
        """Map pip-audit's answer back to the files; what it skipped or dropped is an error."""
        skipped = dict(result.skipped)
        audited = []
        for pin in layer:
            vulns = result.vulns.get((pin.name, pin.version or ""))
            if vulns is not None:
                audited.append((pin, vulns))
                continue
            reason = skipped.get(pin.name)
            if reason is not None:
                found.fail(pin.path, _skip_error(pin.name, reason, pin.path))
            else:
                found.fail(
                    pin.path,
                    ScanError(
                        self.name,
                        "coverage",
                        f"pip-audit did not report on {pin.name}=={pin.version}",
                        path=pin.path,
                        hint="the gate cannot tell whether it is vulnerable",
                    ),
                )
        return audited


def _layers(pins: list[Dependency]) -> list[list[Dependency]]:
    """Groups with at most one version per package: pip-audit refuses two in one run."""
    versions: dict[str, list[str | None]] = {}
    for pin in pins:
        seen = versions.setdefault(pin.name, [])
        if pin.version not in seen:
            seen.append(pin.version)
    depth = max((len(v) for v in versions.values()), default=0)
    return [
        [p for p in pins if len(versions[p.name]) > level and versions[p.name][level] == p.version]
        for level in range(depth)
    ]


def _skip_error(name: str, reason: str, path: str) -> ScanError:
    return ScanError(
        PipAuditScanner.name,
        "dependencies.skipped",
        f"{name} could not be audited: pip-audit skipped it: {reason}",
        path=None if path == ENVIRONMENT else path,
        hint=SKIP_HINT,
    )


@dataclass(frozen=True)
class _Service:
    """Where advisories come from: the OSV query URL pip-audit asks, and, with a local
    database, its index, from which full records are read without an HTTP round trip
    each (a 300-package lock asks for ~1,000 ids and aliases)."""

    query_url: str
    index: Any = None

    def records(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        if self.index is None:
            return _fetch_records(self.query_url, ids)
        found = {}
        for record_id in sorted(ids):
            body = self.index.get(record_id)
            data = json.loads(body) if body else None
            if isinstance(data, dict):
                found[record_id] = data
        return found


@contextmanager
def _advisory_service(options: PipAuditOptions, needed: bool = True) -> Iterator[_Service]:
    """The advisory service for this scan; with `advisory_db`, a mirror serving it meanwhile
    (not started when nothing is to be audited)."""
    if not options.advisory_db or not needed:
        # $COMPLIANCE_OSV_URL points every scan on a machine at an internal mirror.
        yield _Service(options.osv_url or os.environ.get("COMPLIANCE_OSV_URL") or DEFAULT_OSV_URL)
        return
    from compliance.advisories import running_mirror  # only with a local db

    with _opened_index(options) as index, running_mirror(index) as server:
        yield _Service(server.query_url, index)


@contextmanager
def _opened_index(options: PipAuditOptions, key: str | None = None) -> Iterator[AdvisoryIndex]:
    """The index of the scan's `advisory_db`, built first if missing or stale; a database
    that cannot be read stops the scan (a mirror missing records would pass vulnerable
    pins)."""
    from compliance.advisories.index import AdvisoryIndex  # only with a local db

    hint = "fix or replace the file; a database missing records would pass vulnerable pins"
    try:
        index = AdvisoryIndex.open(Path(str(options.advisory_db)), key=key)
    except (AdvisoryDbError, OSError) as exc:
        raise ScannerFailure(
            "scanner.crash", f"the advisory database cannot be used: {exc}", hint=hint
        ) from None
    if index.stats.records == 0:  # an empty folder would answer "nothing is vulnerable"
        index.close()
        raise ScannerFailure(
            "scanner.crash",
            f"the advisory database cannot be used: it holds no records ({options.advisory_db})",
            hint=hint,
        )
    try:
        yield index
    finally:
        index.close()


def choose_engine(options: PipAuditOptions) -> str:
    """`dependencies.engine` as the policy sets it, else `index` when the advisories are
    a local database and `pip-audit` otherwise. The index engine matches pins only: a
    remote OSV service, or the installed environment, needs pip-audit."""
    local = bool(options.advisory_db)
    if options.engine is None:
        return "index" if local and not options.environment else "pip-audit"
    if options.engine == "index" and (not local or options.environment):
        why = "a local advisory database (--advisory-db DIR)" if not local else "no environment"
        raise ScannerFailure(
            "scanner.crash",
            f"dependencies.engine: index needs {why}",
            hint="give --advisory-db DIR, or set dependencies.engine: pip-audit "
            "(remote OSV services and dependencies.environment are audited by pip-audit)",
        )
    return options.engine


class _Runner:
    """Runs pip-audit against one OSV service and reads its JSON report."""

    def __init__(self, tmp: Path, query_url: str, timeout: float):
        self.tmp = tmp
        self.query_url = query_url
        self.timeout = timeout
        self.runs = 0

    def audit_pins(self, pins: list[Dependency]) -> Audited:
        self.runs += 1
        requirements = self.tmp / f"pins-{self.runs}.txt"
        lines = sorted({f"{p.name}=={p.version}" for p in pins})
        requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self._run(["-r", str(requirements), "--no-deps", "--disable-pip"], {})

    def audit_environment(self) -> Audited:
        """The packages installed for the interpreter running the gate (pip_api reads it)."""
        self.runs += 1
        return self._run([], {"PIPAPI_PYTHON_LOCATION": sys.executable})

    def _run(self, source_args: list[str], env: dict[str, str]) -> Audited:
        out = self.tmp / f"report-{self.runs}.json"
        argv = [
            find_tool("pip-audit"),
            *source_args,
            "--vulnerability-service", "osv",
            "--osv-url", self.query_url,
            "--format", "json",
            "--output", str(out),
            "--desc", "on",
            "--aliases", "on",
            "--progress-spinner", "off",
            "--cache-dir", str(self.tmp / "cache"),
            "--timeout", str(SOCKET_TIMEOUT),
        ]  # fmt: skip
        run = run_tool(
            argv,
            tool="pip-audit",
            timeout=self.timeout,
            env={**env, **_no_proxy_for_loopback(self.query_url)},
        )
        report = _read_report(out) if run.returncode in (0, 1) else None
        if report is None:
            raise _failure(run.returncode, run.stderr, self.query_url, out.exists())
        return _parse_report(report)


def _no_proxy_for_loopback(url: str) -> dict[str, str]:
    """A proxy set for the internet must not swallow requests to our own loopback mirror."""
    host = urlsplit(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        return {}
    current = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    value = ",".join(filter(None, [current, "127.0.0.1", "localhost", "::1"]))
    return {"NO_PROXY": value, "no_proxy": value}


def _failure(code: int, stderr: str, url: str, wrote: bool) -> ScannerFailure:
    if any(marker in stderr for marker in _UNREACHABLE):
        return ScannerFailure(
            "scanner.crash",
            f"pip-audit could not reach the advisory service {url}: nothing was audited",
            hint="offline? give the gate advisories: `compliance scan --advisory-db DIR`, or "
            "point `dependencies.osv_url` in the policy at a mirror (`compliance advisories "
            "serve`), or turn dependency auditing off by leaving pip-audit out of the "
            "policy's `scanners` (see docs/dependencies.md)",
        )
    if code in (0, 1) and wrote:
        return ScannerFailure(
            "scanner.output", "pip-audit wrote a report that is not the JSON expected"
        )
    return ScannerFailure(
        "scanner.crash", f"pip-audit exited with code {code}: {stderr_tail(stderr)}"
    )


def _read_report(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _parse_report(report: Any) -> Audited:
    deps = report.get("dependencies") if isinstance(report, dict) else None
    if not isinstance(deps, list):
        raise ScannerFailure("scanner.output", "pip-audit's JSON has no 'dependencies' list")
    vulns: dict[tuple[str, str], list[Vuln]] = {}
    skipped: list[tuple[str, str]] = []
    try:
        for dep in deps:
            name = str(dep["name"])
            if "skip_reason" in dep:
                skipped.append((name, str(dep["skip_reason"])))
                continue
            # "vulns": "" or null must not read as "no vulnerabilities": that would pass
            if not isinstance(dep["vulns"], list) or not all(
                isinstance(v, dict) for v in dep["vulns"]
            ):
                raise TypeError(f"vulns of {name} is not a list of objects")
            vulns[(name, str(dep["version"]))] = [
                Vuln(
                    id=str(v["id"]),
                    fix_versions=tuple(str(x) for x in v.get("fix_versions") or ()),
                    aliases=tuple(str(x) for x in v.get("aliases") or ()),
                    description=str(v.get("description") or ""),
                )
                for v in dep["vulns"]
            ]
    except (KeyError, TypeError) as exc:
        raise ScannerFailure(
            "scanner.output", f"pip-audit's JSON lacks a field ({exc}); unsupported version?"
        ) from None
    return Audited(vulns, skipped)


def _fetch_records(query_url: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    """Full OSV records by id from the service's `GET /v1/vulns/ID`, for their severity.

    Aliases are asked too (a CVE id is usually not a record: a 404, skipped). Best effort
    by design: a record that cannot be fetched leaves the finding at the
    policy's `unknown_severity` (high by default), which errs on the blocking side.
    """
    if not ids or not query_url.endswith("/v1/query"):
        return {}
    import urllib.error  # only against a remote service: ~0.04 s every scan need not pay
    import urllib.request

    base = query_url[: -len("/query")] + "/vulns/"
    loopback = bool(_no_proxy_for_loopback(query_url))
    opener = (
        urllib.request.build_opener(urllib.request.ProxyHandler({}))
        if loopback
        else urllib.request.build_opener()
    )

    def fetch(record_id: str) -> tuple[str, dict[str, Any] | None]:
        try:
            with opener.open(base + quote(record_id), timeout=SOCKET_TIMEOUT) as response:
                data = json.loads(response.read())
        except (OSError, ValueError, urllib.error.URLError):
            return record_id, None
        return record_id, data if isinstance(data, dict) else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return {k: v for k, v in pool.map(fetch, sorted(ids)) if v is not None}
