"""Order of the project's own tests: cheap checks first (SIPp scenarios are validated before any lab starts), the
real-lab integration tests last.

The tests run in parallel (scripts/test.sh: pytest-xdist, ``-n 2``). Every lab has its own tag and namespaces, so lab
tests run side by side; a test marked ``alone`` (it leaves a stale lab on purpose, which any other lab starting
meanwhile would clean up) holds the machine-wide lab lock exclusively, every other test holds it shared. Tests
without a lab yield the CPU to the lab tests (LAB_MODULES)."""

import fcntl
import os
import tempfile
from pathlib import Path

import pytest

LOCK = Path("/run/sipqual-tests.lock") if os.geteuid() == 0 else Path(tempfile.gettempdir()) / "sipqual-tests.lock"


def pytest_configure(config):
    config.addinivalue_line("markers", "alone: no other test of this project runs meanwhile (exclusive lab lock)")


@pytest.fixture(scope="session", autouse=True)
def _key_pool(tmp_path_factory):
    """One pool of RSA keys for every lab of this test session (sipqual.pki.KEY_POOL_ENV), shared by both xdist
    workers (their base temp directories have one parent) and the qualification runs they start."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    os.environ["SIPQUAL_KEY_POOL"] = str(root / "key-pool")
    yield


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return 0 if name == "test_scenarios.py" else 2 if name == "test_lab.py" else 1
    items.sort(key=rank)  # stable: order inside each group is kept


#: tests that run real labs (a DUT whose timing the cases judge, e.g. a 100 Trying within 200 ms): every other test
#: yields the CPU to them (nice 10 while it runs, as root) when both run side by side under xdist
LAB_MODULES = {"test_lab.py", "test_lifecycle.py", "test_external.py"}


@pytest.fixture(autouse=True)
def _lab_lock(request):
    lower = os.geteuid() == 0 and request.node.path.name not in LAB_MODULES
    with LOCK.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX if request.node.get_closest_marker("alone") else fcntl.LOCK_SH)
        before = os.getpriority(os.PRIO_PROCESS, 0)
        if lower:
            os.setpriority(os.PRIO_PROCESS, 0, max(before, 10))
        try:
            yield
        finally:
            if lower:
                os.setpriority(os.PRIO_PROCESS, 0, before)
            fcntl.flock(f, fcntl.LOCK_UN)
