#!/usr/bin/env bash
# README command two: the project's own tests (unit tests, and the real-lab integration tests when root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest tests -p no:cacheprovider "$@"
