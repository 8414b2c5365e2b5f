"""sipqual.rtppeer, the transfer target's media-only phone (suite XFR), on 127.0.0.1: silent until RTP reaches it,
then 20 ms PT 0 packets back to that packet's source, RTCP ignored, and it stops once the peer went quiet."""

from __future__ import annotations

import socket
import struct
import threading
import time

from sipqual import rtppeer


def _free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_answers_rtp_symmetrically_and_stops_when_the_peer_goes_quiet(tmp_path):
    tone = tmp_path / "tone.ulaw"
    tone.write_bytes(bytes(range(160)) * 3)
    port = _free_port()
    done = threading.Event()
    t = threading.Thread(target=lambda: (rtppeer.main(["--bind", f"127.0.0.1:{port}", "--tone", str(tone),
                                                       "--seconds", "10"]), done.set()), daemon=True)
    started = time.monotonic()
    t.start()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(0.3)
    time.sleep(0.2)
    peer.sendto(bytes([0x80, 200]) + b"\0" * 30, ("127.0.0.1", port))       # RTCP (SR): ignored
    try:
        peer.recv(2048)
        raise AssertionError("the endpoint answered RTCP")
    except socket.timeout:
        pass
    got = []
    for i in range(10):                                                   # 0.2 s of RTP from the "DUT"
        peer.sendto(struct.pack("!BBHII", 0x80, 0, i, 160 * i, 0xABC) + b"\xff" * 160, ("127.0.0.1", port))
        try:
            got.append(peer.recv(2048))
        except socket.timeout:
            pass
        time.sleep(0.02)
    assert len(got) >= 5, got
    assert all(p[0] == 0x80 and p[1] & 0x7F == 0 and len(p) == 172 for p in got[1:])
    assert got[0][1] == 0x80            # the first packet carries the marker
    seqs = [struct.unpack("!H", p[2:4])[0] for p in got]
    assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:])), seqs
    assert done.wait(3.0), "still sending 3 s after the peer went quiet"
    assert time.monotonic() - started < 5
