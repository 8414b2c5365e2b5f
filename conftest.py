"""Top-level conftest: the sipqual plugin itself is registered through the pytest11 entry point (pyproject.toml),
so `pytest suites --dut lab/duts/<name>.yaml` works from any directory. Nothing else is needed here."""
