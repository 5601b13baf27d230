#!/usr/bin/env bash
# README command 2: install everything the tests need (system packages too), run them all.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" scripts/apt-test.txt "test"
echo "==> pytest"
.venv/bin/python -m pytest -q -rs "$@"
