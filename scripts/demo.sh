#!/usr/bin/env bash
# README command 1: install, then gate the shipped example with the shipped policy on SQLite.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh" scripts/apt-demo.txt ""
mkdir -p reports
db="reports/demo.db"
echo "==> compliance scan examples/vulnerable-app --advisory-db examples/advisories --db $db"
set +e
.venv/bin/compliance scan examples/vulnerable-app --advisory-db examples/advisories --db "$db" \
    --target example/vulnerable-app
code=$?
set -e
case "$code" in
    0) echo "==> the gate passed the example (exit 0)";;
    1) echo "==> the gate blocked the deliberately vulnerable example (exit 1), as it should";
       echo "    stored findings: .venv/bin/compliance findings --db $db";;
    *) echo "==> the gate could not decide (exit $code): see the error above"; exit "$code";;
esac
