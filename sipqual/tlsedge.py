"""TLS edge: a plain-TCP <-> mutual-TLS relay, run as its own process (``python -m sipqual.tlsedge``).

Debian's SIPp has no TLS, so SIPp speaks plain TCP to this edge and the edge speaks real mutual TLS to the DUT::

    client mode:  SIPp --TCP--> [--listen]  edge  --TLS--> [--connect] DUT    (we present --cert, verify the DUT)
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
import asyncio
import contextlib
import hashlib
import ipaddress
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path

PROG = "tlsedge"
READ_SIZE = 65536
CLOSE_TIMEOUT = 2.0  # seconds to wait for a clean close (TLS close_notify exchange) before aborting
STOP_TIMEOUT = 3.0  # seconds the connections get to close on shutdown
VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


class EdgeUsageError(ValueError):
    """Bad argument or unreadable certificate file: one line, exit code 2."""


class EdgeExited(RuntimeError):
    """The edge process exited before reporting the awaited event."""


# ------------------------------------------------------------------------------------------------ events API


def read_events(events_file) -> list[dict]:
    """All complete JSON lines of an events file (a line still being written is skipped); [] if it is missing."""
    try:
        data = Path(events_file).read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n")[:-1]:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict):
            out.append(ev)
    return out


def wait_event(events_file, event: str, timeout: float, *, pid: int | None = None,
               proc: subprocess.Popen | None = None, where=None) -> dict:
    """Poll ``events_file`` until an ``event`` line appears (optionally from ``pid`` and satisfying ``where(ev)``).

    Raises :class:`TimeoutError` at the deadline, or :class:`EdgeExited` as soon as ``proc`` has exited without
    having written the event.
    """
    deadline = time.monotonic() + timeout
    interval = 0.005

    def find():
        for ev in read_events(events_file):
            if ev.get("event") == event and (pid is None or ev.get("pid") == pid) and (where is None or where(ev)):
                return ev
        return None

    while True:
        ev = find()
        if ev is not None:
            return ev
        if proc is not None and proc.poll() is not None:
            ev = find()  # it may have written the event just before exiting
            if ev is not None:
                return ev
            raise EdgeExited(f"{PROG} (pid {proc.pid}) exited with code {proc.returncode} "
                             f"before writing a {event!r} event to {events_file}")
        now = time.monotonic()
        if now >= deadline:
            raise TimeoutError(f"{PROG}: no {event!r} event in {events_file} within {timeout:g} s")
        time.sleep(min(interval, deadline - now))
        interval = min(interval * 2, 0.05)


def wait_listening(events_file: Path, timeout: float, *, pid: int | None = None,
                   proc: subprocess.Popen | None = None) -> dict:
    """Wait until the edge reports that it listens; returns that event (``ev["listen"]`` is the real address)."""
    return wait_event(events_file, "listening", timeout, pid=pid, proc=proc)


# ------------------------------------------------------------------------------------------------ helpers


def _fmt_addr(addr) -> str | None:
    if not addr:
        return None
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_hostport(text: str, *, allow_zero: bool = False) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port)."""
    m = re.fullmatch(r"\[([^\]]+)\]:(\d{1,5})", text) or re.fullmatch(r"([^:\[\]]+):(\d{1,5})", text)
    if not m:
        raise EdgeUsageError(f"expected HOST:PORT or [IPv6]:PORT, got {text!r}")
    host, port = m.group(1), int(m.group(2))
    if not (0 if allow_zero else 1) <= port <= 65535:
        raise EdgeUsageError(f"port out of range in {text!r}")
    return host, port


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"{exc.reason or 'CERTIFICATE_VERIFY_FAILED'}: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(exc))
        return text
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno:
        detail = exc.strerror if exc.strerror and exc.strerror != os.strerror(exc.errno) else None
        return f"{os.strerror(exc.errno)}{': ' + detail if detail else ''}"
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
          "localityName": "L", "stateOrProvinceName": "ST", "domainComponent": "DC", "serialNumber": "serialNumber"}


def _dn(rdns) -> str:
    return ", ".join("+".join(f"{_SHORT.get(k, k)}={v}" for k, v in rdn) for rdn in rdns or ())


def _san(cert: dict) -> list[str]:
    out = []
    for kind, value in cert.get("subjectAltName", ()):
        if kind == "IP Address":
            with contextlib.suppress(ValueError):
                value = str(ipaddress.ip_address(value.strip()))
            out.append(f"IP:{value}")
        else:
            out.append(f"{kind}:{value}")
    return out


def _tls_details(sslobj: ssl.SSLObject) -> dict:
    info: dict = {}
    info["version"] = sslobj.version()
    cipher = sslobj.cipher()
    info["cipher"] = cipher[0] if cipher else None
    info["sni"] = getattr(sslobj, "sipqual_sni", None)
    cert = sslobj.getpeercert() or {}
    info["peer_cert_subject"] = _dn(cert.get("subject"))
    info["peer_cert_issuer"] = _dn(cert.get("issuer"))
    info["peer_cert_san"] = _san(cert)
    der = sslobj.getpeercert(binary_form=True)
    if der:
        digest = hashlib.sha256(der).hexdigest().upper()
        info["peer_cert_sha256"] = ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
    return info


def _own_cert(path: str) -> dict:
    """What the peer is shown and must trust (for the hint when it refuses us): our leaf's subject, SAN, issuer."""
    try:
        cert = ssl._ssl._test_decode_cert(path)  # CPython's PEM decoder; no crypto dependency
    except Exception:  # noqa: BLE001 - informational only
        return {}
    return {"own_cert_subject": _dn(cert.get("subject")), "own_cert_issuer": _dn(cert.get("issuer")),
            "own_cert_san": _san(cert)}


def _remember_sni(sslobj, server_name, _ctx):
    with contextlib.suppress(Exception):
        sslobj.sipqual_sni = server_name
    return None


def make_context(mode: str, *, cert: str, key: str, ca: str, min_version: str = "1.2",
                 max_version: str | None = None, ciphers: str | None = None, keylog: str | None = None
                 ) -> ssl.SSLContext:
    """The SSLContext of one edge; raises :class:`EdgeUsageError` (one line) for anything the user must fix."""
    if mode == "client":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + check_hostname
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate, no connection
        ctx.sni_callback = _remember_sni
    ctx.options |= ssl.OP_NO_RENEGOTIATION  # TLS 1.2 renegotiation is refused (SIP peers have no use for it)
    lo = VERSIONS[min_version]
    hi = VERSIONS[max_version] if max_version else ssl.TLSVersion.MAXIMUM_SUPPORTED
    if max_version and lo > hi:
        raise EdgeUsageError(f"--min-version {min_version} is above --max-version {max_version}")
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated; here they are asked for on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = lo
        ctx.maximum_version = hi
    if ciphers is None and lo < ssl.TLSVersion.TLSv1_2:
        ciphers = "DEFAULT:@SECLEVEL=0"  # OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1) at the default security level
    if ciphers is not None:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError:
            raise EdgeUsageError(f"--ciphers {ciphers!r} selects no cipher") from None
    for label, path in (("--cert", cert), ("--key", key), ("--ca", ca)):
        try:
            Path(path).open("rb").close()
        except OSError as e:
            raise EdgeUsageError(f"cannot read {label} {path}: {e.strerror or e}") from None
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as e:
        raise EdgeUsageError(f"cannot load --cert {cert} with --key {key}: {_error_text(e)}") from None
    try:
        ctx.load_verify_locations(cafile=ca)
    except (ssl.SSLError, OSError, ValueError) as e:
        raise EdgeUsageError(f"cannot load --ca {ca}: {_error_text(e)}") from None
    if keylog:
        try:
            ctx.keylog_filename = keylog  # opened in append mode by the ssl module
        except OSError as e:
            raise EdgeUsageError(f"cannot open --keylog {keylog}: {e.strerror or e}") from None
    return ctx


class _Events:
    def __init__(self, path: str | None, mode: str):
        self.mode = mode
        self.fd = None
        if path:
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as e:
                raise EdgeUsageError(f"cannot open --events {path}: {e.strerror or e}") from None

    def emit(self, event: str, **fields) -> None:
        if self.fd is None:
            return
        rec = {"t": time.time(), "event": event, "mode": self.mode, "pid": os.getpid()}
        rec.update({k: v for k, v in fields.items() if v is not None})
        try:
            os.write(self.fd, (json.dumps(rec, separators=(",", ":")) + "\n").encode())
        except OSError as e:
            print(f"{PROG}: cannot write event: {e.strerror or e}", file=sys.stderr)


# ------------------------------------------------------------------------------------------------ the relay


class TlsStream:
    """TLS over an asyncio stream pair through :class:`ssl.MemoryBIO`.

    Unlike ``StreamWriter.start_tls`` this sends the alert OpenSSL produces when a handshake fails (unknown CA,
    bad certificate, ...) before closing, as a real TLS peer does, so the DUT and the capture see why.
    """

    def __init__(self, ctx: ssl.SSLContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 server_side: bool, server_hostname: str | None = None):
        self.reader, self.writer = reader, writer
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self._in, self._out, server_side=server_side, server_hostname=server_hostname)
        self.clean_eof = True  # False when the peer closed TCP without close_notify

    async def _flush(self) -> None:
        data = self._out.read()
        if data:
            self.writer.write(data)  # whole records, written without an await in between
            await self.writer.drain()

    async def _fill(self) -> None:
        data = await self.reader.read(READ_SIZE)
        if data:
            self._in.write(data)
        else:
            self._in.write_eof()

    async def handshake(self) -> None:
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
            except ssl.SSLError:
                with contextlib.suppress(Exception):
                    await self._flush()  # the alert
                raise
        await self._flush()  # last flight, TLS 1.3 session tickets

    async def read(self) -> bytes:
        """Application data; b"" at the end (close_notify, or TCP closed: then ``clean_eof`` is False)."""
        while True:
            try:
                data = self.obj.read(READ_SIZE)
            except ssl.SSLWantReadError:
                await self._flush()  # e.g. the answer to a TLS 1.3 KeyUpdate
                await self._fill()
                continue
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLEOFError:
                self.clean_eof = False
                return b""
            except ssl.SSLError:
                with contextlib.suppress(Exception):
                    await self._flush()
                raise
            await self._flush()
            return data

    async def write(self, data: bytes) -> None:
        self.obj.write(data)
        await self._flush()

    async def close(self, *, notify: bool) -> None:
        if notify:
            with contextlib.suppress(Exception):
                self.obj.unwrap()  # queues our close_notify; we do not wait for the peer's
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._flush(), CLOSE_TIMEOUT)
        await _close_all(self.writer)


class Edge:
    def __init__(self, args: argparse.Namespace, ctx: ssl.SSLContext, events: _Events):
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
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        loop.call_later(self.args.max_seconds, self.request_stop, "max_seconds")
        loop.set_exception_handler(_quiet_exception_handler)
        try:
            server = await asyncio.start_server(self._on_accept, self.listen[0], self.listen[1],
                                                reuse_address=True, backlog=128)
        except OSError as e:
            print(f"{PROG}: cannot listen on {self.args.listen}: {e.strerror or e}", file=sys.stderr)
            return 1
        addr = _fmt_addr(server.sockets[0].getsockname())
        self.events.emit("listening", listen=addr, connect=self.args.connect,
                         server_name=self.server_name if self.args.mode == "client" else None,
                         min_version=self.args.min_version, max_version=self.args.max_version,
                         max_seconds=self.args.max_seconds, **_own_cert(self.args.cert))
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
            print(f"{PROG}: connection {cid}: {_error_text(e)}", file=sys.stderr)
        finally:
            self.conns.discard(task)

    async def _serve(self, cid: int, reader, writer) -> None:
        server_mode = self.args.mode == "server"
        peer = _fmt_addr(writer.get_extra_info("peername"))
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
                    self.events.emit("connect_failed", conn=cid, peer=tls_peer, error=_error_text(e))
                    state["reason"] = "connect_failed"
                    return
                tls_peer = _fmt_addr(tls_w.get_extra_info("peername")) or tls_peer
                tls = TlsStream(self.ctx, tls_r, tls_w, server_side=False, server_hostname=self.server_name)
            local = _fmt_addr(tls.writer.get_extra_info("sockname"))
            try:
                await asyncio.wait_for(tls.handshake(), self.args.handshake_timeout)
            except Exception as e:
                self.events.emit("handshake_failed", conn=cid, peer=tls_peer, local=local, error=_error_text(e),
                                 ssl_reason=getattr(e, "reason", None))
                state["reason"] = "handshake_failed"
                return
            handshake_done = True
            self.events.emit("handshake_ok", conn=cid, peer=tls_peer, local=local, **_tls_details(tls.obj))
            if server_mode:
                try:
                    plain_r, plain_w = await asyncio.wait_for(
                        asyncio.open_connection(*self.connect), self.args.connect_timeout)
                except Exception as e:
                    self.events.emit("connect_failed", conn=cid, peer=self.args.connect, error=_error_text(e))
                    state["reason"] = "connect_failed"
                    return
            await self._relay(plain_r, plain_w, tls, state)
        finally:
            closers = [tls.close(notify=handshake_done)] if tls is not None else []
            for w in {writer, plain_w} - {None, tls.writer if tls is not None else None}:
                closers.append(_close_all(w))
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
                state["error"] = _error_text(error)
                state["ssl_reason"] = getattr(error, "reason", None) if isinstance(error, ssl.SSLError) else None
            else:
                state["error"] = error
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _close_all(*writers) -> None:
    writers = [w for w in writers if w is not None]
    for w in writers:
        with contextlib.suppress(Exception):
            w.close()
    for w in writers:
        try:
            await asyncio.wait_for(w.wait_closed(), CLOSE_TIMEOUT)
        except asyncio.CancelledError:
            w.transport.abort()
            raise
        except Exception:
            with contextlib.suppress(Exception):
                w.transport.abort()


def _quiet_exception_handler(loop, context) -> None:
    exc = context.get("exception")
    msg = context.get("message", "unhandled error")
    print(f"{PROG}: {msg}{': ' + _error_text(exc) if exc else ''}".replace("\n", " "), file=sys.stderr)


# ------------------------------------------------------------------------------------------------ CLI


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2 (argparse would print the usage block as well)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Plain-TCP <-> mutual-TLS relay for SIP (see module docstring).")
    p.add_argument("mode", choices=("client", "server"),
                   help="client: plain in, TLS out; server: TLS in (client cert required), plain out")
    p.add_argument("--listen", required=True, metavar="HOST:PORT", help="where to listen (port 0: any free port)")
    p.add_argument("--connect", required=True, metavar="HOST:PORT", help="where to connect for each connection")
    p.add_argument("--cert", required=True, help="our certificate (PEM; may hold the chain)")
    p.add_argument("--key", required=True, help="our private key (PEM)")
    p.add_argument("--ca", required=True, help="CA file the peer's certificate must chain to")
    p.add_argument("--server-name", metavar="NAME",
                   help="client mode: SNI and hostname to check (default: the --connect host)")
    p.add_argument("--source", metavar="IP", help="client mode: source address of the TLS connection")
    p.add_argument("--keylog", metavar="FILE", help="append NSS key log lines (for tshark -o tls.keylog_file:FILE)")
    p.add_argument("--min-version", choices=tuple(VERSIONS), default="1.2")
    p.add_argument("--max-version", choices=tuple(VERSIONS))
    p.add_argument("--ciphers", help="OpenSSL cipher string for TLS <= 1.2")
    p.add_argument("--events", metavar="FILE", help="append one JSON line per event")
    p.add_argument("--max-seconds", type=_positive, default=600.0, help="exit by itself after this (default 600)")
    p.add_argument("--handshake-timeout", type=_positive, default=10.0, help="seconds (default 10)")
    p.add_argument("--connect-timeout", type=_positive, default=10.0, help="seconds (default 10)")
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
                           max_version=args.max_version, ciphers=args.ciphers, keylog=args.keylog)
        events = _Events(args.events, args.mode)
    except EdgeUsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return asyncio.run(Edge(args, ctx, events).run())


if __name__ == "__main__":
    sys.exit(main())
