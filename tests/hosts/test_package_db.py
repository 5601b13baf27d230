"""The package inventory reads dpkg's status file (grep on the host, parsed here); it must
say what dpkg-query says.

Runs the real `sh`, `grep` and `dpkg-query --admindir` on a small dpkg database with every
state a fleet host can show (held, half-installed, config files only, triggers pending,
reinstall required), so a mismatch in our reading of the status file or in the journal
fallback shows up here, not as a wrong verdict on a server.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from compliance.hosts.batch import SectionResult
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.checks.package import (
    Package,
    PackageParams,
    _installed,
    _Package,
    inventory_script,
)


def paragraph(name: str, status: str, version: str = "", extra: str = "") -> str:
    fields = f"Package: {name}\nStatus: {status}\nMaintainer: lab\nArchitecture: all\n"
    fields += f"Version: {version}\n" if version else ""
    return fields + extra + "Description: lab package\n with a continuation line\n\n"


STATUS = "".join(
    [
        paragraph("okpkg", "install ok installed", "1:2.0-1", "Priority: optional\n"),
        paragraph("heldpkg", "hold ok installed", "1.0-1"),
        paragraph("gonepkg", "deinstall ok config-files", "0.9-1"),
        paragraph("brokenpkg", "install reinstreq half-installed", "3.0-1"),
        paragraph("trigpkg", "install ok triggers-pending", "4.0-1", "Triggers-Pending: lab\n"),
        paragraph("purged", "purge ok not-installed"),
        paragraph("unpacked", "install ok unpacked", "5.0-1"),
    ]
)

needs_dpkg = pytest.mark.skipif(
    shutil.which("dpkg-query") is None, reason="dpkg-query is not installed here"
)


def admindir(tmp_path: Path) -> Path:
    root = tmp_path / "dpkg"
    (root / "updates").mkdir(parents=True)
    (root / "info").mkdir()
    (root / "status").write_text(STATUS)
    (root / "available").write_text("")
    return root


def listing(output: str, names: list[str]) -> dict[str, _Package]:
    """What the checks see of `names` in a package list: name → version and state."""
    manager, packages = _installed(output)
    assert manager == "dpkg"
    return {n: p for n in names if (p := packages.get(n)) is not None}


def run(script: str) -> str:
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    return done.stdout


@needs_dpkg
def test_status_file_reading_matches_dpkg_query(tmp_path: Path) -> None:
    root = admindir(tmp_path)
    ours = run(inventory_script(str(root)))
    fmt = "-f=${Package}|${db:Status-Abbrev}|${Version}\n"
    query = subprocess.run(
        ["dpkg-query", f"--admindir={root}", "-W", fmt],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ours.splitlines()[0] == "dpkg-status"
    names = ["okpkg", "heldpkg", "gonepkg", "brokenpkg", "trigpkg", "purged", "unpacked", "x"]
    assert listing(ours, names) == listing("dpkg\n" + query, names)
    packages = listing(ours, names)
    assert sorted(packages) == ["brokenpkg", "heldpkg", "okpkg", "trigpkg", "unpacked"]
    assert (packages["heldpkg"].version, packages["heldpkg"].state) == ("1.0-1", "i")
    assert packages["brokenpkg"].state == "H"


@needs_dpkg
def test_this_machines_package_database_reads_as_dpkg_query_reads_it() -> None:
    """The real status file, with all its fields, continuation lines and states."""
    fmt = "-f=${Package}|${db:Status-Abbrev}|${Version}\n"
    query = subprocess.run(["dpkg-query", "-W", fmt], capture_output=True, text=True)
    if query.returncode != 0:
        pytest.skip("no readable dpkg database here")
    ours = run(inventory_script())
    if ours.splitlines()[0] != "dpkg-status":
        pytest.skip("dpkg's journal holds records: the inventory asks dpkg-query itself")
    names = [line.split("|", 1)[0] for line in query.stdout.splitlines()] + ["no-such-pkg"]
    theirs = listing("dpkg\n" + query.stdout, names)
    assert listing(ours, names) == theirs and len(theirs) > 10
    assert _installed(ours)[1] and _installed(ours)[0] == "dpkg"


@needs_dpkg
def test_a_journal_left_by_an_interrupted_dpkg_is_read_through_dpkg_query(tmp_path: Path) -> None:
    root = admindir(tmp_path)
    # dpkg merges updates/NNNN records over status on its next run; awk alone would miss it
    (root / "updates" / "0001").write_text(paragraph("okpkg", "install ok installed", "1:2.1-1"))
    lines = run(inventory_script(str(root))).splitlines()
    assert lines[0] == "dpkg"
    assert "okpkg|ii |1:2.1-1" in lines


def verdict(output: str, **params: object) -> CheckStatus:
    kind = Package()
    return kind.evaluate(PackageParams.model_validate(params), SectionResult(output, 0)).status


@needs_dpkg
def test_states_decide_installed_and_absent(tmp_path: Path) -> None:
    output = run(inventory_script(str(admindir(tmp_path))))
    # held or with triggers pending: installed, so an absence check must fail
    assert verdict(output, name="heldpkg", state="absent") is CheckStatus.FAIL
    assert verdict(output, name="heldpkg") is CheckStatus.PASS
    assert verdict(output, name="trigpkg", min_version="4.0") is CheckStatus.PASS
    # files on disk but not working: not absent, and not installed either
    assert verdict(output, name="brokenpkg", state="absent") is CheckStatus.FAIL
    assert verdict(output, name="brokenpkg") is CheckStatus.FAIL
    assert verdict(output, name="unpacked", state="absent") is CheckStatus.FAIL
    # config files only or purged: absent
    assert verdict(output, name="gonepkg", state="absent") is CheckStatus.PASS
    assert verdict(output, name="gonepkg") is CheckStatus.FAIL
    assert verdict(output, name="purged", state="absent") is CheckStatus.PASS
    assert verdict(output, name="okpkg", min_version="1:2.0-1") is CheckStatus.PASS
    assert verdict(output, name="okpkg", min_version="1:2.0-2") is CheckStatus.FAIL


def test_multiarch_records_and_odd_records() -> None:
    """Two architectures of one package: the last record with files counts, as in
    dpkg-query's listing; a second Package line before any Status leaves the first `?`."""
    output = (
        "dpkg-status\n"
        "Package: libx\nStatus: install ok installed\nVersion: 1\n\n"
        "Package: libx\nStatus: deinstall ok config-files\nVersion: 0.9\n\n"
        "Package: liby\nStatus: deinstall ok config-files\nVersion: 0.9\n\n"
        "Package: liby\nStatus: install ok installed\nVersion: 2\n\n"
        "Package: odd\nPackage: other\nStatus: install ok installed\nVersion: 3\n"
    )
    versions = {n: p.version for n, p in listing(output, ["libx", "liby"]).items()}
    assert versions == {"libx": "1", "liby": "2"}
    assert verdict(output, name="odd") is CheckStatus.FAIL
    assert verdict(output, name="odd", state="absent") is CheckStatus.FAIL
    assert verdict(output, name="other", min_version="3") is CheckStatus.PASS
    assert verdict(output, name="lib", state="absent") is CheckStatus.PASS  # a prefix only


def test_a_status_record_without_status_is_neither_installed_nor_absent() -> None:
    output = "dpkg-status\nPackage: odd\nVersion: 1\n\nPackage: fine\nStatus: install ok installed"
    assert verdict(output, name="odd") is CheckStatus.FAIL
    assert verdict(output, name="odd", state="absent") is CheckStatus.FAIL
    assert verdict(output, name="fine", state="absent") is CheckStatus.FAIL
    assert verdict(output, name="fine") is CheckStatus.PASS


def test_an_empty_or_unreadable_package_list_is_an_error_not_absent() -> None:
    """A query that listed nothing (an empty status file, a format awk did not recognise)
    says nothing about the host: `absent` must not pass on it."""
    for output in (
        "dpkg\n",
        "dpkg\nnot a package line\n",
        "rpm\n",
        "dpkg-status\n",
        "dpkg-status\nPackage: telnetd\nStatus: purge ok not-installed\n\n",
        "dpkg-status\nnot a status line\n",
    ):
        assert verdict(output, name="telnetd", state="absent") is CheckStatus.ERROR
        assert verdict(output, name="telnetd") is CheckStatus.ERROR
