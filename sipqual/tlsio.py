"""What the TLS edge (:mod:`sipqual.tlsedge`) and the Mediation front (:mod:`sipqual.msfront`) share: the mutual-TLS
context, TLS over asyncio streams (with the alert on a failed handshake), the events file both write (format in
:mod:`sipqual.tlsedge`, read by :mod:`sipqual.tlsfindings`), and the small helpers around them."""

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
            raise EdgeExited(f"process {proc.pid} exited with code {proc.returncode} "
                             f"before writing a {event!r} event to {events_file}")
        now = time.monotonic()
        if now >= deadline:
            raise TimeoutError(f"no {event!r} event in {events_file} within {timeout:g} s")
        time.sleep(min(interval, deadline - now))
        interval = min(interval * 2, 0.05)


def wait_listening(events_file: Path, timeout: float, *, pid: int | None = None,
                   proc: subprocess.Popen | None = None) -> dict:
    """Wait until the edge reports that it listens; returns that event (``ev["listen"]`` is the real address)."""
    return wait_event(events_file, "listening", timeout, pid=pid, proc=proc)


# ------------------------------------------------------------------------------------------------ helpers


def fmt_addr(addr) -> str | None:
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


def error_text(exc: BaseException) -> str:
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


def tls_details(sslobj: ssl.SSLObject) -> dict:
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


def own_cert(path: str) -> dict:
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


def wrap_client(raw, *, cert: str, key: str, ca: str, server_name: str, keylog: str | None = None):
    """``raw`` (a connected TCP socket) as the Mediation side's TLS client: TLS 1.2 or later, our certificate, the
    DUT's checked against the lab CA and ``server_name``, session keys to ``keylog`` (the capture decrypts with it).
    For the helpers that write raw SIP (sipqual.framer, sipqual.rawsip)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    if keylog:
        ctx.keylog_filename = keylog
    return ctx.wrap_socket(raw, server_hostname=server_name)


def make_context(mode: str, *, cert: str, key: str, ca: str, min_version: str = "1.2",
                 max_version: str | None = None, ciphers: str | None = None, keylog: str | None = None,
                 present_cert: bool = True) -> ssl.SSLContext:
    """The SSLContext of one edge; raises :class:`EdgeUsageError` (one line) for anything the user must fix.
    ``present_cert=False`` (client mode only): offer no certificate even when the server asks for one."""
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
        if present_cert or mode != "client":
            ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as e:
        raise EdgeUsageError(f"cannot load --cert {cert} with --key {key}: {error_text(e)}") from None
    try:
        ctx.load_verify_locations(cafile=ca)
    except (ssl.SSLError, OSError, ValueError) as e:
        raise EdgeUsageError(f"cannot load --ca {ca}: {error_text(e)}") from None
    if keylog:
        try:
            ctx.keylog_filename = keylog  # opened in append mode by the ssl module
        except OSError as e:
            raise EdgeUsageError(f"cannot open --keylog {keylog}: {e.strerror or e}") from None
    return ctx


class Events:
    def __init__(self, path: str | None, mode: str, prog: str = "tlsedge"):
        self.mode, self.prog = mode, prog
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
            print(f"{self.prog}: cannot write event: {e.strerror or e}", file=sys.stderr)


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
        await close_all(self.writer)



async def close_all(*writers) -> None:
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


def quiet_exception_handler(loop, context, prog: str = "tlsedge") -> None:
    exc = context.get("exception")
    msg = context.get("message", "unhandled error")
    print(f"{prog}: {msg}{': ' + error_text(exc) if exc else ''}".replace("\n", " "), file=sys.stderr)


def arm_stop(loop, request_stop, max_seconds: float, prog: str) -> None:
    """How a relay process (TLS edge, Mediation front) stops: SIGTERM, SIGINT or its --max-seconds deadline call
    ``request_stop(reason)``; asyncio's own errors become one line on stderr."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)
    loop.call_later(max_seconds, request_stop, "max_seconds")
    loop.set_exception_handler(lambda lp, c: quiet_exception_handler(lp, c, prog))


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2 (argparse would print the usage block as well)
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return v


