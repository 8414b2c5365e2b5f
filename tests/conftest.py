"""Order of the project's own tests: cheap checks first (SIPp scenarios are validated before any lab starts), the
real-lab integration tests last."""


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return 0 if name == "test_scenarios.py" else 2 if name == "test_lab.py" else 1
    items.sort(key=rank)  # stable: order inside each group is kept
