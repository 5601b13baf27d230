"""Does an OSV record affect this PyPI version? The OSV rules, with PEP 440 versions.

Strings are never compared as versions: `3.2` equals `3.2.0` and `1.10` is after `1.9`.
Range events are sorted by version before they are walked (the PyPA database holds many
ranges whose introduced/fixed pairs are not in order). Only ECOSYSTEM (and SEMVER, read as
PEP 440) ranges apply to PyPI versions; GIT ranges name commits and are ignored.

A version string that PEP 440 cannot read is handled on the side of reporting too much:
an unreadable `fixed`, `last_affected` or `limit` bound is dropped (the range stays open)
and an unreadable `introduced` counts as "since the beginning". A queried version PEP 440
cannot read is matched against explicit `versions` lists only, as exact text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

PYPI = "PyPI"
VERSIONED_RANGES = ("ECOSYSTEM", "SEMVER")
_EVENT_ORDER = {"introduced": 0, "fixed": 1, "last_affected": 2}


def parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        return None


@dataclass(frozen=True)
class Event:
    kind: str  # introduced | fixed | last_affected
    version: Version | None  # None: the lowest possible version ("0")


@dataclass(frozen=True)
class Range:
    """One range's events, already sorted, and its limits (empty: no limit)."""

    events: tuple[Event, ...]
    limits: tuple[Version, ...] = ()
    unbounded_limit: bool = False

    def contains(self, version: Version) -> bool:
        if self.limits and not self.unbounded_limit and not any(version < v for v in self.limits):
            return False
        affected = False
        for event in self.events:
            if event.kind == "introduced":
                if event.version is None or version >= event.version:
                    affected = True
            elif event.kind == "fixed":
                assert event.version is not None
                if version >= event.version:
                    affected = False
            elif event.version is not None and version > event.version:  # last_affected
                affected = False
        return affected


@dataclass(frozen=True)
class AffectedPackage:
    """One `affected[]` entry of a record, compiled for fast repeated matching."""

    record_id: str
    name: str  # canonical (PEP 503)
    ranges: tuple[Range, ...]
    listed: frozenset[str]
    """The explicit `versions`, as listed_keys() spells them."""

    def affects(self, version: str) -> bool:
        parsed = parse_version(version)
        if parsed is None:
            return version.strip() in self.listed
        return version_key(parsed) in self.listed or any(r.contains(parsed) for r in self.ranges)


def version_key(version: Version) -> str:
    """One spelling for every text PEP 440 reads as equal (`1.2`, `1.2.0`, `01.2` → `1.2`)."""
    return canonicalize_version(version, strip_trailing_zero=True)


def listed_keys(texts: Iterable[Any]) -> list[str]:
    """A `versions` list as matched: readable versions as version_key(), the rest as their
    exact text (a key is always readable, so the two never collide). The index stores this
    (a record may list thousands of versions: parsed once when the index is built, not at
    every scan)."""
    keys = set()
    for text in texts:
        stripped = str(text).strip()
        parsed = parse_version(stripped)
        keys.add(stripped if parsed is None else version_key(parsed))
    return sorted(keys)


def compile_range(raw: Mapping[str, Any]) -> Range | None:
    """A versioned range compiled; None for ranges that do not apply to PyPI versions (GIT)."""
    if not isinstance(raw, Mapping) or raw.get("type") not in VERSIONED_RANGES:
        return None
    events: list[Event] = []
    limits: list[Version] = []
    unbounded = False
    for item in raw.get("events") or ():  # a malformed event is skipped, never fatal
        if not isinstance(item, Mapping):
            continue
        for kind, text in item.items():
            text = str(text)
            if kind == "introduced":
                events.append(Event(kind, None if text == "0" else parse_version(text)))
            elif kind in ("fixed", "last_affected"):
                parsed = parse_version(text)
                if parsed is not None:
                    events.append(Event(kind, parsed))
            elif kind == "limit":
                parsed = parse_version(text)
                if text == "*" or parsed is None:
                    unbounded = True
                else:
                    limits.append(parsed)
    events.sort(key=_event_key)
    return Range(tuple(events), tuple(limits), unbounded)


def _event_key(event: Event) -> tuple[int, Version | int, int]:
    if event.version is None:
        return (0, 0, _EVENT_ORDER[event.kind])
    return (1, event.version, _EVENT_ORDER[event.kind])


def compile_affected(
    record: Mapping[str, Any], listed: Mapping[str, Sequence[str]] | None = None
) -> list[AffectedPackage]:
    """The PyPI packages a record names, compiled. Withdrawn records affect nothing.
    `listed`: the listed_keys() of each name's versions, as the index stored them (computed
    here when not given)."""
    if record.get("withdrawn"):
        return []
    record_id = str(record.get("id", ""))
    result = []
    for entry in _pypi_entries(record):
        name = canonicalize_name(str(entry["package"]["name"]))
        keys = listed.get(name) if listed is not None else None
        if keys is None:
            keys = listed_keys(entry.get("versions") or ())
        result.append(compiled_entry(record_id, name, entry.get("ranges") or (), keys))
    return result


def compiled_entry(
    record_id: str, name: str, ranges: Iterable[Any], listed: Iterable[str]
) -> AffectedPackage:
    """One entry from its raw `ranges` and its listed_keys()."""
    compiled = (compile_range(raw) for raw in ranges)
    return AffectedPackage(
        record_id, name, tuple(r for r in compiled if r is not None), frozenset(listed)
    )


def ranges_by_name(record: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Every PyPI name's entries' `ranges` (one list per entry): with listed_by_name(),
    all that matching reads of a record, so the index can match without the full body."""
    found: dict[str, list[Any]] = {}
    for entry in _pypi_entries(record):
        name = canonicalize_name(str(entry["package"]["name"]))
        found.setdefault(name, []).append(list(entry.get("ranges") or ()))
    return found


def listed_by_name(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """listed_keys() of every PyPI name's `versions`, all entries naming it together."""
    texts: dict[str, list[Any]] = {}
    for entry in _pypi_entries(record):
        name = canonicalize_name(str(entry["package"]["name"]))
        texts.setdefault(name, []).extend(entry.get("versions") or ())
    return {name: listed_keys(found) for name, found in texts.items()}


def affects_checker(record: Mapping[str, Any], name: str) -> Callable[[str], bool]:
    """Whether the record affects a version of `name`, for checking a handful of versions
    (a fix candidate): the ranges are compiled, but the explicit `versions` list (thousands
    of entries in some records) is matched as text, the version as given and in normal
    form, instead of parsing every entry as compile_affected does."""
    if record.get("withdrawn"):
        return lambda _version: False
    wanted = canonicalize_name(name)
    ranges: list[Range] = []
    texts: set[str] = set()
    for entry in _pypi_entries(record):
        if canonicalize_name(str(entry["package"]["name"])) != wanted:
            continue
        ranges += [r for r in (compile_range(raw) for raw in entry.get("ranges") or ()) if r]
        texts.update(str(v).strip() for v in entry.get("versions") or ())

    def affects(version: str) -> bool:
        parsed = parse_version(version)
        if version.strip() in texts or (parsed is not None and str(parsed) in texts):
            return True
        return parsed is not None and any(r.contains(parsed) for r in ranges)

    return affects


def matching_ids(entries: Iterable[AffectedPackage], version: str) -> list[str]:
    """Ids of the records among `entries` that affect `version`, each once, in order."""
    seen: dict[str, None] = {}
    for entry in entries:
        if entry.record_id not in seen and entry.affects(version):
            seen[entry.record_id] = None
    return list(seen)


def fixed_versions(record: Mapping[str, Any], name: str) -> list[str]:
    """Every `fixed` version the record gives for `name` (PyPI), sorted as PEP 440 versions."""
    wanted = canonicalize_name(name)
    found: set[str] = set()
    for entry in _pypi_entries(record):
        if canonicalize_name(str(entry["package"]["name"])) != wanted:
            continue
        for raw in entry.get("ranges") or ():
            if raw.get("type") in VERSIONED_RANGES:
                found.update(str(e["fixed"]) for e in raw.get("events") or () if "fixed" in e)
    return sorted(found, key=_sort_key)


def _sort_key(text: str) -> tuple[int, Version | str]:
    parsed = parse_version(text)
    return (0, parsed) if parsed is not None else (1, text)


def canonical_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as the mirror serves it: PyPI names in PEP 503 form, range bounds PEP 440.

    pip-audit compares `affected[].package.name` literally with the canonical name it
    asked about (a record spelling it `Jw.Util` would lose its fix versions there), and
    crashes on a `fixed` version PEP 440 cannot read (`0.2.0-n653` in the PyPA database),
    failing the whole audit. Such bounds are served as this module matches them (dropped;
    an unreadable `introduced` as "0") and listed under `database_specific`.
    """
    copy = dict(record)
    affected: list[Any] = []
    dropped: list[dict[str, str]] = []
    for entry in record.get("affected") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("package"), Mapping):
            package = dict(entry["package"])
            if package.get("ecosystem") == PYPI and package.get("name"):
                package["name"] = canonicalize_name(str(package["name"]))
                ranges = [_readable_range(r, dropped) for r in entry.get("ranges") or ()]
                entry = {**entry, "ranges": ranges} if "ranges" in entry else dict(entry)
            entry = {**entry, "package": package}
        affected.append(entry)
    if "affected" in record:
        copy["affected"] = affected
    if dropped:
        extra = dict(copy.get("database_specific") or {})
        extra["unreadable_versions_rewritten"] = dropped
        copy["database_specific"] = extra
    return copy


def _readable_range(raw: Any, dropped: list[dict[str, str]]) -> Any:
    if not isinstance(raw, Mapping) or raw.get("type") not in VERSIONED_RANGES:
        return raw
    events = []
    for event in raw.get("events") or ():
        kept = {}
        for kind, text in event.items():
            readable = str(text) in ("0", "*") or parse_version(str(text)) is not None
            if readable:
                kept[kind] = text
            elif kind == "introduced":
                kept[kind] = "0"
                dropped.append({kind: str(text)})
            else:
                dropped.append({kind: str(text)})
        if kept:
            events.append(kept)
    return {**raw, "events": events}


def names_of(record: Mapping[str, Any]) -> Sequence[str]:
    """Canonical PyPI names a record mentions (withdrawn or not)."""
    return sorted({canonicalize_name(str(e["package"]["name"])) for e in _pypi_entries(record)})


def _pypi_entries(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The well-formed `affected[]` entries naming a PyPI package."""
    entries = []
    for entry in record.get("affected") or ():
        if not isinstance(entry, Mapping):
            continue
        package = entry.get("package")
        if (
            isinstance(package, Mapping)
            and package.get("ecosystem") == PYPI
            and package.get("name")
        ):
            entries.append(entry)
    return entries
