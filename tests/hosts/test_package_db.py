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
    manager, packages = _installed(ours)
    assert (manager, packages) == _installed("dpkg\n" + query)
    assert manager == "dpkg"
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
    assert _installed(ours) == _installed("dpkg\n" + query.stdout)


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
