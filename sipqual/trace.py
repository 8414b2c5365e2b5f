"""Read a capture once into what the checks need: SIP messages (from the exact bytes tshark reassembled and decrypted)
and the media model (RTP streams, RTCP flows, RFC 4733 events), each tied to frame numbers.

One pass over the file, two workers at once: Python reads the pcap/pcapng itself (:mod:`sipqual.pcapread`) and
feeds every UDP datagram to the media model (:mod:`sipqual.rtp`); everything that is not RTP/RTCP is forwarded,
block by block, to one tshark reading from a pipe, which does the hard network work for SIP (IP defragmentation,
TCP reassembly, TLS decryption with a key log, several SIP messages in one segment) and returns the SIP bytes in EK
output. RTP is most of a call capture and the most expensive thing for tshark to dissect, so it never reaches it;
the total is about the larger of the two workers, not their sum (figures in README, "Capture analysis speed").
sipqual parses the SIP bytes itself (:mod:`sipqual.sipmsg`), so repeated and compact headers and parameters are
handled one way everywhere. tshark runs as a child that is always killed and reaped, also on exceptions and
KeyboardInterrupt; nothing here assumes or creates an event loop.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import tempfile
import threading
from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import LabError
from .pcapread import Truncated, is_pcap_or_pcapng, read_blocks, udp_datagram, unbounded_section
from .procs import require_tool
from .rtp import MediaModel, RtpStream
from .sdp import Sdp, parse_sdp
from .sipmsg import SipMessage, SipParseError, parse_message
from .tlsrecords import TlsAccount

PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
FORWARD_BUFFER = 1 << 20        # bytes gathered before one write to tshark's stdin
READ_CHUNK = 1 << 22            # bytes of tshark output per read
TSHARK_EXIT_S = 60              # after its last output line tshark only has to exit
# EK output limited to what the reader uses: frame number/time/interface (the name is a child of the interface id),
# the SIP layer with its bytes (``-x``); the IP and transport headers come along as raw bytes, parsed here
EK_FIELDS = ("frame frame.number frame.time_epoch frame.interface_id frame.interface_name sip "
             "tls tls.record tls.record.content_type tls.alert_message tls.alert_message.desc")
DISPLAY_FILTER = "(sip || tls) && !icmp"  # TLS frames too, for the decryption accounting (sipqual.tlsrecords)
UNNAMED = "unknown"             # tshark's interface name where the capture names none (pcap, pcapng without if_name)


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
class Trace:
    """Everything read from one capture."""

    path: Path
    sip: list[SipPacket] = field(default_factory=list)
    media: MediaModel = field(default_factory=MediaModel)
    findings: list[str] = field(default_factory=list)   # reader problems: truncated file, unparseable message
    tls: TlsAccount = field(default_factory=TlsAccount)  # TLS connections: records, handshakes, SIP read from them
    truncated: bool = False                              # the file ends inside a packet or block

    @property
    def rtp(self) -> list[RtpStream]:
        """RTP streams (one per direction and SSRC) in order of their first packet."""
        return self.media.rtp_streams

    def requests(self, method: str | None = None) -> list[SipPacket]:
        return [p for p in self.sip if p.msg.is_request and (method is None or p.msg.method == method)]

    def responses(self, method: str | None = None) -> list[SipPacket]:
        return [p for p in self.sip
                if not p.msg.is_request and (method is None or p.msg.cseq_method == method)]

    def sdp_bodies(self) -> Iterator[tuple[int, float, Sdp]]:
        """(frame, time, parsed SDP) of every SIP message carrying SDP (alone or in a multipart body), in time
        order."""
        from .dialogs import sdp_body   # dialogs builds on this module; imported here to keep that one-way

        for p in self.sip:
            body = sdp_body(p.msg)
            if body is not None:
                yield p.frame, p.time, parse_sdp(body)


def tshark_args(keylog: Path | None, tls_ports: list[int], sip_tcp_ports: list[int],
                tls_key: Path | None = None) -> list[str]:
    """Preferences and decode-as rules shared by every pass (and printed in reports so a human can re-run them).
    ``tls_key`` is a server's RSA private key (PEM) for captures of RSA key exchange: Wireshark's RSA keys list
    (``tls.keys_list``), given for every address and port."""
    args = ["-n", "-o", "rtp.heuristic_rtp:TRUE", "-o", "tcp.desegment_tcp_streams:TRUE",
            "-o", "tls.desegment_ssl_records:TRUE", "-o", "tls.desegment_ssl_application_data:TRUE"]
    if keylog:   # tshark reads it when it first decrypts (a SipReader started before the file exists gets it too)
        args += ["-o", f"tls.keylog_file:{keylog}"]
    if tls_key:
        args += ["-o", f'uat:rsa_keys:"{Path(tls_key).absolute()}",""']
    for port in sorted(set(tls_ports)):
        args += ["-d", f"tcp.port=={port},tls", "-d", f"tls.port=={port},sip"]
    for port in sorted(set(sip_tcp_ports) - set(tls_ports)):
        args += ["-d", f"tcp.port=={port},sip"]
    return args


class SipReader:
    """The tshark of the SIP pass, started ahead of need: its start-up (about 0.3 s of loading dissectors, most of
    the pass on a short case) overlaps the case, and it then waits for the capture on its stdin. Started at nice
    ``nice`` so it never takes the CPU from a DUT or agent. :func:`read_trace` uses it when its arguments are the
    ones the pass needs; :meth:`close` kills and reaps it on every other path."""

    def __init__(self, args: list[str], nice: int = 0):
        self.args = list(args)
        self.err = tempfile.TemporaryFile()
        argv = [require_tool("tshark"), "-r", "-", *args, "-Y", DISPLAY_FILTER, "-T", "ek", "-x", "-j", EK_FIELDS]
        if nice:
            argv = [require_tool("nice"), "-n", str(nice), *argv]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def close(self) -> None:
        proc = self.proc
        if proc.poll() is None:
            proc.kill()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:          # a write still buffered towards a killed tshark
                pass
        proc.wait()
        self.err.close()


def _hex_bytes(v) -> bytes:
    """The last occurrence of an EK ``*_raw`` field as bytes (tunnelled packets list the outer header first)."""
    return bytes.fromhex(v[-1] if isinstance(v, list) else v)


def _addresses(layers: dict) -> tuple[str, str, int, int, str]:
    """Addresses and transport of a SIP frame, parsed from the raw IP and TCP/UDP headers tshark sent along."""
    src = dst = ""
    if "ipv6_raw" in layers:
        ip = _hex_bytes(layers["ipv6_raw"])
        src, dst = str(ipaddress.IPv6Address(ip[8:24])), str(ipaddress.IPv6Address(ip[24:40]))
    elif "ip_raw" in layers:
        ip = _hex_bytes(layers["ip_raw"])
        src, dst = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
    raw = layers.get("tcp_raw") or layers.get("udp_raw")
    ports = _hex_bytes(raw) if raw else b"\0\0\0\0"
    transport = ("TLS" if "tls" in layers else "TCP") if "tcp_raw" in layers else "UDP"
    return src, dst, int.from_bytes(ports[0:2], "big"), int.from_bytes(ports[2:4], "big"), transport


class _SipReader(threading.Thread):
    """Reads tshark's EK lines while the main thread is still feeding it packets (a full stdout pipe would otherwise
    stall tshark, then its stdin, then us). ``frames`` maps tshark's frame numbers (1..n over the forwarded packets)
    back to the capture's own frame numbers."""

    def __init__(self, proc: subprocess.Popen, frames: array, trace: Trace):
        super().__init__(name="sipqual-tshark-reader", daemon=True)
        self.proc, self.stdout, self.frames, self.trace = proc, proc.stdout, frames, trace
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for line in self._lines():
                if line.startswith(b'{"timestamp"'):
                    self._packet(json.loads(line)["layers"])
        except Exception as e:   # noqa: BLE001 - handed to the main thread, which raises it (nothing is lost silently)
            self.error = e
            self.proc.kill()     # nobody reads tshark's output any more: stop it, so the main thread's writes end

    def _lines(self) -> Iterator[bytes]:
        """tshark's output lines, read in large chunks: each read releases the GIL and must win it back from the busy
        main thread (up to one switch interval), so many small reads would stall this thread (convoy effect)."""
        fd, rest = self.stdout.fileno(), b""
        while chunk := os.read(fd, READ_CHUNK):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield from lines
        if rest:
            yield rest

    def _packet(self, layers: dict) -> None:
        fr = layers.get("frame", {})
        number = self.frames[int(fr.get("frame_frame_number", 0)) - 1]
        when = float(fr.get("frame_frame_time_epoch", 0))
        iface = fr.get("frame_frame_interface_name")
        iface = None if iface == UNNAMED else iface
        src, dst, sport, dport, transport = _addresses(layers)
        raws = layers.get("sip_raw")
        read = 0
        for raw in raws if isinstance(raws, list) else [raws]:
            if not raw:
                continue
            try:
                msg = parse_message(bytes.fromhex(raw))
            except (SipParseError, ValueError) as e:
                self.trace.findings.append(f"frame {number}: unparseable SIP message: {e}")
                continue
            self.trace.sip.append(SipPacket(number, when, iface, src, dst, sport, dport, transport, msg))
            read += 1
        if "tls" in layers:
            self._tls(layers["tls"], number, f"{src}:{sport}", f"{dst}:{dport}", read)

    def _tls(self, tls, number: int, src: str, dst: str, sip_messages: int) -> None:
        """Hand a frame's TLS records to the decryption accounting (:mod:`sipqual.tlsrecords`)."""
        records, inner, alerts = [], [], []
        for layer in tls if isinstance(tls, list) else [tls]:
            if not isinstance(layer, dict):
                continue
            records += [bytes.fromhex(r) for r in _as_list(layer.get("tls_tls_record_raw")) if r]
            inner += [int(t) for t in _as_list(layer.get("tls_tls_record_content_type")) if str(t).isdigit()]
            alerts += [int(t) for t in _as_list(layer.get("tls_tls_alert_message_desc")) if str(t).isdigit()]
        self.trace.tls.frame(number, src, dst, records, inner, alerts, sip_messages)


def _as_list(v) -> list:
    return v if isinstance(v, list) else [] if v is None else [v]


def _read(capture: BinaryIO, args: list[str], trace: Trace, pre: SipReader | None = None) -> None:
    """The one pass: media into the model here, everything else through tshark for SIP, read back by a thread.
    ``pre``: a tshark started ahead with the same arguments (else one is started now); closed here either way."""
    frames = array("L")
    tshark = pre if pre is not None and pre.args == list(args) else None
    if pre is not None and tshark is None:
        pre.close()
    reader = None
    try:
        tshark = tshark or SipReader(args)
        proc = tshark.proc
        reader = _SipReader(proc, frames, trace)
        reader.start()
        try:
            _forward(capture, proc.stdin, frames, trace)
        except BrokenPipeError:
            pass             # tshark stopped reading: its exit status and stderr below say why
        reader.join()
        proc.wait(timeout=TSHARK_EXIT_S)   # its output is complete; let it exit on its own
        stderr = tshark.stderr()
    finally:
        if tshark is not None:
            tshark.close()
        if reader is not None:   # tshark is gone by now, so the reader is at end of file
            reader.join(timeout=10)
    if reader.error is not None:
        raise LabError(f"reading tshark's SIP output failed: {reader.error!r}") from reader.error
    if proc.returncode != 0:
        raise LabError(f"tshark failed (exit {proc.returncode}) reading {trace.path}: "
                       + " | ".join(_tshark_complaints(stderr)[-3:]))
    complaints = _tshark_complaints(stderr)
    trace.findings.extend(complaints)
    trace.truncated = trace.truncated or any(c.startswith("capture truncated") for c in complaints)


def _forward(capture: BinaryIO, sink: BinaryIO, frames: array, trace: Trace) -> None:
    """Walk the capture: RTP/RTCP datagrams go into the media model, every other block is written to ``sink``
    unchanged (a section header with its length made "unknown"); ``frames`` records the frame number of each
    forwarded packet. Closes ``sink`` at the end so tshark finishes."""
    feed = trace.media.feed
    pending: list[bytes] = []
    size = 0
    try:
        for block in read_blocks(capture):
            frame, raw = block.frame, block.raw
            if frame is None:
                raw = unbounded_section(raw) if raw[:4] == PCAPNG_SHB else raw
            else:
                dg = udp_datagram(frame)
                if dg is not None and feed(frame.number, frame.time, frame.interface, dg.src, dg.sport, dg.dst,
                                           dg.dport, dg.payload):
                    continue
                frames.append(frame.number)
            pending.append(raw)
            size += len(raw)
            if size >= FORWARD_BUFFER:
                sink.write(b"".join(pending))
                pending, size = [], 0
    except Truncated as e:
        trace.findings.append(f"capture truncated: {e}; read up to there")
        trace.truncated = True
    sink.write(b"".join(pending))
    sink.close()


def _tshark_complaints(stderr: str) -> list[str]:
    """tshark's stderr as reader findings, without its root warning."""
    out = []
    for line in stderr.splitlines():
        line = line.strip()
        if not line or "Running as user" in line or "dangerous" in line:
            continue
        if "appears to have been cut short" in line or "truncated" in line.lower():
            out.append(f"capture truncated: {line}")
        else:
            out.append(f"tshark: {line}")
    return out


@contextmanager
def _pcap_or_pcapng(path: Path) -> Iterator[BinaryIO]:
    """The capture opened for reading; another format tshark knows (gzip, snoop, ...) is converted to pcapng in a
    temporary file first with editcap, which comes with tshark."""
    with path.open("rb") as f:
        if is_pcap_or_pcapng(f.read(4)):
            f.seek(0)
            yield f
            return
    with tempfile.TemporaryDirectory(prefix="sipqual-") as tmp:
        converted = Path(tmp) / "capture.pcapng"
        cp = subprocess.run([require_tool("editcap"), "-F", "pcapng", str(path), str(converted)],
                            capture_output=True, timeout=600)
        if cp.returncode != 0:
            raise LabError(f"capture {path} is not in a format tshark reads: "
                           f"{cp.stderr.decode(errors='replace').strip()}")
        with converted.open("rb") as f:
            yield f


def read_trace(path: str | Path, keylog: Path | None = None, tls_ports: list[int] = (),
               sip_tcp_ports: list[int] = (), tls_key: Path | None = None, pre: SipReader | None = None) -> Trace:
    """Read SIP and media from a capture. Raises :class:`LabError` only when the file cannot be read at all.
    ``pre``: a :class:`SipReader` started ahead (used if its arguments fit; always closed)."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        if pre is not None:
            pre.close()
        raise LabError(f"capture {path} is missing or empty")
    trace = Trace(path)
    args = tshark_args(keylog, list(tls_ports), list(sip_tcp_ports), tls_key)
    with _pcap_or_pcapng(path) as capture:
        _read(capture, args, trace, pre)
    trace.sip.sort(key=lambda p: (p.time, p.frame))  # pcapng from several interfaces is not in time order
    trace.media.apply_sdp(trace.sdp_bodies())
    return trace
