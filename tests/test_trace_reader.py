"""The capture reader's one-pass pipeline (sipqual.trace): media read in Python while tshark gets the rest for SIP.

What must hold: the SIP side sees exactly the frames (numbers, times, interfaces) it would see reading the file
itself; RTP never reaches tshark; other capture formats are converted; a truncated file is reported; and no tshark
child outlives a read, whether it ends normally, by an exception, by KeyboardInterrupt, or inside a running asyncio
loop. Children are checked by the PIDs this test saw started, never by a global process search."""

import asyncio
import gzip
import os
import signal
import struct
import subprocess
import threading
from pathlib import Path

import pytest

import sipqual.trace as trace_mod
from sipqual.errors import LabError
from sipqual.rtp import MediaModel
from sipqual.trace import read_trace

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "captures"
needs_shared = pytest.mark.skipif(not CAPTURES.is_dir(), reason="../shared/captures is not beside this checkout")

CALLER, DUT = b"\xc0\x00\x02\x0a", b"\xc0\x00\x02\x01"
SDP = (b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
       b"m=audio 16000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n")
INVITE = (b"INVITE sip:+15550002000@sbc.lab.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n"
          b"Max-Forwards: 70\r\nFrom: <sip:a@192.0.2.10>;tag=1\r\nTo: <sip:+15550002000@sbc.lab.example>\r\n"
          b"Call-ID: reader-test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.10:5060>\r\n"
          b"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n" % len(SDP)) + SDP


def ip_udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    return bytes(12) + b"\x08\x00" + struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst) \
        + udp


def call_pcap(rtp_packets: int = 200) -> bytes:
    """An INVITE (frame 1), then G.711 RTP from the DUT to the caller's SDP address, then a second INVITE copy."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    records = [ip_udp(CALLER, DUT, 5060, 5060, INVITE)]
    records += [ip_udp(DUT, CALLER, 30000, 16000,
                       struct.pack(">BBHII", 0x80, 0, i & 0xFFFF, 160 * i, 0xABC) + b"\xff" * 160)
                for i in range(rtp_packets)]
    records.append(ip_udp(CALLER, DUT, 5060, 5060, INVITE.replace(b"CSeq: 1", b"CSeq: 2")))
    for i, data in enumerate(records):
        out.append(struct.pack("<IIII", 1000 + i // 50, (i % 50) * 20000, len(data), len(data)) + data)
    return b"".join(out)


@pytest.fixture
def started(monkeypatch):
    """Every process the reader starts, recorded as it starts."""
    procs: list[subprocess.Popen] = []
    real = subprocess.Popen

    def recording(*a, **kw):
        p = real(*a, **kw)
        procs.append(p)
        return p

    monkeypatch.setattr(trace_mod.subprocess, "Popen", recording)
    return procs


def assert_all_gone(procs):
    assert procs, "the reader started no tshark"
    for p in procs:
        assert p.returncode is not None, f"tshark {p.pid} was not reaped"
        assert not Path(f"/proc/{p.pid}").exists() or "tshark" not in Path(f"/proc/{p.pid}/cmdline").read_text()
    assert not [t for t in threading.enumerate() if t.name == "sipqual-tshark-reader"]


def test_sip_frames_and_media_from_one_pass(tmp_path, started):
    path = tmp_path / "call.pcap"
    path.write_bytes(call_pcap())
    tr = read_trace(path)
    assert [(p.frame, p.msg.cseq.seq) for p in tr.sip] == [(1, 1), (202, 2)]   # capture's frame numbers kept
    assert tr.sip[1].time == pytest.approx(1004.02)
    (s,) = tr.rtp
    assert (s.packets, s.first_frame, s.last_frame, s.sdp.frame) == (200, 2, 201, 1)
    assert not tr.findings
    assert_all_gone(started)


def test_interface_names_reach_sip_and_media(tmp_path):
    from test_pcapread import epb, idb, shb

    records = [r[16:] for r in split_records(call_pcap(30))]        # the Ethernet frames of call_pcap
    data = shb() + idb(1, "dut-ms") + idb(1, "dut-far") + b"".join(
        epb(i % 2, 1_000_000 * (1000 + i), frame) for i, frame in enumerate(records))
    path = tmp_path / "names.pcapng"
    path.write_bytes(data)
    tr = read_trace(path)
    assert [(p.frame, p.interface) for p in tr.sip] == [(1, "dut-ms"), (32, "dut-far")]
    assert tr.rtp[0].interface == "dut-far" and tr.rtp[0].packets == 30


def split_records(pcap: bytes) -> list[bytes]:
    """The records (16-byte header + data) of a little-endian classic pcap."""
    out, off = [], 24
    while off < len(pcap):
        n = struct.unpack_from("<I", pcap, off + 8)[0]
        out.append(pcap[off:off + 16 + n])
        off += 16 + n
    return out


def test_keyboard_interrupt_mid_read_leaves_no_tshark(tmp_path, started, monkeypatch):
    path = tmp_path / "call.pcap"
    path.write_bytes(call_pcap(5000))
    real_feed = MediaModel.feed
    calls = []

    def interrupting(self, *a):
        calls.append(1)
        if len(calls) == 3000:
            raise KeyboardInterrupt
        return real_feed(self, *a)

    monkeypatch.setattr(MediaModel, "feed", interrupting)
    with pytest.raises(KeyboardInterrupt):
        read_trace(path)
    assert_all_gone(started)


def test_sigint_from_another_thread_leaves_no_tshark(tmp_path, started, monkeypatch):
    """A real SIGINT (what Ctrl-C sends), raised by a helper thread once the read is under way."""
    path = tmp_path / "call.pcap"
    path.write_bytes(call_pcap(60000))
    under_way = threading.Event()
    real_feed = MediaModel.feed

    def noting(self, *a):
        if a[0] == 5000:
            under_way.set()
        return real_feed(self, *a)

    def interrupt_if_armed(signum, frame):
        if armed:
            raise KeyboardInterrupt

    monkeypatch.setattr(MediaModel, "feed", noting)
    armed = True
    previous = signal.signal(signal.SIGINT, interrupt_if_armed)
    helper = threading.Thread(target=lambda: under_way.wait(30) and os.kill(os.getpid(), signal.SIGINT))
    try:
        helper.start()
        with pytest.raises(KeyboardInterrupt):
            read_trace(path)
    finally:
        helper.join()
        armed = False
        signal.signal(signal.SIGINT, previous)
    assert_all_gone(started)


def test_exception_in_the_sip_reader_thread_is_raised_and_cleaned_up(tmp_path, started, monkeypatch):
    path = tmp_path / "call.pcap"
    path.write_bytes(call_pcap())

    def broken(data):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(trace_mod, "parse_message", broken)
    with pytest.raises(LabError, match="parser bug"):
        read_trace(path)
    assert_all_gone(started)


def test_tshark_failing_is_an_error_not_an_empty_trace(tmp_path, started, monkeypatch):
    path = tmp_path / "call.pcap"
    path.write_bytes(call_pcap())
    monkeypatch.setattr(trace_mod, "tshark_args", lambda *a: ["-o", "no.such.preference:1"])
    with pytest.raises(LabError, match="tshark"):
        read_trace(path)
    assert_all_gone(started)


def test_read_inside_a_running_event_loop(tmp_path, started):
    """No event-loop assumptions: a plain call from a coroutine and one from a worker thread both work."""
    path = tmp_path / "call.pcap"
    path.write_bytes(call_pcap())

    async def main():
        direct = read_trace(path)
        threaded = await asyncio.to_thread(read_trace, path)
        return direct, threaded

    direct, threaded = asyncio.run(main())
    assert len(direct.sip) == len(threaded.sip) == 2 and direct.rtp[0].packets == threaded.rtp[0].packets == 200
    assert_all_gone(started)


def test_truncated_capture_is_reported_with_what_was_read(tmp_path):
    path = tmp_path / "cut.pcap"
    path.write_bytes(call_pcap()[:-30])
    tr = read_trace(path)
    assert [p.frame for p in tr.sip] == [1] and tr.rtp[0].packets == 200
    assert any(f.startswith("capture truncated:") for f in tr.findings)


def test_other_formats_go_through_editcap(tmp_path):
    path = tmp_path / "call.pcap.gz"
    path.write_bytes(gzip.compress(call_pcap()))
    tr = read_trace(path)
    assert len(tr.sip) == 2 and tr.rtp[0].packets == 200


@needs_shared
@pytest.mark.parametrize("name, keylog, tls, tcp", [
    ("wscap--dtmf_relay_sip_rfc4733.pcapng", None, [], [5060]),
    ("heplify--rtp_rtcp_sip_ipv4_udp.pcap", None, [], []),
    ("ng911--BCF_010_tls_sip.pcap", "ng911--BCF_010_sip_sslkeys.log", [5061], []),
])
def test_same_sip_frames_as_tshark_reading_the_whole_file(name, keylog, tls, tcp):
    path = CAPTURES / name
    key = CAPTURES / keylog if keylog else None
    tr = read_trace(path, key, tls, tcp)
    argv = ["tshark", "-r", str(path), *trace_mod.tshark_args(key, tls, tcp), "-Y", "sip && !icmp", "-T", "fields",
            "-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.interface_name"]
    rows = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
    unnamed = ("", "unknown")    # fields output names an interface without if_name "unknown"; EK leaves it out
    theirs = {int(c[0]): (float(c[1]), None if c[2] in unnamed else c[2]) for c in (r.split("\t") for r in rows if r)}
    ours = {p.frame: (p.time, p.interface) for p in tr.sip}
    assert ours.keys() == theirs.keys()
    assert all(ours[k][0] == pytest.approx(theirs[k][0], abs=1e-6) and ours[k][1] == theirs[k][1] for k in ours)


@needs_shared
def test_rtp_streams_match_tshark_heuristic_rtp():
    path = CAPTURES / "wscap--dtmf_relay_sip_rfc4733.pcapng"
    tr = read_trace(path, sip_tcp_ports=[5060])
    argv = ["tshark", "-r", str(path), "-n", "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp && !rtcp", "-T", "fields",
            "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport", "-e", "rtp.ssrc"]
    theirs: dict[tuple, int] = {}
    for row in subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout.splitlines():
        src, sport, dst, dport, ssrc = row.split("\t")
        key = (src, int(sport), dst, int(dport), int(ssrc, 16))
        theirs[key] = theirs.get(key, 0) + 1
    assert {s.key: s.packets for s in tr.rtp} == theirs
    events = tr.media.events()
    assert events and all(e.pt == 101 for e in events)
