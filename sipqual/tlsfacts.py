"""TLS facts from a capture: per TLS connection the version, the cipher suite and the certificates each side
presented (decrypted with the key log where TLS 1.3 hides them), read with pyshark.

pyshark is the right front here and only here: a handful of handshake packets matter, so its per-packet cost is
nothing, while its field objects give the repeated certificate fields without hand-parsing tshark output. The SIP
and RTP reader (:mod:`sipqual.trace`) drives tshark directly because pyshark is several times slower on whole
captures (README "Capture analysis speed").

The tshark that pyshark starts is always closed in ``finally``, so no process outlives a call, also on exceptions
and KeyboardInterrupt. pyshark runs its own event loop: call this from synchronous code (inside an asyncio program,
use ``loop.run_in_executor``).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabError
from .pki import PkiError, cert_info
from .procs import require_tool
from .tlsrecords import ALERTS

# ClientHello, ServerHello, Certificate, alerts, and the TCP closes (FIN/RST): whether a peer closed right after
# the other side's certificate without a byte
HANDSHAKE_FILTER = ("tls.handshake.type == 1 || tls.handshake.type == 2 || tls.handshake.type == 11 || "
                    "tls.handshake.type == 13 || "
                    "tls.alert_message || tcp.flags.fin == 1 || tcp.flags.reset == 1")
SILENT_CLOSE_S = 2.0   # "right after": the close follows the peer's certificate within this many seconds


@dataclass
class TlsConnection:
    stream: int
    client: str = ""                 # ip:port
    server: str = ""
    version: str = ""                # e.g. "TLS 1.3"
    cipher: str = ""
    server_certs: list[dict] = field(default_factory=list)   # cert_info() of each certificate, leaf first
    client_certs: list[dict] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    cert_requested: bool = False     # the server sent CertificateRequest (TLS 1.3: seen only when decrypted)
    alerts: list[tuple[int, str, str]] = field(default_factory=list)  # (frame, sender ip:port, description)
    # (frame, sender ip:port): the sender closed (FIN/RST) first, within SILENT_CLOSE_S of the other side's
    # certificate, having sent no byte since its own last handshake message
    silent_closes: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        def leaf(certs):
            return certs[0]["subject"] if certs else "none seen"
        return (f"{self.client} -> {self.server}: {self.version or '?'} {self.cipher or '?'}; server certificate "
                f"{leaf(self.server_certs)}; client certificate {leaf(self.client_certs)}")


def _values(layer, name: str) -> list[str]:
    f = layer.get_field(name)
    if f is None:
        return []
    return [x.showname_value or x.show for x in f.all_fields]


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true")


_CERT_INFO: dict[bytes, dict | None] = {}   # DER -> cert_info (None: openssl could not read it); same certs every case


def _cert_info_of(der: bytes, tmp: str, i: int) -> dict | None:
    """:func:`~sipqual.pki.cert_info` of a DER certificate; asked once per process for each certificate (an openssl
    run per certificate and case was a third of a second of every TLS case)."""
    if der not in _CERT_INFO:
        pem = Path(tmp) / f"{i}.pem"
        pem.write_text(ssl.DER_cert_to_PEM_cert(der))
        try:
            info = cert_info(pem)
            info.pop("path", None)
        except PkiError:
            info = None
        _CERT_INFO[der] = info
    info = _CERT_INFO[der]
    return dict(info, san=list(info["san"]), san_dns=list(info["san_dns"]), san_ip=list(info["san_ip"])) \
        if info is not None else None


def _certs(layer) -> list[dict]:
    f = layer.get_field("handshake_certificate")
    if f is None:
        return []
    out = []
    with tempfile.TemporaryDirectory(prefix="sipqual-cert-") as tmp:
        for i, x in enumerate(f.all_fields):
            raw = (x.raw_value or "").replace(":", "")
            if not raw:
                continue
            info = _cert_info_of(bytes.fromhex(raw), tmp, i)
            if info is not None:
                out.append(info)
    return out


@functools.lru_cache(maxsize=1)
def _tshark_version():
    from pyshark.tshark.tshark import get_tshark_version

    return get_tshark_version()


def read_tls_facts(capture: str | Path, keylog: str | Path | None = None, tls_ports=()) -> list[TlsConnection]:
    """One :class:`TlsConnection` per TCP stream that carried a TLS handshake."""
    import pyshark
    from pyshark.capture.capture import TSharkCrashException

    require_tool("tshark")
    capture = Path(capture)
    if not capture.exists():
        raise LabError(f"capture {capture} does not exist")
    prefs = {"tls.keylog_file": str(keylog)} if keylog and Path(keylog).exists() else {}
    decode_as = {f"tcp.port=={p}": "tls" for p in sorted(set(tls_ports))}
    conns: dict[int, TlsConnection] = {}
    # our own loop: pyshark would otherwise take the thread's current one, which asyncio.run() leaves unset
    loop = asyncio.new_event_loop()
    try:
        cap = pyshark.FileCapture(str(capture), display_filter=HANDSHAKE_FILTER, override_prefs=prefs,
                                  decode_as=decode_as or None, keep_packets=False, eventloop=loop)
        try:  # pyshark runs `tshark -v` for every capture it opens (0.1-0.4 s): once per process is enough
            cap._Capture__tshark_version = _tshark_version()
        except Exception:  # noqa: BLE001 - private to pyshark: if it moved, pyshark asks tshark itself
            pass
    except BaseException:
        loop.close()
        raise
    read_to_end = False
    sent: dict[tuple[int, str], int] = {}          # (stream, sender) -> TCP sequence after its last handshake frame
    cert_time: dict[tuple[int, str], float] = {}   # (stream, sender) -> when it presented its certificate
    closed: set[int] = set()
    try:
        for pkt in cap:
            if "tcp" not in pkt or "ip" not in pkt and "ipv6" not in pkt:
                continue
            ip = pkt.ip if "ip" in pkt else pkt.ipv6
            src, dst = f"{ip.src}:{pkt.tcp.srcport}", f"{ip.dst}:{pkt.tcp.dstport}"
            stream, t = int(pkt.tcp.stream), float(pkt.sniff_timestamp)
            if _flag(pkt.tcp.flags_fin) or _flag(pkt.tcp.flags_reset):
                if stream not in closed and stream in conns:
                    closed.add(stream)
                    peer_cert = cert_time.get((stream, dst))
                    if (sent.get((stream, src)) == int(pkt.tcp.seq) and peer_cert is not None
                            and 0 <= t - peer_cert <= SILENT_CLOSE_S):
                        conns[stream].silent_closes.append((int(pkt.number), src))
                if "tls" not in pkt:
                    continue
            if "tls" not in pkt:
                continue
            c = conns.setdefault(stream, TlsConnection(stream))
            c.frames.append(int(pkt.number))
            sent[(stream, src)] = int(pkt.tcp.nxtseq)
            for layer in pkt.get_multiple_layers("tls"):
                for desc in layer.get_field("alert_message_desc").all_fields if layer.get_field(
                        "alert_message_desc") is not None else []:
                    name = ALERTS.get(int(desc.show), f"alert {desc.show}") if str(desc.show).isdigit() else desc.show
                    c.alerts.append((int(pkt.number), src, name))
                types = _values(layer, "handshake_type")
                if any(x.startswith("Server Hello (") for x in types):   # not "Server Hello Done (14)"
                    c.server, c.client = src, dst
                    versions = _values(layer, "handshake_extensions_supported_version")
                    c.version = (versions[0] if versions else (_values(layer, "handshake_version") or [""])[0])
                    c.version = c.version.split(" (")[0]
                    c.cipher = (_values(layer, "handshake_ciphersuite") or [""])[0].split(" (")[0]
                if any(x.startswith("Client Hello (") for x in types) and not c.server:
                    c.client, c.server = src, dst
                if any(x.startswith("Certificate Request (") for x in types):
                    c.cert_requested = True
                if any(x.startswith("Certificate (") for x in types):
                    cert_time[(stream, src)] = t
                    certs = _certs(layer)
                    is_server = (c.server == src) if c.server else not c.client_certs
                    (c.server_certs if is_server else c.client_certs).extend(certs)
        read_to_end = True
    finally:
        try:
            cap.close()
        except TSharkCrashException:
            # pyshark judges tshark by its exit status when closing, also after the whole output was read; seen
            # intermittently (status 255, nothing on stderr) with complete output. Only a read that did not reach
            # the end is a failure. The process has exited either way; forget it so pyshark's __del__ does not try
            # to close it again on a closed loop.
            cap._running_processes.clear()
            if not read_to_end:
                raise
        finally:
            loop.close()
    return sorted((c for c in conns.values() if c.server), key=lambda c: c.frames[0] if c.frames else 0)
