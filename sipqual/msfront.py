"""The Mediation front: one process per run that owns the Mediation Server's listening ports (TCP and mutual TLS)
from lab start to lab end, as a real Mediation pool does (``python -m sipqual.msfront``).

Real devices ping their trunk with OPTIONS and mark it down when nothing answers, so the Mediation side must answer
between cases too. The front:

- frames SIP on every connection the DUT opens (:mod:`sipqual.sipstream`) and answers each out-of-dialog OPTIONS
  itself (200 with Allow, Accept, Supported, a To tag), recording it in ``--options-log`` (one JSON line each);
- hands everything else to the current case's agent: a case registers its SIPp server (a local TCP port) over the
  control socket; on the first other message of a DUT connection the front opens a TCP connection to that port and
  relays both ways, unchanged (SIPp's own requests, e.g. the callee's BYE, come back over it); with no case
  registered a request gets 503 with Retry-After (and an event);
- at case start closes the DUT's existing connections, so the case's capture holds the TLS handshakes of the
  connections that carry its traffic (the DUT reconnects), and writes their keys (NSS key log) and TLS events
  (the format of :mod:`sipqual.tlsedge`, read by :mod:`sipqual.tlsfindings`) into the case's files.

Control socket (``--control PATH``, a unix socket): one JSON object per line in, one JSON line back::

    {"op": "begin", "case": "TC-..", "keylog": FILE|null, "events": FILE|null}  -> {"ok": true, "closed": N}
    {"op": "backend", "host": "192.0.2.10", "port": 15060}                        -> {"ok": true}
    {"op": "end"}                                                                -> {"ok": true, "closed": N}
    {"op": "close"}   (close the DUT's connections now, the case going on; TC-TRN-08) -> {"ok": true, "closed": N}
    {"op": "status"}                                                             -> {"ok": true, "conns": .., ..}
    {"op": "options", "mode": "answer"|"drop"}  (answer OPTIONS or leave them unanswered from now on) -> {"ok": true}

Events (``--events``): those of the TLS edge (mode "server": the DUT is the TLS client) plus ``transport`` on
accepted/closed, and ``no_case`` (a request refused with 503), ``case_begin``, ``case_end``. Readiness: the
``listening`` event is written once both ports and the control socket are bound.

``--options drop`` (tests only) never answers OPTIONS: what a device sees when nothing plays the Mediation Server.
Exit codes as the TLS edge: 0 after SIGTERM/SIGINT or ``--max-seconds``, 1 if a socket cannot be bound, 2 for bad
arguments or unreadable certificate files (one line on stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import ssl
import sys
import time

from . import __version__
from .sipmsg import SipParseError, parse_message
from .sipstream import PING, PONG, FramingError, SipFramer, is_out_of_dialog_options, response, summary
from .tlsio import (READ_SIZE, STOP_TIMEOUT, EdgeUsageError, Events, Parser, TlsStream, arm_stop, close_all,
                    error_text, fmt_addr, make_context, own_cert, parse_hostport, positive, tls_details)

PROG = "msfront"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
SERVER = f"sipqual-mediation-front/{__version__}"
RETRY_AFTER = "5"


class _Sinks:
    """The run's events file, and the current case's while a case is registered."""

    def __init__(self, run: Events):
        self.run = run
        self.case: Events | None = None

    def emit(self, event: str, **fields) -> None:
        self.run.emit(event, **fields)
        if self.case is not None:
            self.case.emit(event, **fields)


class Conn:
    """One connection the DUT opened to us, and the backend connection to the case's agent (if any)."""

    def __init__(self, cid: int, transport: str, reader, writer, peer: str, local: str):
        self.cid, self.transport, self.peer, self.local = cid, transport, peer, local
        self.reader, self.writer = reader, writer
        self.tls: TlsStream | None = None
        self.lock = asyncio.Lock()
        self.task: asyncio.Task | None = None
        self.backend = None                      # (reader, writer) to the case's agent
        self.backend_task: asyncio.Task | None = None
        self.source = tuple(writer.get_extra_info("peername")[:2])

    async def recv(self) -> bytes:
        return await self.tls.read() if self.tls else await self.reader.read(READ_SIZE)

    async def send(self, data: bytes) -> None:
        async with self.lock:
            if self.tls:
                await self.tls.write(data)
            else:
                self.writer.write(data)
                await self.writer.drain()

    async def close_backend(self) -> None:
        task, backend = self.backend_task, self.backend
        self.backend, self.backend_task = None, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if backend is not None:
            await close_all(backend[1])


class Front:
    def __init__(self, args, ctx: ssl.SSLContext | None, events: Events):
        self.args = args
        self.ctx = ctx
        self.sinks = _Sinks(events)
        self.conns: dict[int, Conn] = {}
        self.count = 0
        self.case: dict | None = None            # {"case", "backend": (host, port) | None}
        self.options_seen = 0
        self.no_case = 0
        self.stop_reason: str | None = None
        self._stop: asyncio.Event | None = None
        self._options_fd = os.open(args.options_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    # ---- life cycle ------------------------------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        arm_stop(loop, self.request_stop, self.args.max_seconds, PROG)
        servers, listen = [], {}
        try:
            for transport, spec in (("tcp", self.args.tcp), ("tls", self.args.tls)):
                if spec:
                    host, port = parse_hostport(spec, allow_zero=True)
                    srv = await asyncio.start_server(
                        lambda r, w, t=transport: self._on_accept(t, r, w), host, port, reuse_address=True)
                    servers.append(srv)
                    listen[transport] = fmt_addr(srv.sockets[0].getsockname())
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.args.control)
            servers.append(await asyncio.start_unix_server(self._on_control, self.args.control))
        except OSError as e:
            print(f"{PROG}: cannot listen: {e.strerror or e}", file=sys.stderr)
            for srv in servers:
                srv.close()
            return 1
        self.sinks.emit("listening", listen=listen.get("tls") or listen.get("tcp"), listen_all=listen,
                        control=self.args.control, options=self.args.options, max_seconds=self.args.max_seconds)
        try:
            await self._stop.wait()
        finally:
            for srv in servers:
                srv.close()
            await self._close_conns()
            self.sinks.emit("stopped", reason=self.stop_reason or "cancelled")
            with contextlib.suppress(OSError):
                os.unlink(self.args.control)
        return 0

    async def _close_conns(self) -> int:
        tasks = [c.task for c in self.conns.values() if c.task is not None]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        return len(tasks)

    # ---- the control channel ---------------------------------------------------------------------------------------
    async def _on_control(self, reader, writer) -> None:
        try:
            while line := await reader.readline():
                try:
                    req = json.loads(line)
                    reply = await self._control(req)
                except Exception as e:  # noqa: BLE001 - a bad request gets an answer, never kills the front
                    reply = {"ok": False, "error": error_text(e)}
                writer.write((json.dumps(reply) + "\n").encode())
                await writer.drain()
        finally:
            await close_all(writer)

    async def _control(self, req: dict) -> dict:
        op = req.get("op")
        if op == "begin":
            if self.case is not None:
                await self._end_case()
            self.case = {"case": req.get("case"), "backend": None}
            if self.ctx is not None:
                self.ctx.keylog_filename = req.get("keylog") or self.args.keylog
            self.sinks.case = Events(req["events"], "server", PROG) if req.get("events") else None
            if self.sinks.case is not None and self.args.cert:  # names our certificate, for a refusal's hint
                self.sinks.case.emit("listening", listen=self.args.tls, **own_cert(self.args.cert))
            self.sinks.emit("case_begin", case=self.case["case"])
            closed = await self._close_conns()  # the DUT reconnects inside the case's capture
            return {"ok": True, "closed": closed}
        if op == "backend":
            if self.case is None:
                return {"ok": False, "error": "no case registered"}
            self.case["backend"] = (req["host"], int(req["port"]))
            return {"ok": True}
        if op == "end":
            return {"ok": True, "closed": await self._end_case()}
        if op == "close":
            self.sinks.emit("close_conns", case=self.case["case"] if self.case else None)
            return {"ok": True, "closed": await self._close_conns()}
        if op == "options":   # answer or leave unanswered the DUT's OPTIONS from now on (a silent member, TC-OPT-04)
            if req.get("mode") not in ("answer", "drop"):
                return {"ok": False, "error": f"options mode {req.get('mode')!r}: answer or drop"}
            self.args.options = req["mode"]
            self.sinks.emit("options_mode", mode=req["mode"], case=self.case["case"] if self.case else None)
            return {"ok": True}
        if op == "status":
            return {"ok": True, "conns": len(self.conns), "options": self.options_seen, "no_case": self.no_case,
                    "case": self.case["case"] if self.case else None}
        return {"ok": False, "error": f"unknown op {op!r}"}

    async def _end_case(self) -> int:
        backends = [c for c in self.conns.values() if c.backend is not None]
        await asyncio.gather(*(c.close_backend() for c in backends), return_exceptions=True)
        if self.case is not None:
            self.sinks.emit("case_end", case=self.case["case"])
        self.case = None
        self.sinks.case = None
        if self.ctx is not None and self.args.keylog:
            self.ctx.keylog_filename = self.args.keylog
        return len(backends)

    # ---- DUT connections -------------------------------------------------------------------------------------------
    async def _on_accept(self, transport: str, reader, writer) -> None:
        self.count += 1
        conn = Conn(self.count, transport, reader, writer, fmt_addr(writer.get_extra_info("peername")),
                    fmt_addr(writer.get_extra_info("sockname")))
        conn.task = asyncio.current_task()
        self.conns[conn.cid] = conn
        try:
            await self._serve(conn)
        except asyncio.CancelledError:
            pass
        except Exception as e:  # noqa: BLE001 - a bug must cost one connection, never the front
            print(f"{PROG}: connection {conn.cid}: {error_text(e)}", file=sys.stderr)
        finally:
            self.conns.pop(conn.cid, None)

    async def _serve(self, conn: Conn) -> None:
        ev = self.sinks
        ev.emit("accepted", conn=conn.cid, peer=conn.peer, transport=conn.transport)
        state = {"reason": "shutdown", "error": None, "ssl_reason": None}
        handshake_done = False
        try:
            if conn.transport == "tls":
                conn.tls = TlsStream(self.ctx, conn.reader, conn.writer, server_side=True)
                try:
                    await asyncio.wait_for(conn.tls.handshake(), self.args.handshake_timeout)
                except Exception as e:  # noqa: BLE001
                    ev.emit("handshake_failed", conn=conn.cid, peer=conn.peer, local=conn.local, error=error_text(e),
                            ssl_reason=getattr(e, "reason", None))
                    state["reason"] = "handshake_failed"
                    return
                handshake_done = True
                ev.emit("handshake_ok", conn=conn.cid, peer=conn.peer, local=conn.local, **tls_details(conn.tls.obj))
            state.update(await self._read_loop(conn))
        finally:
            await conn.close_backend()
            if conn.tls is not None:
                await conn.tls.close(notify=handshake_done)
            else:
                await close_all(conn.writer)
            ev.emit("closed", conn=conn.cid, peer=conn.peer, tls_peer=conn.peer if conn.tls else None,
                    transport=conn.transport, **state)

    async def _read_loop(self, conn: Conn) -> dict:
        framer = SipFramer()
        eof = "tls_eof" if conn.tls else "plain_eof"
        while True:
            try:
                data = await conn.recv()
            except Exception as e:  # noqa: BLE001
                return {"reason": "tls_error" if conn.tls else "plain_error", "error": error_text(e),
                        "ssl_reason": getattr(e, "reason", None) if isinstance(e, ssl.SSLError) else None}
            if not data:
                clean = conn.tls is None or conn.tls.clean_eof
                return {"reason": eof, "error": None if clean else "peer closed TCP without TLS close_notify"}
            try:
                messages = framer.feed(data)
            except FramingError as e:
                return {"reason": "framing_error", "error": str(e)}
            for raw in messages:
                await self._on_message(conn, raw)

    async def _on_message(self, conn: Conn, raw: bytes) -> None:
        if raw == PING:
            await conn.send(PONG)
            return
        try:
            msg = parse_message(raw)
        except SipParseError as e:
            self.sinks.emit("unparsable", conn=conn.cid, peer=conn.peer, error=str(e))
            return
        if is_out_of_dialog_options(msg) and self.args.options != "relay":
            await self._options(conn, msg)
            return
        backend = await self._backend(conn)
        if backend is not None:
            backend[1].write(raw)
            await backend[1].drain()
            return
        if msg.is_request and msg.method != "ACK":
            self.no_case += 1
            self.sinks.emit("no_case", conn=conn.cid, peer=conn.peer, method=msg.method, call_id=msg.call_id,
                            answered=503)
            await conn.send(response(msg, 503, "Service Unavailable", conn.source, to_tag=secrets.token_hex(6),
                                     extra=[("Retry-After", RETRY_AFTER), ("Server", SERVER)]))
        else:
            self.sinks.emit("no_case", conn=conn.cid, peer=conn.peer,
                            method=msg.method or f"{msg.status} response", call_id=msg.call_id, answered=None)

    async def _options(self, conn: Conn, msg) -> None:
        self.options_seen += 1
        answer = self.args.options == "answer"
        rec = {"t": time.time(), "transport": conn.transport, "conn": conn.cid, "source": conn.peer,
               "local": conn.local, "case": self.case["case"] if self.case else None,
               "answered": 200 if answer else None, **summary(msg)}
        os.write(self._options_fd, (json.dumps(rec, separators=(",", ":")) + "\n").encode())
        if answer:
            await conn.send(response(msg, 200, "OK", conn.source, to_tag=secrets.token_hex(6), extra=[
                ("Allow", ALLOW), ("Accept", "application/sdp"), ("Accept-Encoding", "identity"),
                ("Accept-Language", "en"), ("Supported", ""), ("Server", SERVER)]))

    async def _backend(self, conn: Conn):
        """The connection to the case's agent for this DUT connection, opened on first use."""
        if conn.backend is not None:
            return conn.backend
        if self.case is None or self.case["backend"] is None:
            return None
        host, port = self.case["backend"]
        try:
            conn.backend = await asyncio.wait_for(asyncio.open_connection(host, port), self.args.connect_timeout)
        except Exception as e:  # noqa: BLE001
            self.sinks.emit("connect_failed", conn=conn.cid, peer=f"{host}:{port}", error=error_text(e))
            return None
        conn.backend_task = asyncio.create_task(self._pump_back(conn, conn.backend[0]))
        return conn.backend

    async def _pump_back(self, conn: Conn, reader) -> None:
        """Agent -> DUT, unchanged, until the agent closes (the DUT's connection stays)."""
        try:
            while data := await reader.read(READ_SIZE):
                await conn.send(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            if conn.backend is not None and conn.backend[0] is reader:
                writer = conn.backend[1]
                conn.backend, conn.backend_task = None, None
                await close_all(writer)


# ---- CLI -------------------------------------------------------------------------------------------------------------
def build_parser() -> Parser:
    p = Parser(prog=PROG, description="The Mediation Server's listening ports for a whole run (see the docstring).")
    p.add_argument("--tcp", metavar="HOST:PORT", help="plain TCP listening address")
    p.add_argument("--tls", metavar="HOST:PORT", help="mutual-TLS listening address (needs --cert/--key/--ca)")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca", help="CA file the DUT's client certificate must chain to")
    p.add_argument("--keylog", metavar="FILE", help="NSS key log outside cases")
    p.add_argument("--events", required=True, metavar="FILE", help="append one JSON line per event")
    p.add_argument("--options-log", required=True, metavar="FILE", help="append one JSON line per OPTIONS received")
    p.add_argument("--control", required=True, metavar="PATH", help="unix socket for case begin/backend/end")
    p.add_argument("--options", choices=("answer", "drop", "relay"), default="answer",
                   help="answer out-of-dialog OPTIONS (default); drop them unanswered; relay them like any request")
    p.add_argument("--max-seconds", type=positive, default=43200.0, help="exit by itself after this (default 12 h)")
    p.add_argument("--handshake-timeout", type=positive, default=10.0)
    p.add_argument("--connect-timeout", type=positive, default=5.0)
    return p


def main(argv: list[str] | None = None) -> int:
    def early_stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, early_stop)
    signal.signal(signal.SIGINT, early_stop)
    args = build_parser().parse_args(argv)
    try:
        if not (args.tcp or args.tls):
            raise EdgeUsageError("nothing to listen on: give --tcp and/or --tls")
        for spec in (args.tcp, args.tls):
            if spec:
                parse_hostport(spec, allow_zero=True)
        ctx = None
        if args.tls:
            if not (args.cert and args.key and args.ca):
                raise EdgeUsageError("--tls needs --cert, --key and --ca")
            ctx = make_context("server", cert=args.cert, key=args.key, ca=args.ca, keylog=args.keylog)
        events = Events(args.events, "server", PROG)
    except EdgeUsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return asyncio.run(Front(args, ctx, events).run())


if __name__ == "__main__":
    sys.exit(main())
