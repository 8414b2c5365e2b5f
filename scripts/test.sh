#!/usr/bin/env bash
# README command two: the project's own tests (unit tests, and the real-lab integration tests when root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# -n 2: two pytest-xdist workers; the lab tests run side by side (each lab its own tag and namespaces, tests/conftest.py)
exec .venv/bin/python -m pytest tests -p no:cacheprovider -n 2 --dist worksteal "$@"
