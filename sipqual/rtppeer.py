"""A media-only endpoint: the phone a call is transferred to, whose address an SDP names (suite XFR).

    python -m sipqual.rtppeer --bind 192.0.2.10:16100 --tone tone.ulaw --seconds 20

It binds the UDP port, waits for the first RTP packet (RTCP, STUN and anything else ignored) and from then on sends
20 ms G.711 packets (PT 0, the tone file's 160-byte frames in a loop) back to wherever that packet came from
(symmetric RTP, as a phone behind the Mediation side answers), until the peer has sent nothing for 1 s, ``--seconds``
after its start, or until it is stopped. It never sends first: when the DUT never sends media to this endpoint, nothing comes from it either, and the
case judges the DUT for that, not us. Prints one line "listening" once bound."""

from __future__ import annotations

import argparse
import os
import socket
import struct
import time


QUIET_S = 1.0       # the peer sent nothing for this long (the call ended): stop, as a phone whose call was cleared


def _rtp(data: bytes) -> bool:
    """An RTP packet (version 2), not RTCP (RFC 5761: packet types 192-223 read as PT 64-95 with the marker)."""
    return len(data) >= 12 and data[0] >> 6 == 2 and not 64 <= (data[1] & 0x7F) <= 95


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sipqual.rtppeer")
    ap.add_argument("--bind", required=True, help="IP:PORT")
    ap.add_argument("--tone", required=True, help="raw G.711 mu-law, 160 bytes per packet")
    ap.add_argument("--seconds", type=float, required=True)
    a = ap.parse_args(argv)
    ip, port = a.bind.rsplit(":", 1)
    ip = ip.strip("[]")
    tone = open(a.tone, "rb").read() or bytes([0xFF]) * 160
    frames = [tone[i:i + 160].ljust(160, b"\xff") for i in range(0, len(tone), 160)]
    end = time.monotonic() + a.seconds
    sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ip, int(port)))
    print("listening", flush=True)
    sock.settimeout(0.1)
    peer = None
    while peer is None and time.monotonic() < end:
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            continue
        if _rtp(data):
            peer = addr
    if peer is None:
        return 0
    sock.setblocking(False)
    ssrc, seq, ts = struct.unpack("!IHI", os.urandom(10))
    n, due = 0, time.monotonic()
    heard = due
    while due < end and due - heard < QUIET_S:
        pkt = struct.pack("!BBHII", 0x80, 0x80 if n == 0 else 0, seq, ts, ssrc) + frames[n % len(frames)]
        try:
            sock.sendto(pkt, peer)
        except OSError:
            pass        # e.g. ICMP unreachable reported on the socket: keep the pace, the capture tells the story
        try:
            while True:
                if _rtp(sock.recv(4096)):    # what the DUT sends is in the capture; drain it
                    heard = time.monotonic()
        except OSError:
            pass
        n, seq, ts = n + 1, (seq + 1) & 0xFFFF, (ts + 160) & 0xFFFFFFFF
        due += 0.02
        time.sleep(max(0.0, due - time.monotonic()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
