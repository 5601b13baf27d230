"""The framing protocol's two ends agree: markers printed by the real /bin/sh from the
producer's shell lines are read back by the parser, and nothing else counts as a marker."""

from __future__ import annotations

import subprocess

from compliance.hosts import framing


def run(script: str) -> bytes:
    done = subprocess.run(["/bin/sh", "-s"], input=script.encode(), capture_output=True, timeout=60)
    return done.stdout


def test_what_the_producer_prints_the_parser_reads() -> None:
    nonce = framing.new_nonce()
    script = (
        framing.prelude(nonce)
        + framing.begin(0)
        + "printf 'no newline'; sh -c 'exit 3'\n"
        + framing.end(0, "$?")
        + framing.watchdog_group(
            nonce, 5, [(1, "( echo one ) 2>&1\n"), (2, "( echo two >&2; exit 4 ) 2>&1\n")], 4096
        )
        + framing.begin(3)
        + framing.lone_watchdog("echo alone", 5, 100)
        + framing.end(3, "$_rc")
        + framing.finished()
    )
    frames = framing.read_frames(run(script), nonce)
    assert frames.header is not None and frames.header.uid >= 0
    assert {i: framing.unframed(b) for i, b in frames.bodies.items()} == {
        0: "no newline",
        1: "one\n",
        2: "two\n",
        3: "alone\n",
    }
    assert frames.statuses == {0: "3", 1: "0", 2: "4", 3: "0"}
    assert frames.group_statuses == {1: "0"}  # numbered by its first member


def test_markers_without_the_nonce_or_out_of_turn_are_output() -> None:
    nonce = "n0nce"
    output = (
        f"{nonce} S 0 1\n{nonce} B 0\nother E 0 0\n{nonce} E 7 0\n{nonce} E 0 x\n"
        f"{nonce} E 0 2\n{nonce} Z\n"
    ).encode()
    frames = framing.read_frames(output, nonce)
    assert frames.bodies == {0: f"other E 0 0\n{nonce} E 7 0\n{nonce} E 0 x\n"}
    assert frames.statuses == {0: "2"}


def test_a_group_status_says_why_its_members_have_no_result() -> None:
    assert "overran their shared 5 s" in framing.group_problem("124", 5.0, 3)
    assert "cut off at the group's limit" in framing.group_problem(None, 5.0, 3)
    assert "exit status 2" in framing.group_problem("2", 5.0, 3)
