#!/usr/bin/env bash
# README command two: the project's own tests (unit tests, and the real-lab integration tests when root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# -n 3: three pytest-xdist workers on this 2-core machine: most lab tests wait on protocol timers and timeouts (CPU
# about half used with two); each lab its own tag and namespaces (tests/conftest.py)
exec .venv/bin/python -m pytest tests -p no:cacheprovider -n 3 --dist worksteal "$@"
