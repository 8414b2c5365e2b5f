"""Active checks are recorded as they are called, so a saved run can be judged again offline.

A check is a function ``check(trace, **args) -> list[Finding]`` whose arguments are plain data (numbers, strings,
lists, or a registered dataclass such as :class:`~sipqual.checks.CallSpec`). :func:`check` registers it by name;
while a case runs, every call is appended to that case's record (``{"check": name, "args": {...}}``), which the
plugin writes into results.json. :mod:`sipqual.replay` looks the name up in :data:`CHECKS` and calls it again on the
saved capture: the verdict then comes from the capture alone, never from what the live run remembered.
"""

from __future__ import annotations

import dataclasses
import functools
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

CHECKS: dict[str, Callable] = {}
SPEC_TYPES: dict[str, type] = {}
_calls: ContextVar[list | None] = ContextVar("sipqual_check_calls", default=None)


def spec_type(cls: type) -> type:
    """Register a dataclass that checks take as an argument, so it survives the trip through JSON."""
    SPEC_TYPES[cls.__name__] = cls
    return cls


def check(fn: Callable) -> Callable:
    """Register ``fn`` as a replayable active check. Its arguments after the trace must be keywords."""
    if fn.__name__ in CHECKS:
        raise ValueError(f"check {fn.__name__} registered twice")

    @functools.wraps(fn)
    def wrapper(trace, *args, **kwargs):
        if args:
            raise TypeError(f"{fn.__name__}: pass everything after the trace by keyword (it is recorded for replay)")
        calls = _calls.get()
        if calls is not None:
            calls.append({"check": fn.__name__, "args": encode(kwargs)})
        return fn(trace, **kwargs)

    CHECKS[fn.__name__] = wrapper
    return wrapper


@contextmanager
def recording(into: list) -> Iterator[list]:
    """Record every registered check called inside the block into ``into``."""
    token = _calls.set(into)
    try:
        yield into
    finally:
        _calls.reset(token)


def encode(value):
    """Plain JSON data; a registered dataclass becomes ``{"$type": name, ...fields}``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if SPEC_TYPES.get(name) is not type(value):
            raise TypeError(f"{name} is not a registered spec type (use @spec_type)")
        return {"$type": name, **{f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"a check argument must be plain data or a spec dataclass, not {type(value).__name__}")


def decode(value):
    if isinstance(value, dict):
        if "$type" in value:
            cls = SPEC_TYPES.get(value["$type"])
            if cls is None:
                raise ValueError(f"unknown spec type {value['$type']!r} in a recorded check")
            fields = {f.name: f for f in dataclasses.fields(cls)}
            kwargs = {}
            for k, v in value.items():
                if k == "$type" or k not in fields:
                    continue
                v = decode(v)
                kwargs[k] = tuple(v) if isinstance(v, list) and "tuple" in str(fields[k].type) else v
            return cls(**kwargs)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value
