"""Manifests → what pip-audit is asked, and everything it cannot be asked.

Every manifest in the tree is read by its parser (compliance/manifests). What comes out:

- exact pins (lock entries, `==X` lines) to audit, direct or with the direct dependencies
  that pull them in;
- unpinned requirements (`dependencies.unpinned`): covered when a lock or compiled file
  beside the manifest pins them, resolved when the policy names an index
  (`dependencies.index_url`), otherwise an error naming file:line;
- URL, VCS, path and editable requirements (`dependencies.skipped`): no version to match;
- supply-chain lines as findings; files that cannot be read as `scanner.parse` errors;
- one coverage line per manifest, and the inventory for the SBOM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.findings import Finding, Location, Severity, bound_text, fingerprint, normalise_code
from compliance.manifests.interface import Dependency, Manifest, SupplyChainLine
from compliance.manifests.registry import parse_manifest
from compliance.scanners.interface import Component, ManifestCoverage, ScanError
from compliance.scanners.resolve import ResolveError, resolve

SCANNER = "pip-audit"
SKIP_HINT = "to accept unaudited dependencies: `errors: {dependencies.skipped: warn}` in the policy"
UNPINNED_HINT = (
    "pin it with ==, commit a lock file (uv.lock, poetry.lock, pylock.toml …), set "
    "dependencies.index_url in the policy to resolve it, or accept it: "
    "`errors: {dependencies.unpinned: warn}`"
)
SUPPLY_CHAIN = {
    "extra-index-url": (Severity.HIGH, "A second package index (dependency confusion)"),
    "index-url": (Severity.MEDIUM, "Packages come from a non-default index"),
    "trusted-host": (Severity.HIGH, "TLS verification turned off for a package host"),
    "plain-http": (Severity.HIGH, "Packages fetched over plain HTTP"),
    "unpinned-vcs": (Severity.MEDIUM, "VCS requirement not pinned to a commit"),
    "unhashed-url": (Severity.MEDIUM, "URL requirement without a hash"),
    "editable": (Severity.LOW, "Editable install in a production manifest"),
}
"""Supply-chain rule → (severity, title). A new rule is one line here and its parser check."""
SOURCE_WORDS = {
    "url": "a URL requirement",
    "vcs": "a VCS requirement",
    "path": "a local path",
    "editable": "an editable install",
}


@dataclass
class DependencySet:
    pins: list[Dependency] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    components: dict[tuple[str, str | None, str], Component] = field(default_factory=dict)
    coverage: dict[str, ManifestCoverage] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)

    def fail(self, path: str, error: ScanError) -> None:
        self.errors.append(error)
        self.failed.add(path)


def collect(
    root: Path,
    files: Sequence[str],
    settings: Mapping[str, Any],
    tmp: Path,
    timeout: float,
    env: dict[str, str],
) -> DependencySet:
    manifests = {path: parse_manifest(root, path) for path in files}
    out = DependencySet()
    index_url = settings.get("index_url")
    for path, manifest in manifests.items():
        for problem in manifest.problems:
            out.fail(path, ScanError(SCANNER, "scanner.parse", problem))
        out.findings += [supply_chain_finding(line) for line in manifest.supply_chain]
        cover = manifests.get(manifest.input_for or "")
        covered = {d.name for d in cover.dependencies} if cover is not None else set()
        unpinned = [
            d
            for d in manifest.dependencies
            if d.version is None and not d.source and d.name not in covered
        ]
        resolved: list[Dependency] = []
        if index_url and not manifest.locked and cover is None:
            wanted = [d for d in manifest.dependencies if not d.source]
            try:
                if wanted:
                    resolved = list(
                        resolve(wanted, path, str(index_url), tmp, timeout, env).dependencies
                    )
                unpinned = []
            except ResolveError as exc:
                for dep in unpinned:
                    out.fail(path, _unpinned(dep, f"; resolving failed: {exc}"))
                unpinned = []
        for dep in unpinned:
            out.fail(path, _unpinned(dep))
        for dep in manifest.dependencies:
            if dep.source:
                out.fail(path, _skipped(dep))
            elif dep.version is not None:
                out.pins.append(dep)
        known = {(d.name, d.version) for d in out.pins if d.path == path}
        out.pins += [d for d in resolved if (d.name, d.version) not in known]
        for dep in [*manifest.dependencies, *resolved]:
            key = (dep.name, dep.version, dep.path)
            if key not in out.components or dep.version is not None:
                out.components[key] = Component(
                    dep.name, dep.version, dep.path, dep.direct, dep.via
                )
        out.coverage[path] = _coverage(manifest, resolved, manifest.input_for if cover else None)
    out.pins = list(dict.fromkeys(out.pins))
    return out


def _coverage(
    manifest: Manifest, resolved: list[Dependency], pinned_by: str | None
) -> ManifestCoverage:
    count = len({d.name for d in [*manifest.dependencies, *resolved]})
    if pinned_by:
        state = f"pinned by {pinned_by}"
    elif resolved:
        state = f"resolved through dependencies.index_url ({len(resolved)} packages)"
    elif manifest.locked:
        state = "locked"
    else:
        state = "read"
    return ManifestCoverage(manifest.path, manifest.kind, count, state)


def _unpinned(dep: Dependency, more: str = "") -> ScanError:
    written = dep.spec.strip() or "no version given"
    return ScanError(
        SCANNER,
        "dependencies.unpinned",
        f"{dep.where()}: {dep.name} could not be audited: not pinned to one version "
        f"({written}){more}",
        hint=UNPINNED_HINT,
    )


def _skipped(dep: Dependency) -> ScanError:
    what = SOURCE_WORDS.get(dep.source, dep.source)
    return ScanError(
        SCANNER,
        "dependencies.skipped",
        f"{dep.where()}: {dep.name} could not be audited: {what} has no version to look up",
        hint=SKIP_HINT,
    )


def supply_chain_finding(line: SupplyChainLine) -> Finding:
    severity, title = SUPPLY_CHAIN[line.rule]
    text = bound_text(line.text.strip(), 300)
    return Finding(
        scanner=SCANNER,
        rule_id=f"supply-chain.{line.rule}",
        severity=severity,
        title=title,
        message=bound_text(f"{line.detail} ({line.path}:{line.line or '?'})", 1500),
        location=Location(path=line.path, start_line=line.line, end_line=line.line),
        fingerprint=fingerprint(
            SCANNER, f"supply-chain.{line.rule}", line.path, normalise_code(text)
        ),
        evidence=text,
        remediation=line.detail,
    )
