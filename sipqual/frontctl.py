"""The lab's and the cases' side of the Mediation front (:mod:`sipqual.msfront`): start it through the lab's
Supervisor (so teardown, Ctrl-C and the stale-lab cleanup cover it), wait until it listens, talk to it over its
control socket, and summarise the OPTIONS it answered for results.json."""

from __future__ import annotations

import json
import os
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import netns as netns_mod
from .errors import LabError
from .procs import LEAN_ENV
from .tlsio import read_events, wait_listening

#: tests only: "drop" makes the front leave OPTIONS unanswered (what a device sees without a Mediation Server)
OPTIONS_ENV = "SIPQUAL_FRONT_OPTIONS"
OPTIONS_LOG = "mediation-options.jsonl"
EVENTS = "mediation-front.events.jsonl"


@dataclass
class Front:
    """A running Mediation front and its files."""

    proc: object
    control: Path
    events: Path
    options_log: Path
    listen: dict

    def call(self, op: str, timeout: float = 10.0, **fields) -> dict:
        """One request on the control socket; raises :class:`LabError` unless the front says ok."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(str(self.control))
                s.sendall((json.dumps({"op": op, **fields}) + "\n").encode())
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
            reply = json.loads(buf or b"{}")
        except (OSError, ValueError) as e:
            raise LabError(f"Mediation front: control '{op}' failed: {e}; {self.proc.stderr_tail(2)}") from None
        if not reply.get("ok"):
            raise LabError(f"Mediation front: control '{op}' refused: {reply.get('error')}")
        return reply

    def begin(self, case: str, keylog: Path | None, events: Path | None) -> dict:
        return self.call("begin", case=case, keylog=str(keylog) if keylog else None,
                         events=str(events) if events else None)

    def backend(self, host: str, port: int) -> None:
        self.call("backend", host=host, port=port)

    def close_connections(self) -> int:
        """Close the DUT's connections to the Mediation ports now (the case goes on): the Mediation side dropping
        the connection between calls (TC-TRN-08). Returns how many were closed."""
        return int(self.call("close").get("closed", 0))

    def options_mode(self, mode: str) -> None:
        """Answer the DUT's OPTIONS ("answer") or leave them unanswered ("drop") from now on (TC-OPT-04)."""
        self.call("options", mode=mode)

    def end(self) -> None:
        if self.proc.alive():
            self.call("end")

    def wait_options(self, transport: str, after: float, timeout: float) -> dict:
        """Wait until an OPTIONS from the DUT on ``transport`` arrived after time ``after``; returns its record."""
        deadline = time.monotonic() + timeout
        while True:
            for rec in reversed(read_options(self.options_log)):
                if rec.get("transport") == transport and rec.get("t", 0) >= after:
                    return rec
            if time.monotonic() >= deadline:
                raise LabError(f"the DUT claims OPTIONS pings (pics.options_ping) but sent none on {transport} to "
                               f"the Mediation front within {timeout:g} s")
            if not self.proc.alive():
                raise LabError(f"Mediation front exited: {self.proc.stderr_tail(2)}")
            time.sleep(0.05)


def start_front(sup, *, netns: str | None, tcp: str | None, tls: str | None, pki, lab_dir: Path,
                state_dir: Path, timeout: float = 10.0) -> Front:
    """Start the front on the Mediation addresses (``tcp``/``tls`` are HOST:PORT or None) and wait until it
    listens on both and its control socket is bound."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    control = state_dir / "msfront.sock"
    events, options_log = lab_dir / EVENTS, lab_dir / OPTIONS_LOG
    argv = [sys.executable, "-m", "sipqual.msfront", "--events", str(events), "--options-log", str(options_log),
            "--control", str(control), "--options", os.environ.get(OPTIONS_ENV, "answer")]
    if tcp:
        argv += ["--tcp", tcp]
    if tls and pki is not None:
        argv += ["--tls", tls, "--cert", str(pki.certs["mediation"].cert), "--key", str(pki.certs["mediation"].key),
                 "--ca", str(pki.ca.cert), "--keylog", str(lab_dir / "mediation-tls-keys.log")]
    proc = sup.start("msfront", argv, netns=netns, log_dir=lab_dir, env=LEAN_ENV)
    try:
        ev = wait_listening(events, timeout, pid=None, proc=proc.popen)
    except Exception as e:  # noqa: BLE001 - any failure to come up is a lab fault
        for proto, where in (("tcp", tcp), ("tcp", tls)):  # a Mediation port someone else holds: name the holder
            if where:
                ip, port = where.rsplit(":", 1)
                ip = ip.strip("[]")
                holder = netns_mod.port_holder(netns, proto, ip, int(port), owner=proc)
                if holder:
                    raise LabError(f"Mediation front: {netns_mod.port_taken(proto, ip, int(port), holder)}") from None
        raise LabError(f"Mediation front did not come up: {e}; {proc.stderr_tail(2)}") from None
    return Front(proc, control, events, options_log, ev.get("listen_all") or {})


def read_options(path: Path) -> list[dict]:
    return read_events(path)


def options_summary(path: Path) -> dict:
    """What results.json's lab section says about the DUT's OPTIONS pings: how many, on which transport, how often,
    what they looked like (the full record is the JSONL file)."""
    recs = read_options(path)
    out: dict = {"log": f"lab/{Path(path).name}", "count": len(recs),
                 "answered": sum(1 for r in recs if r.get("answered")), "transports": {}}
    for transport in sorted({r.get("transport") for r in recs}):
        ts = sorted(r["t"] for r in recs if r.get("transport") == transport)
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        first = next(r for r in recs if r.get("transport") == transport)
        out["transports"][transport] = {
            "count": len(ts),
            "interval_s": ({"min": round(min(gaps), 3), "median": round(statistics.median(gaps), 3),
                            "max": round(max(gaps), 3)} if gaps else None),
            "sources": sorted({r.get("source") for r in recs if r.get("transport") == transport}),
            "example": {k: first.get(k) for k in ("ruri", "from", "to", "max_forwards", "user_agent", "headers")},
        }
    return out
