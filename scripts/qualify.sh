#!/usr/bin/env bash
# README command one: qualify a DUT (default: the embedded reference DUT in the namespace lab) and write the report.
#   scripts/qualify.sh [--dut lab/duts/<profile>.yaml] [extra pytest options]
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit $?
exec .venv/bin/sipqual qualify "$@"
