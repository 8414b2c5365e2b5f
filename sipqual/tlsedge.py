"""TLS edge: a plain-TCP <-> mutual-TLS relay, run as its own process (``python -m sipqual.tlsedge``).

Debian's SIPp has no TLS, so SIPp speaks plain TCP to this edge and the edge speaks real mutual TLS to the DUT::

    client mode:  SIPp --TCP--> [--listen]  edge  --TLS--> [--connect] DUT    (we present --cert, verify the DUT;
                                                                               --no-client-cert: present none)
    server mode:  DUT  --TLS--> [--listen]  edge  --TCP--> [--connect] SIPp   (a client certificate is REQUIRED)

Every accepted connection gets its own upstream connection; bytes are relayed unchanged both ways until either
side closes, then the other side is closed too. A failed handshake closes only that connection.

Events (``--events FILE``, one JSON object per line, appended with a single write each)::

    {"t": 1700000000.1, "event": "listening", "mode": "server", "pid": 123, "listen": "127.0.0.1:5061", ...}
    event        when                                          extra keys
    listening    the socket is bound and listening             listen (real address, also for port 0), connect,
                                                               own_cert_subject, own_cert_issuer, own_cert_san
    accepted     a connection was accepted on --listen         conn, peer
    connect_failed  the TCP connect to --connect failed        conn, peer, error
    handshake_ok    TLS handshake done                         conn, peer, local, version, cipher, sni (server mode),
                                                               peer_cert_subject, peer_cert_issuer, peer_cert_san,
                                                               peer_cert_sha256
    handshake_failed  TLS handshake failed or timed out        conn, peer, local, error, ssl_reason
    closed       the connection pair is closed                 conn, peer, tls_peer, reason, error, ssl_reason,
                                                               bytes_plain_to_tls, bytes_tls_to_plain
    stopped      the edge is about to exit                     reason (SIGTERM, SIGINT, max_seconds)

``conn`` numbers the accepted connections; ``peer`` is the remote address of the socket the event is about (the
accepted socket for accepted/closed, the TLS socket for handshake events); ``closed.reason`` is one of
``plain_eof``, ``tls_eof``, ``plain_error``, ``tls_error``, ``connect_failed``, ``handshake_failed``, ``shutdown``
(``tls_eof`` with an ``error`` means the peer closed TCP without a TLS close_notify). ``ssl_reason`` is OpenSSL's
short reason, e.g. ``CERTIFICATE_VERIFY_FAILED`` or ``TLSV1_ALERT_UNKNOWN_CA``.

A failed handshake sends the TLS alert OpenSSL chose (e.g. unknown_ca) before closing, as a real peer does.
With TLS 1.3 a client learns that the server rejected its certificate only after its own handshake completed:
the client edge then logs ``handshake_ok`` followed by ``closed`` with ``reason: tls_error`` and the alert in
``error``/``ssl_reason`` (e.g. ``TLSV1_ALERT_UNKNOWN_CA``, ``TLSV13_ALERT_CERTIFICATE_REQUIRED``).

TLS 1.0/1.1 (``--min-version 1.0``) need OpenSSL security level 0; without ``--ciphers`` the edge then uses
``DEFAULT:@SECLEVEL=0``. ``--ciphers`` only affects TLS <= 1.2 (Python cannot set TLS 1.3 suites).

Exit codes: 0 after SIGTERM/SIGINT or ``--max-seconds``; 1 if the listening socket cannot be opened; 2 for bad
arguments or unreadable certificate/key/CA files (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import ipaddress
import asyncio
import signal
import ssl
import sys

from .tlsio import (CLOSE_TIMEOUT, arm_stop, READ_SIZE, STOP_TIMEOUT, VERSIONS, EdgeExited, EdgeUsageError, Events,  # noqa: F401
                    Parser, TlsStream, close_all, error_text, fmt_addr, make_context, parse_hostport, positive,
                    own_cert, quiet_exception_handler, read_events, tls_details, wait_event, wait_listening)

PROG = "tlsedge"

class Edge:
    def __init__(self, args: argparse.Namespace, ctx: ssl.SSLContext, events: Events):
        self.args = args
        self.ctx = ctx
        self.events = events
        self.listen = parse_hostport(args.listen, allow_zero=True)
        self.connect = parse_hostport(args.connect)
        self.server_name = args.server_name or self.connect[0]
        self.conns: set[asyncio.Task] = set()
        self.count = 0
        self.stop_reason: str | None = None
        self._stop: asyncio.Event | None = None

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        arm_stop(loop, self.request_stop, self.args.max_seconds, PROG)
        try:
            server = await asyncio.start_server(self._on_accept, self.listen[0], self.listen[1],
                                                reuse_address=True, backlog=128)
        except OSError as e:
            print(f"{PROG}: cannot listen on {self.args.listen}: {e.strerror or e}", file=sys.stderr)
            return 1
        addr = fmt_addr(server.sockets[0].getsockname())
        self.events.emit("listening", listen=addr, connect=self.args.connect,
                         server_name=self.server_name if self.args.mode == "client" else None,
                         min_version=self.args.min_version, max_version=self.args.max_version,
                         max_seconds=self.args.max_seconds, **own_cert(self.args.cert))
        try:
            await self._stop.wait()
        finally:
            server.close()
            tasks = list(self.conns)
            for t in tasks:
                t.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
            self.events.emit("stopped", reason=self.stop_reason or "cancelled")
        return 0

    async def _on_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.conns.add(task)
        self.count += 1
        cid = self.count
        try:
            await self._serve(cid, reader, writer)
        except asyncio.CancelledError:
            pass
        except Exception as e:  # a bug must cost one connection, never the edge
            print(f"{PROG}: connection {cid}: {error_text(e)}", file=sys.stderr)
        finally:
            self.conns.discard(task)

    async def _serve(self, cid: int, reader, writer) -> None:
        server_mode = self.args.mode == "server"
        peer = fmt_addr(writer.get_extra_info("peername"))
        self.events.emit("accepted", conn=cid, peer=peer)
        state = {"reason": "shutdown", "error": None, "ssl_reason": None,
                 "bytes_plain_to_tls": 0, "bytes_tls_to_plain": 0}
        tls: TlsStream | None = None
        plain_w = None
        handshake_done = False
        tls_peer = peer if server_mode else self.args.connect
        try:
            if server_mode:
                plain_r = None
                tls = TlsStream(self.ctx, reader, writer, server_side=True)
            else:
                plain_r, plain_w = reader, writer
                local_addr = (self.args.source, 0) if self.args.source else None
                try:
                    tls_r, tls_w = await asyncio.wait_for(
                        asyncio.open_connection(*self.connect, local_addr=local_addr), self.args.connect_timeout)
                except Exception as e:
                    self.events.emit("connect_failed", conn=cid, peer=tls_peer, error=error_text(e))
                    state["reason"] = "connect_failed"
                    return
                tls_peer = fmt_addr(tls_w.get_extra_info("peername")) or tls_peer
                tls = TlsStream(self.ctx, tls_r, tls_w, server_side=False, server_hostname=self.server_name)
            local = fmt_addr(tls.writer.get_extra_info("sockname"))
            try:
                await asyncio.wait_for(tls.handshake(), self.args.handshake_timeout)
            except Exception as e:
                self.events.emit("handshake_failed", conn=cid, peer=tls_peer, local=local, error=error_text(e),
                                 ssl_reason=getattr(e, "reason", None))
                state["reason"] = "handshake_failed"
                return
            handshake_done = True
            self.events.emit("handshake_ok", conn=cid, peer=tls_peer, local=local, **tls_details(tls.obj))
            if server_mode:
                try:
                    plain_r, plain_w = await asyncio.wait_for(
                        asyncio.open_connection(*self.connect), self.args.connect_timeout)
                except Exception as e:
                    self.events.emit("connect_failed", conn=cid, peer=self.args.connect, error=error_text(e))
                    state["reason"] = "connect_failed"
                    return
            await self._relay(plain_r, plain_w, tls, state)
        finally:
            closers = [tls.close(notify=handshake_done)] if tls is not None else []
            for w in {writer, plain_w} - {None, tls.writer if tls is not None else None}:
                closers.append(close_all(w))
            await asyncio.gather(*closers, return_exceptions=True)
            self.events.emit("closed", conn=cid, peer=peer, tls_peer=tls_peer, **state)

    @staticmethod
    async def _relay(plain_r, plain_w, tls: TlsStream, state: dict) -> None:
        """Copy both ways until one side ends; record which side ended and how in ``state``."""

        async def up():  # plain -> TLS
            while True:
                try:
                    data = await plain_r.read(READ_SIZE)
                except Exception as e:
                    return "plain_error", e
                if not data:
                    return "plain_eof", None
                try:
                    await tls.write(data)
                except Exception as e:
                    return "tls_error", e
                state["bytes_plain_to_tls"] += len(data)

        async def down():  # TLS -> plain
            while True:
                try:
                    data = await tls.read()
                except Exception as e:
                    return "tls_error", e
                if not data:
                    return "tls_eof", None if tls.clean_eof else "peer closed TCP without TLS close_notify"
                try:
                    plain_w.write(data)
                    await plain_w.drain()
                except Exception as e:
                    return "plain_error", e
                state["bytes_tls_to_plain"] += len(data)

        tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            reason, error = (tasks[0] if tasks[0] in done else tasks[1]).result()
            state["reason"] = reason
            if isinstance(error, BaseException):
                state["error"] = error_text(error)
                state["ssl_reason"] = getattr(error, "reason", None) if isinstance(error, ssl.SSLError) else None
            else:
                state["error"] = error
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


# ------------------------------------------------------------------------------------------------ CLI


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description="Plain-TCP <-> mutual-TLS relay for SIP (see module docstring).")
    p.add_argument("mode", choices=("client", "server"),
                   help="client: plain in, TLS out; server: TLS in (client cert required), plain out")
    p.add_argument("--listen", required=True, metavar="HOST:PORT", help="where to listen (port 0: any free port)")
    p.add_argument("--connect", required=True, metavar="HOST:PORT", help="where to connect for each connection")
    p.add_argument("--cert", required=True, help="our certificate (PEM; may hold the chain)")
    p.add_argument("--key", required=True, help="our private key (PEM)")
    p.add_argument("--ca", required=True, help="CA file the peer's certificate must chain to")
    p.add_argument("--server-name", metavar="NAME",
                   help="client mode: SNI and hostname to check (default: the --connect host)")
    p.add_argument("--no-client-cert", action="store_true",
                   help="client mode: present no certificate (a probe of whether the server requires one)")
    p.add_argument("--source", metavar="IP", help="client mode: source address of the TLS connection")
    p.add_argument("--keylog", metavar="FILE", help="append NSS key log lines (for tshark -o tls.keylog_file:FILE)")
    p.add_argument("--min-version", choices=tuple(VERSIONS), default="1.2")
    p.add_argument("--max-version", choices=tuple(VERSIONS))
    p.add_argument("--ciphers", help="OpenSSL cipher string for TLS <= 1.2")
    p.add_argument("--events", metavar="FILE", help="append one JSON line per event")
    p.add_argument("--max-seconds", type=positive, default=600.0, help="exit by itself after this (default 600)")
    p.add_argument("--handshake-timeout", type=positive, default=10.0, help="seconds (default 10)")
    p.add_argument("--connect-timeout", type=positive, default=10.0, help="seconds (default 10)")
    return p


def _check_args(args: argparse.Namespace) -> None:
    parse_hostport(args.listen, allow_zero=True)
    parse_hostport(args.connect)
    if args.mode == "server":
        for opt, val in (("--server-name", args.server_name), ("--source", args.source)):
            if val is not None:
                raise EdgeUsageError(f"{opt} is only for client mode")
    if args.source is not None:
        try:
            ipaddress.ip_address(args.source)
        except ValueError:
            raise EdgeUsageError(f"--source {args.source!r} is not an IP address") from None


def main(argv: list[str] | None = None) -> int:
    def early_stop(signum, _frame):  # until the event loop installs its own handlers
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, early_stop)
    signal.signal(signal.SIGINT, early_stop)
    args = build_parser().parse_args(argv)
    try:
        _check_args(args)
        ctx = make_context(args.mode, cert=args.cert, key=args.key, ca=args.ca, min_version=args.min_version,
                           max_version=args.max_version, ciphers=args.ciphers, keylog=args.keylog,
                           present_cert=not args.no_client_cert)
        events = Events(args.events, args.mode)
    except EdgeUsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return asyncio.run(Edge(args, ctx, events).run())


if __name__ == "__main__":
    sys.exit(main())
