"""TLS record accounting for the capture reader: which TLS connections carried application data that could not be
decrypted, and why. A leg that was not decrypted is a leg nobody judged, so it must never read as "the rules held".

The reader (:mod:`sipqual.trace`) hands every TLS frame tshark dissected to :meth:`TlsAccount.frame`: the raw
records (parsed here: ClientHello random, ServerHello version and cipher suite, plaintext alerts), the content type
tshark found after decryption (TLS 1.3 hides it in the record), and how many SIP messages the frame yielded. A
connection with application-data records and no SIP message is "not decrypted"; :meth:`TlsAccount.undecrypted`
says why: no key log given, the key log holds no secret for that connection's client random, RSA key exchange
without the server's private key (``--tls-key``), or the handshake is not in the capture.

Key logs are NSS key log files (what ``SSLKEYLOGFILE`` and Wireshark's ``tls.keylog_file`` use);
:func:`keylog_randoms` reads one and refuses anything else in one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

# NSS key log labels (TLS 1.2: CLIENT_RANDOM, RSA; TLS 1.3: the traffic secrets)
_KEYLOG_LINE = re.compile(r"(CLIENT_RANDOM|CLIENT_EARLY_TRAFFIC_SECRET|CLIENT_HANDSHAKE_TRAFFIC_SECRET|"
                          r"SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|"
                          r"EARLY_EXPORTER_SECRET|EXPORTER_SECRET|RSA) ([0-9A-Fa-f]+) ([0-9A-Fa-f]+)")

ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
          42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
          46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied",
          50: "decode_error", 51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
          80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension",
          110: "unsupported_extension", 112: "unrecognized_name", 113: "bad_certificate_status_response",
          115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol"}
# alerts by which a peer refuses the certificate it was shown (RFC 8446 section 6.2)
CERT_REFUSALS = {"bad_certificate", "unsupported_certificate", "certificate_revoked", "certificate_expired",
                 "certificate_unknown", "unknown_ca", "access_denied", "handshake_failure", "decrypt_error"}
VERSIONS = {0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}


# TLS <= 1.2 suites whose premaster secret travels encrypted with the server's RSA key (TLS_RSA_WITH_*, IANA registry)
RSA_SUITES = frozenset([*range(0x0001, 0x000B), 0x002F, 0x0035, 0x003B, 0x003C, 0x003D, 0x0041, 0x0084, 0x0096,
                        0x009C, 0x009D, 0x00BA, 0x00C0, 0xC09C, 0xC09D, 0xC0A0, 0xC0A1])


def rsa_key_exchange(suite: int) -> bool:
    """Decrypting a connection with this suite needs the server's private key or a key log."""
    return suite in RSA_SUITES


def keylog_randoms(path: str | Path) -> set[str]:
    """The client randoms (lower-case hex) an NSS key log holds secrets for. A missing or empty file, or one with
    no key log line, is a :class:`UsageError` (one line); comment lines (``#``) and blank lines are skipped."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        raise UsageError(f"key log {path} does not exist") from None
    except OSError as e:
        raise UsageError(f"cannot read key log {path}: {e.strerror or e}") from None
    if not text.strip():
        raise UsageError(f"key log {path} is empty")
    randoms, other = set(), 0
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _KEYLOG_LINE.fullmatch(line)
        if m:
            randoms.add(m.group(2).lower())
        else:
            other += 1
    if not randoms:
        raise UsageError(f"{path} is not an NSS key log (no CLIENT_RANDOM or TLS 1.3 secret line; "
                         f"{other} other line(s))")
    return randoms


@dataclass
class TlsConn:
    """One TCP connection that carried TLS records, as the reader saw it."""

    client: str = ""             # ip:port (the ClientHello's sender; else the side of the first record)
    server: str = ""
    first_frame: int = 0
    client_random: str = ""
    version: str = ""
    cipher: int | None = None
    app_records: int = 0         # application-data records (opaque type 23), decrypted or not
    app_frames: list[int] = field(default_factory=list)
    sip: int = 0                 # SIP messages read from this connection
    alerts: list[tuple[int, str, str]] = field(default_factory=list)   # (frame, sender ip:port, description)

    @property
    def server_port(self) -> int:
        return int(self.server.rsplit(":", 1)[1]) if self.server else 0


class TlsAccount:
    """Per TCP connection: records, handshake facts and SIP messages. Keys are the sorted endpoint pair."""

    def __init__(self):
        self.conns: dict[tuple[str, str], TlsConn] = {}

    def frame(self, number: int, src: str, dst: str, records: list[bytes], inner_types: list[int],
              alert_descs: list[int], sip_messages: int) -> None:
        """One frame's TLS records (raw, as on the wire), the content types tshark knows for them (after
        decryption; an undecrypted TLS 1.3 record has none), the alert descriptions it decrypted, and the number
        of SIP messages read from the frame."""
        key = tuple(sorted((src, dst)))
        c = self.conns.get(key)
        if c is None:
            c = self.conns[key] = TlsConn(client=src, server=dst, first_frame=number)
        c.sip += sip_messages
        outer = [r[0] for r in records if len(r) >= 5]
        # every record's real type when tshark knew them all (TLS 1.2, or TLS 1.3 decrypted), else the outer ones
        app = inner_types.count(23) if len(inner_types) == len(outer) else outer.count(23)
        if app:
            c.app_records += app
            if len(c.app_frames) < 3:
                c.app_frames.append(number)
        for rec in records:
            kind, body = rec[0], rec[5:]
            if kind == 22 and len(body) >= 38 and body[0] == 1:          # ClientHello
                c.client, c.server, c.client_random = src, dst, body[6:38].hex()
            elif kind == 22 and len(body) >= 39 and body[0] == 2:        # ServerHello
                c.server, c.client = src, dst
                at = 39 + body[38]                                       # after the session id
                if len(body) >= at + 2:
                    c.cipher = int.from_bytes(body[at:at + 2], "big")
                c.version = VERSIONS.get(int.from_bytes(body[4:6], "big"), "")
                if b"\x00\x2b\x00\x02\x03\x04" in body[at + 3:]:          # supported_versions: TLS 1.3
                    c.version = "TLS 1.3"
            elif kind == 21 and len(body) == 2:                          # plaintext alert
                c.alerts.append((number, src, ALERTS.get(body[1], f"alert {body[1]}")))
            elif kind == 21 and not alert_descs:
                c.alerts.append((number, src, "encrypted alert"))
        for desc in alert_descs:                                         # alerts tshark decrypted
            alert = (number, src, ALERTS.get(desc, f"alert {desc}"))
            if alert not in c.alerts:
                c.alerts.append(alert)

    def undecrypted(self, keylog_randoms: set[str] | None, tls_key: bool,
                    sip_ports=None) -> list[tuple[TlsConn, str]]:
        """Connections with application data but no SIP read from them, each with why it was not decrypted. With
        ``sip_ports`` only connections to those server ports count (TLS to a web server is no SIP leg)."""
        out = []
        for c in sorted(self.conns.values(), key=lambda c: c.first_frame):
            if not c.app_records or c.sip or sip_ports is not None and c.server_port not in sip_ports:
                continue
            rsa = c.cipher is not None and rsa_key_exchange(c.cipher)
            if not c.client_random:
                why = "the capture does not hold its handshake (ClientHello), so no key can be matched"
            elif keylog_randoms is not None and c.client_random in keylog_randoms:
                why = "the key log has its client random, yet nothing decrypted: not SIP, or records missing"
            elif rsa and not tls_key:
                why = (f"RSA key exchange (cipher suite 0x{c.cipher:04X}) and no server private key "
                       f"(--tls-key){'; the key log has no secret for it' if keylog_randoms is not None else ''}")
            elif rsa:
                why = f"RSA key exchange (cipher suite 0x{c.cipher:04X}): the --tls-key given does not decrypt it"
            elif keylog_randoms is None:
                why = "no key log given (--keylog)"
            else:
                why = f"the key log matches no client random of this connection ({c.client_random[:16]}...)"
            out.append((c, why))
        return out


def describe(undecrypted: list[tuple[TlsConn, str]]) -> list[str]:
    """One line per connection that was not decrypted."""
    return [f"TLS not decrypted: {c.app_records} encrypted record(s) {c.client} -> {c.server} "
            f"(port {c.server_port}{', ' + c.version if c.version else ''}, from frame {c.first_frame}): {why}"
            for c, why in undecrypted]
