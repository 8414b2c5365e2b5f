"""Order of the project's own tests: cheap checks first (SIPp scenarios are validated before any lab starts), the
real-lab integration tests last.

The tests run in parallel (scripts/test.sh: pytest-xdist, ``-n 2``). Every lab has its own tag and namespaces, so lab
tests run side by side; a test marked ``alone`` (it leaves a stale lab on purpose, which any other lab starting
meanwhile would clean up) holds the machine-wide lab lock exclusively, every other test holds it shared."""

import fcntl
import os
import tempfile
from pathlib import Path

import pytest

LOCK = Path("/run/sipqual-tests.lock") if os.geteuid() == 0 else Path(tempfile.gettempdir()) / "sipqual-tests.lock"


def pytest_configure(config):
    config.addinivalue_line("markers", "alone: no other test of this project runs meanwhile (exclusive lab lock)")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return 0 if name == "test_scenarios.py" else 2 if name == "test_lab.py" else 1
    items.sort(key=rank)  # stable: order inside each group is kept


@pytest.fixture(autouse=True)
def _lab_lock(request):
    with LOCK.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX if request.node.get_closest_marker("alone") else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
