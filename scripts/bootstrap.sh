#!/usr/bin/env bash
# Shared set-up for the two README commands: system packages (apt, once), then a venv.
# Usage: source scripts/bootstrap.sh <apt-list-file> <pip-extra>
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_apt_packages() {
    local list_file="$1" missing=()
    # shellcheck disable=SC2013
    for pkg in $(grep -v '^\s*#' "$list_file"); do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> installing system packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

make_venv() {
    local extra="$1"
    if [ ! -x .venv/bin/python ]; then
        echo "==> creating .venv"
        python3 -m venv .venv
    fi
    echo "==> installing compliance${extra:+[$extra]} into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".${extra:+[$extra]}"
}

install_apt_packages "$1"
make_venv "${2:-}"
