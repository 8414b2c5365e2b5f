"""Real TLS handshakes written as a capture, for tests: Python's ``ssl`` runs client and server over memory BIOs (no
socket, no network) and every flight becomes a TCP segment in a pcapng, with the client's NSS key log beside it.

Not a committed fixture (the keys differ each time): tests build what they need in ``tmp_path``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter

T0 = 1_700_000_000.0
MS, DUT = "192.0.2.10", "192.0.2.1"


@dataclass
class Side:
    ip: str
    port: int
    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None          # verify the peer against this (server: client certificate required)


@dataclass
class Wire:
    """The outcome: where the capture and key log are, and whether/how the handshake failed on each side."""

    pcap: Path
    keylog: Path
    client_error: str | None = None
    server_error: str | None = None
    frames: list[tuple[str, int]] = field(default_factory=list)   # (sender ip, payload length) per frame


def _ctx(side: Side, server: bool, version: str, ciphers: str | None, keylog: Path | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    if side.cert:
        ctx.load_cert_chain(side.cert, side.key)
    if side.ca:
        ctx.load_verify_locations(side.ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if keylog:
        ctx.keylog_filename = str(keylog)
    return ctx


def tls_capture(out: Path, client: Side, server: Side, *, version: str = "1.3", ciphers: str | None = None,
                messages: list[tuple[str, bytes]] = (), silent: bool = False, close: str | None = None) -> Wire:
    """Handshake, then each (``"client"``|``"server"``, bytes) message as application data, then a FIN from
    ``close`` if given; stops at the first handshake failure: the side that failed sends its alert (``silent``: no
    alert) and closes (FIN)."""
    out.mkdir(parents=True, exist_ok=True)
    wire = Wire(out / "tls.pcapng", out / "tls-keys.log")
    wire.keylog.write_text("")
    cbio, sbio = (ssl.MemoryBIO(), ssl.MemoryBIO()), (ssl.MemoryBIO(), ssl.MemoryBIO())
    cobj = _ctx(client, False, version, ciphers, wire.keylog).wrap_bio(*cbio, server_hostname="peer.lab.example")
    sobj = _ctx(server, True, version, ciphers, None).wrap_bio(*sbio, server_side=True)
    seq = {client.ip: 1000, server.ip: 5000}
    packets, t = [], [T0]

    def send(src: Side, dst: Side, data: bytes, flags: str = "PA") -> None:
        for i in range(0, max(len(data), 1 if flags != "PA" else 0), 1400):
            chunk = data[i:i + 1400]
            t[0] += 0.001
            p = (Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src.ip, dst=dst.ip, id=0) /
                 TCP(sport=src.port, dport=dst.port, flags=flags, seq=seq[src.ip], ack=1, window=65535) / chunk)
            p.time = round(t[0], 6)
            packets.append(p)
            wire.frames.append((src.ip, len(chunk)))
            seq[src.ip] += len(chunk) + (1 if "F" in flags else 0)

    def pump(drop: str = "") -> None:
        data = cbio[1].read()
        if drop != "client":
            send(client, server, data)
            sbio[0].write(data)
        data = sbio[1].read()
        if drop != "server":
            send(server, client, data)
            cbio[0].write(data)

    def refuse(who: str) -> None:
        """The side that failed: its alert (unless silent), then its FIN."""
        pump(who if silent else "")
        src, dst = (server, client) if who == "server" else (client, server)
        send(src, dst, b"", "FA")

    done = {"c": False, "s": False}
    for _ in range(10):                      # a handshake takes 2-3 round trips
        for name, obj, err in (("c", cobj, "client_error"), ("s", sobj, "server_error")):
            if done[name] or getattr(wire, err):
                continue
            try:
                obj.do_handshake()
                done[name] = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                setattr(wire, err, e.reason or str(e))
                refuse("client" if name == "c" else "server")
                break
            pump()
        if wire.client_error or wire.server_error or all(done.values()):
            break
    if not (wire.client_error or wire.server_error):
        for who, data in messages:
            src = cobj if who == "client" else sobj
            dst = sobj if who == "client" else cobj
            src.write(data)
            pump()
            try:
                dst.read(65536)
            except ssl.SSLError as e:        # e.g. TLS 1.3: the server's alert after our certificate
                setattr(wire, "server_error" if who == "client" else "client_error", e.reason or str(e))
                refuse("server" if who == "client" else "client")
                break
    if close and not (wire.client_error or wire.server_error):
        send(*((client, server) if close == "client" else (server, client)), b"", "FA")
    with PcapNgWriter(str(wire.pcap)) as w:
        for p in packets:
            w.write(p)
    return wire


def options_pair(client_ip: str, server_ip: str, client_port: int = 40001) -> list[tuple[str, bytes]]:
    """An OPTIONS from the TLS client and the server's 200, both well formed (no rule of the library objects)."""
    via = f"Via: SIP/2.0/TLS {client_ip}:{client_port};branch=z9hG4bK-tls-1"
    common = [via, "From: <sip:ping@mspool.lab.example>;tag=f1", "To: <sip:sbc.lab.example>",
              f"Call-ID: tlswire-1@{client_ip}", "CSeq: 1 OPTIONS"]
    req = "\r\n".join([f"OPTIONS sip:{server_ip}:5061;transport=tls SIP/2.0", common[0], "Max-Forwards: 70",
                       *common[1:], "Content-Length: 0", "", ""])
    resp = "\r\n".join(["SIP/2.0 200 OK", common[0], common[1], common[2] + ";tag=t1", *common[3:],
                        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS", "Accept: application/sdp",
                        "Accept-Encoding: identity", "Accept-Language: en", "Supported: replaces", "Content-Length: 0", "", ""])
    return [("client", req.encode()), ("server", resp.encode())]
