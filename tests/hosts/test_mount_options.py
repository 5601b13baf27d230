"""`mount_options` reads /proc/mounts: the last mount on a path wins, escapes are undone."""

from __future__ import annotations

from compliance.hosts.batch import SectionResult
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.checks.mount_options import MountOptions, MountOptionsParams

MOUNTS = (
    "/dev/sda1 / ext4 rw,relatime 0 0\n"
    "tmpfs /tmp tmpfs rw,nosuid,nodev,noexec 0 0\n"
    "tmpfs /tmp tmpfs rw,nosuid 0 0\n"  # mounted over the first: this one is visible
    "tmpfs /srv/with\\040space tmpfs rw,noexec 0 0\n"
)


def judge(mount: str, **params: object) -> CheckStatus:
    checked = MountOptionsParams.model_validate({"mount": mount, **params})
    return MountOptions().evaluate(checked, SectionResult(MOUNTS, 0)).status


def test_the_visible_mount_counts_and_escaped_paths_match() -> None:
    assert judge("/tmp", options=["nosuid"]) is CheckStatus.PASS
    assert judge("/tmp", options=["noexec"]) is CheckStatus.FAIL
    assert judge("/srv/with space", options=["noexec"]) is CheckStatus.PASS
    assert judge("/var", options=["noexec"]) is CheckStatus.FAIL  # missing: fail by default
    assert judge("/var", options=["noexec"], missing="not-applicable") is (
        CheckStatus.NOT_APPLICABLE
    )
    assert judge("/", absent_options=["ro"]) is CheckStatus.PASS
