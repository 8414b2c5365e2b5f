"""Read a capture once into what the checks need: SIP messages (from the exact bytes tshark reassembled and decrypted)
and RTP packets, each with frame number, time, interface and addresses.

tshark does the hard network work (IP defragmentation, TCP reassembly, TLS decryption with a key log, several SIP
messages in one segment); sipqual parses the SIP bytes itself (:mod:`sipqual.sipmsg`), so repeated and compact
headers and parameters are handled one way everywhere. tshark runs as a child that is always reaped, also on
exceptions and KeyboardInterrupt.
"""

from __future__ import annotations

import json
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .errors import LabError
from .procs import require_tool
from .sipmsg import SipMessage, SipParseError, parse_message


@dataclass
class Packet:
    frame: int
    time: float
    interface: str | None
    src: str
    dst: str
    sport: int
    dport: int
    transport: str            # UDP | TCP | TLS


@dataclass
class SipPacket(Packet):
    msg: SipMessage = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"frame {self.frame} {self.src}:{self.sport} -> {self.dst}:{self.dport} {self.msg.summary()}"


@dataclass
class RtpPacket(Packet):
    ssrc: int = 0
    pt: int = 0
    seq: int = 0
    ts: int = 0
    marker: bool = False


@dataclass
class Trace:
    """Everything read from one capture."""

    path: Path
    sip: list[SipPacket] = field(default_factory=list)
    rtp: list[RtpPacket] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)   # reader problems: truncated file, unparseable message

    def requests(self, method: str | None = None) -> list[SipPacket]:
        return [p for p in self.sip if p.msg.is_request and (method is None or p.msg.method == method)]

    def responses(self, method: str | None = None) -> list[SipPacket]:
        return [p for p in self.sip
                if not p.msg.is_request and (method is None or p.msg.cseq_method == method)]


def tshark_args(keylog: Path | None, tls_ports: list[int], sip_tcp_ports: list[int]) -> list[str]:
    """Preferences and decode-as rules shared by every pass (and printed in reports so a human can re-run them)."""
    args = ["-n", "-o", "rtp.heuristic_rtp:TRUE", "-o", "tcp.desegment_tcp_streams:TRUE",
            "-o", "tls.desegment_ssl_records:TRUE", "-o", "tls.desegment_ssl_application_data:TRUE"]
    if keylog and Path(keylog).exists():
        args += ["-o", f"tls.keylog_file:{keylog}"]
    for port in sorted(set(tls_ports)):
        args += ["-d", f"tcp.port=={port},tls", "-d", f"tls.port=={port},sip"]
    for port in sorted(set(sip_tcp_ports) - set(tls_ports)):
        args += ["-d", f"tcp.port=={port},sip"]
    return args


@contextmanager
def _tshark(argv: list[str]) -> Iterator[subprocess.Popen]:
    """A tshark child with stdout piped; killed and reaped on every exit path."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - tshark ignoring SIGKILL is not a thing
            pass


def _first(v):
    return v[0] if isinstance(v, list) else v


def _addresses(layers: dict) -> tuple[str, str, int, int, str]:
    ip = layers.get("ip") or layers.get("ipv6") or {}
    src = _first(ip.get("ip_ip_src") or ip.get("ipv6_ipv6_src") or "")
    dst = _first(ip.get("ip_ip_dst") or ip.get("ipv6_ipv6_dst") or "")
    if "tcp" in layers:
        t = layers["tcp"]
        sport, dport = int(_first(t.get("tcp_tcp_srcport", 0))), int(_first(t.get("tcp_tcp_dstport", 0)))
        transport = "TLS" if "tls" in layers else "TCP"
    else:
        u = layers.get("udp", {})
        sport, dport = int(_first(u.get("udp_udp_srcport", 0))), int(_first(u.get("udp_udp_dstport", 0)))
        transport = "UDP"
    return src, dst, sport, dport, transport


def read_sip(path: Path, args: list[str], trace: Trace) -> None:
    argv = [require_tool("tshark"), "-r", str(path), *args, "-Y", "sip && !icmp", "-T", "ek", "-x",
            "-J", "frame ip ipv6 tcp udp tls sip"]
    with _tshark(argv) as proc:
        for line in proc.stdout:
            if not line.startswith(b'{"timestamp"'):
                continue
            layers = json.loads(line)["layers"]
            fr = layers.get("frame", {})
            number = int(fr.get("frame_frame_number", 0))
            when = float(fr.get("frame_frame_time_epoch", 0))
            iface = fr.get("frame_frame_interface_name")
            src, dst, sport, dport, transport = _addresses(layers)
            raws = layers.get("sip_raw")
            for raw in raws if isinstance(raws, list) else [raws]:
                if not raw:
                    continue
                try:
                    msg = parse_message(bytes.fromhex(raw))
                except (SipParseError, ValueError) as e:
                    trace.findings.append(f"frame {number}: unparseable SIP message: {e}")
                    continue
                trace.sip.append(SipPacket(number, when, iface, src, dst, sport, dport, transport, msg))
        proc.wait(timeout=120)
        err = proc.stderr.read().decode(errors="replace")
    _note_tshark_errors(trace, err)


def read_rtp(path: Path, args: list[str], trace: Trace) -> None:
    fields = ["frame.number", "frame.time_epoch", "frame.interface_name", "ip.src", "ip.dst", "udp.srcport",
              "udp.dstport", "rtp.ssrc", "rtp.p_type", "rtp.seq", "rtp.timestamp", "rtp.marker"]
    argv = [require_tool("tshark"), "-r", str(path), *args, "-Y", "rtp && !rtcp && !icmp", "-T", "fields",
            "-E", "separator=\t", "-E", "occurrence=f"]
    for f in fields:
        argv += ["-e", f]
    with _tshark(argv) as proc:
        for line in proc.stdout:
            c = line.decode(errors="replace").rstrip("\n").split("\t")
            if len(c) < len(fields) or not c[7]:
                continue
            trace.rtp.append(RtpPacket(int(c[0]), float(c[1]), c[2] or None, c[3], c[4], int(c[5]), int(c[6]),
                                       "UDP", ssrc=int(c[7], 16) if c[7].startswith("0x") else int(c[7]),
                                       pt=int(c[8]), seq=int(c[9]), ts=int(c[10]),
                                       marker=c[11] in ("1", "True")))
        proc.wait(timeout=120)
        err = proc.stderr.read().decode(errors="replace")
    _note_tshark_errors(trace, err)


def _note_tshark_errors(trace: Trace, stderr: str) -> None:
    for line in stderr.splitlines():
        line = line.strip()
        if not line or "Running as user" in line or "dangerous" in line:
            continue
        if "appears to have been cut short" in line or "truncated" in line.lower():
            trace.findings.append(f"capture truncated: {line}")
        else:
            trace.findings.append(f"tshark: {line}")


def read_trace(path: str | Path, keylog: Path | None = None, tls_ports: list[int] = (),
               sip_tcp_ports: list[int] = ()) -> Trace:
    """Read SIP and RTP from a pcap/pcapng. Raises :class:`LabError` only when the file cannot be read at all."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise LabError(f"capture {path} is missing or empty")
    trace = Trace(path)
    args = tshark_args(keylog, list(tls_ports), list(sip_tcp_ports))
    read_sip(path, args, trace)
    read_rtp(path, args, trace)
    trace.sip.sort(key=lambda p: (p.time, p.frame))  # pcapng from several interfaces is not in time order
    trace.rtp.sort(key=lambda p: (p.time, p.frame))
    return trace
