"""How a run ends when it is told to stop: SIGINT (Ctrl-C) and SIGTERM (``timeout``, CI, systemd) take the same
path, and clean-up is never cut short by a second signal.

- The first SIGINT or SIGTERM raises :class:`KeyboardInterrupt` in the main thread, as Ctrl-C always did: pytest
  stops, tears the lab down, and the plugin still writes results.json (the case in progress NOT_RUN "interrupted").
- A signal that arrives while a clean-up section runs (:func:`cleanup`: stopping processes, deleting namespaces,
  writing results, rendering the report) is noted on stderr and deferred: the section runs to its end, and the
  interrupt is raised only after it (``reraise``) or at the next :func:`checkpoint`.
- Once the run is finishing (:func:`finishing`), or after the one interrupt was raised, further signals are only
  noted: a second or third Ctrl-C never leaves processes, namespaces or state behind.

Every wait in a clean-up section is bounded (see :mod:`sipqual.procs`), so deferring signals cannot hang a run.
"""

from __future__ import annotations

import functools
import os
import signal
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_INTERRUPTED = 130


class _State:
    def __init__(self) -> None:
        self.received: list[int] = []   # signal numbers, in order of arrival
        self.raised = False             # the one KeyboardInterrupt was raised
        self.depth = 0                  # nesting of clean-up sections
        self.finishing = False          # the run is writing its results: never raise again
        self.held = False               # hold() is in force
        self.previous: dict[int, object] | None = None
        self.note_fd: int | None = None
        self.on_first: list = []        # callables(signum) run when the first signal arrives (see on_first_signal)


_S = _State()


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:  # pragma: no cover
        return str(signum)


def _note(signum: int) -> None:
    msg = (f"sipqual: {_name(signum)} noted; cleaning up first (the lab is torn down, results and report are "
           f"still written)\n")
    try:
        os.write(_S.note_fd if _S.note_fd is not None else 2, msg.encode())
    except OSError:
        pass


def _raise(signum: int) -> None:
    _S.raised = True
    raise KeyboardInterrupt(_name(signum))


def _handler(signum, frame) -> None:
    _S.received.append(signum)
    if len(_S.received) == 1:
        for fn in list(_S.on_first):
            try:
                fn(signum)
            except Exception:  # noqa: BLE001 - a forwarder must never stop the clean-up
                pass
    if not _S.raised and _S.depth == 0 and not _S.finishing:
        _raise(signum)
    _note(signum)


def install() -> None:
    """Handle SIGINT and SIGTERM as described above (main thread only; idempotent). The note goes to the stderr
    open now, so call this before output capturing starts where possible."""
    if _S.previous is not None:
        return
    _S.previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    try:
        _S.note_fd = os.dup(2)
    except OSError:  # pragma: no cover
        _S.note_fd = None


def on_first_signal(fn) -> None:
    """Run ``fn(signum)`` when the first SIGINT/SIGTERM arrives, before anything else (a parallel run forwards it to
    its workers, :mod:`sipqual.parallel`)."""
    _S.on_first.append(fn)


def uninstall() -> None:
    """Restore the handlers found by :func:`install` and forget every signal received (for tests)."""
    if _S.previous is not None:
        for s, h in _S.previous.items():
            signal.signal(s, h)
    if _S.note_fd is not None:
        os.close(_S.note_fd)
    _S.__init__()


def interrupted() -> str | None:
    """The name of the first signal received ("SIGTERM"), or None."""
    return _name(_S.received[0]) if _S.received else None


def signals_received() -> list[str]:
    return [_name(s) for s in _S.received]


def checkpoint() -> None:
    """Raise the deferred interrupt, if a signal came during a clean-up section and none was raised yet."""
    if _S.received and not _S.raised and _S.depth == 0 and not _S.finishing:
        _raise(_S.received[0])


@contextmanager
def cleanup(reraise: bool = True):
    """A section that must run to its end: signals during it are deferred. With ``reraise`` the deferred
    interrupt is raised when the outermost section ends; otherwise at the next :func:`checkpoint`."""
    _S.depth += 1
    try:
        yield
    finally:
        _S.depth -= 1
    if reraise:
        checkpoint()


def uninterrupted(fn):
    """Decorator: the whole call is a :func:`cleanup` section (a deferred interrupt is raised when it returns)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with cleanup():
            return fn(*args, **kwargs)
    return wrapper


def hold() -> None:
    """Defer signals from now until :func:`release` (``sipqual qualify`` holds them from its start until the run
    directory and the plugin exist, so that even an interrupt in the first second leaves results and a report)."""
    if not _S.held:
        _S.held = True
        _S.depth += 1


def release() -> None:
    """End :func:`hold` (no-op when nothing is held); the caller raises a deferred interrupt at a checkpoint."""
    if _S.held:
        _S.held = False
        _S.depth -= 1


@contextmanager
def finishing():
    """From here on the run only finishes (results, report): signals are noted, never raised."""
    _S.finishing = True
    yield
