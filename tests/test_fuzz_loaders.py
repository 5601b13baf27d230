"""Property tests: whatever bytes a policy or waiver file holds, loading ends in a clean
ConfigError naming the file (→ exit 2) or a valid model — never another exception."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.policy import ConfigError, load_policy, load_waivers
from compliance.policy.model import Policy

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["high", "critical", "warn", "error", "bandit", "2027-01-31", "**", "!"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
policy_keys = st.sampled_from([*Policy.model_fields, "gate.fail_on", "bogus"])
policies = st.dictionaries(policy_keys, values, max_size=6)


def check_policy_text(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        loaded = load_policy(path, known_scanners=("bandit",))
    except ConfigError as exc:
        assert exc.problems and all(str(path) in p for p in exc.problems)
    else:
        assert isinstance(loaded.policy, Policy)


@SETTINGS
@given(policies)
def test_random_policy_structures(tmp_path: Path, data: dict) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    check_policy_text(tmp_path / "policy.yml", text.encode())


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_as_policy(tmp_path: Path, data: bytes) -> None:
    check_policy_text(tmp_path / "policy.yml", data)


@SETTINGS
@given(st.text(max_size=300))
def test_random_text_as_policy(tmp_path: Path, data: str) -> None:
    check_policy_text(tmp_path / "policy.yml", data.encode("utf-8", "surrogatepass"))


MUTATIONS = st.sampled_from(
    [
        lambda t: t.replace(":", "", 1),
        lambda t: t.replace("  ", "\t", 1),
        lambda t: t + "\n  - [",
        lambda t: t.replace("high", "10" * 500),
        lambda t: t.replace("\n", "\n\x00", 1),
        lambda t: t[: len(t) // 2],
        lambda t: t.replace("fail_on", "fail_on: {a: b}\n  fail_on", 1),
    ]
)


@SETTINGS
@given(st.lists(MUTATIONS, min_size=1, max_size=3))
def test_mutated_shipped_policy(tmp_path: Path, mutations: list) -> None:
    from compliance.paths import shipped_policy

    text = shipped_policy("default.yml").read_text()
    for mutate in mutations:
        text = mutate(text)
    check_policy_text(tmp_path / "policy.yml", text.encode("utf-8", "surrogatepass"))


waiver_items = st.lists(
    st.dictionaries(
        st.sampled_from(
            ["fingerprint", "rule", "path", "reason", "approver", "expires", "scope", "extra"]
        ),
        values,
        max_size=7,
    ),
    max_size=4,
)


@SETTINGS
@given(st.one_of(waiver_items.map(lambda w: {"waivers": w}), values))
def test_random_waiver_files(tmp_path: Path, data: object) -> None:
    path = tmp_path / "waivers.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        load_waivers(path)
    except ConfigError as exc:
        assert exc.problems and all(str(path) in p for p in exc.problems)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_as_waivers(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "waivers.yml"
    path.write_bytes(data)
    try:
        load_waivers(path)
    except ConfigError as exc:
        assert exc.problems and all(str(path) in p for p in exc.problems)
