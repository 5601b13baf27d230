"""The collection script run by a real local /bin/sh (no SSH): what it reads comes back whole.

The same Batch rendering and parsing as a remote host, with the script piped to `sh -s`
here; the real-host tests repeat this over SSH.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from compliance.hosts.batch import Batch, new_nonce
from compliance.hosts.checks.interface import CheckStatus
from compliance.hosts.wazuh.loader import load_wazuh_policy


def run_locally(batch: Batch) -> dict[str, object]:
    nonce = new_nonce()
    done = subprocess.run(
        ["/bin/sh", "-s"], input=batch.render(nonce).encode(), capture_output=True, timeout=120
    )
    header, results = batch.parse(done.stdout, nonce)
    assert header is not None
    return dict(results)


def test_files_dirs_commands_and_timeouts_through_a_real_shell(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "conf.d" / "deep").mkdir(parents=True)
    (root / "a.conf").write_text("Key 5\nWZ" + "0" * 20 + " E f0 N\nName ok\n")  # a guessed marker
    (root / "conf.d" / "deep" / "x.conf").write_text("Storage=persistent\n")
    (root / "conf.d" / "link.conf").symlink_to(root / "a.conf")
    (root / "conf.d" / "readme.txt").write_text("a file at the top level\n")
    os.mkfifo(root / "fifo")
    policy = tmp_path / "p.yml"
    policy.write_text(
        f"""policy: {{id: local, name: local}}
checks:
  - {{id: 1, name: number, condition: all,
      rules: ['f:{root}/a.conf -> n:^Key (\\d+) compare == 5']}}
  - {{id: 2, name: marker in a file, condition: all, rules: ['f:{root}/a.conf -> r:^Name ok']}}
  - {{id: 3, name: nested, condition: all,
      rules: ['d:{root}/conf.d -> r:\\.conf$ -> r:^Storage=persistent']}}
  - {{id: 4, name: symlinked file, condition: all,
      rules: ['d:{root}/conf.d -> link.conf -> r:^Key']}}
  - {{id: 5, name: fifo, condition: all, rules: ['f:{root}/fifo']}}
  - {{id: 6, name: quoted args, condition: all,
      rules: ['c:printf "%s|%s\\\\n" "a b" c -> r:^a b\\|c$']}}
  - {{id: 7, name: no shell, condition: all, rules: ['c:echo $HOME * -> r:^\\$HOME \\*$']}}
  - {{id: 8, name: slow, condition: all, rules: ['c:sleep 5 -> r:x']}}
  - {{id: 9, name: missing command, condition: all, rules: ['c:no-such-cmd-wz -> r:x']}}
  - {{id: 10, name: process, condition: all, rules: ['p:r:sh']}}
"""
    )
    loaded = load_wazuh_policy(policy, command_timeout=1)
    batch = Batch()
    key = batch.add(loaded.program.plan.section)
    assert len(batch) == 1  # all ten checks share one section
    result = run_locally(batch)[key]
    verdicts = [loaded.program.verdict(i, result) for i in range(10)]  # type: ignore[arg-type]
    statuses = [v.status for v in verdicts]
    assert statuses == [
        CheckStatus.PASS,
        CheckStatus.PASS,  # a marker-looking line in a file does not end its piece
        CheckStatus.PASS,
        CheckStatus.FAIL,  # the agent skips symbolic links inside a directory
        CheckStatus.NOT_APPLICABLE,
        CheckStatus.PASS,
        CheckStatus.PASS,  # no $ or glob expansion: arguments reach echo as written
        CheckStatus.ERROR,
        CheckStatus.NOT_APPLICABLE,
        CheckStatus.PASS,
    ], [(v.status, v.observed, v.reason) for v in verdicts]
    assert "not run" in verdicts[7].reason
    assert f"{root}/conf.d/deep/x.conf: Storage=persistent" in verdicts[2].observed
