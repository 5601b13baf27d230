#!/usr/bin/env bash
# README command 2: install everything the tests need (system packages too), run them all.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" scripts/apt-test.txt "test"
# bandit runs under the newest Python found (docs/bandit-python.md): say which ones are here,
# so a test skipped for a missing 3.12 or 3.13 is no surprise
.venv/bin/python - <<'PY'
from compliance.scanners.bandit_python import discover
found = {}
for interpreter in discover():  # newest first: the first of each minor version
    found.setdefault(interpreter.minor, interpreter)
listed = ", ".join(f"{i.full} ({i.path})" for i in found.values())
print("==> Pythons for bandit: " + (listed or "none"))
missing = [m for m in ("3.11", "3.12", "3.13") if m not in found]
if missing:
    print("==> missing (their syntax tests will be skipped): " + ", ".join(missing))
PY
echo "==> pytest"
.venv/bin/python -m pytest -q -rs "$@"
