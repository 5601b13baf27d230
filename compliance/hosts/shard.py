"""`--shard I/N`: a stable slice of the inventory, so N parallel CI jobs split one fleet.

A host belongs to slice `sha256(name) mod N`: every job computes the same split without
talking to the others, on any machine and any Python (the built-in `hash()` is salted per
process, so it would hand a host to two jobs, or to none). Adding a host to the inventory
never moves the others; changing N reshuffles everything, which is fine because each
group report reads one N.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from compliance.hosts.inventory import Host
from compliance.policy.yaml_source import ConfigError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 1000


@dataclass(frozen=True)
class Shard:
    index: int
    """1-based, like GitLab's CI_NODE_INDEX."""
    count: int

    @classmethod
    def parse(cls, spec: str) -> Shard:
        match = _SPEC.match(spec)
        if match is None:
            raise ConfigError(
                [
                    f"--shard {spec!r}: write INDEX/COUNT with INDEX from 1, e.g. 2/4; in GitLab "
                    "use --shard $CI_NODE_INDEX/$CI_NODE_TOTAL with `parallel: N`"
                ]
            )
        index, count = int(match[1]), int(match[2])
        if not 1 <= count <= MAX_SHARDS or not 1 <= index <= count:
            raise ConfigError(
                [f"--shard {spec!r}: INDEX must be 1..COUNT and COUNT 1..{MAX_SHARDS}"]
            )
        return cls(index, count)

    def owns(self, host_name: str) -> bool:
        return slot(host_name, self.count) == self.index

    def select(self, hosts: Sequence[Host]) -> tuple[Host, ...]:
        return tuple(h for h in hosts if self.owns(h.name))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def slot(host_name: str, count: int) -> int:
    """The 1-based slice `host_name` falls in when the fleet is cut into `count` slices."""
    digest = hashlib.sha256(host_name.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1
