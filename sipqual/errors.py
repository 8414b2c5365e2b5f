"""Exception classes that decide a verdict.

The split matters more than the names: a :class:`CheckFailed` means the capture showed the DUT doing the wrong
thing (FAIL); every :class:`LabError` means we could not find out (ERROR, never PASS); a :class:`UsageError` is bad
input from the user and is shown as one line.
"""


class SipqualError(Exception):
    """Base of all sipqual errors; ``str()`` is always one line."""


class UsageError(SipqualError):
    """Bad input: DUT profile, command-line option, missing file. Shown as one line, exit code 2."""


class LabError(SipqualError):
    """The lab, a tool or the DUT's environment stopped us from finding out: verdict ERROR."""


class ToolMissing(LabError):
    """An external program (sipp, tshark, kamailio, ...) is not installed."""


class AgentError(LabError):
    """A SIPp agent or another helper process crashed, timed out, or could not bind."""


class DutDied(LabError):
    """The managed DUT process exited, or an external DUT stopped answering, during a test."""


class CheckFailed(AssertionError):
    """The capture shows the DUT violating a requirement. Carries the findings that prove it."""

    def __init__(self, findings):
        self.findings = list(findings)
        super().__init__("; ".join(f.message for f in self.findings) or "check failed")
