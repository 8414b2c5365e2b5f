"""TC-BAS-13 (the long call) on crafted captures: a 100 s call past its 90 s session interval, refreshed by our
caller every 45 s, with RTP (every 100 ms here: one packet per counting bucket) and RTCP (every second) both ways.
The good call passes; each DUT fault the case must catch FAILs with the right rule: a gap in the RTP the DUT relays,
the DUT's RTCP toward the Mediation side stopping, the far leg's refresh missing, the DUT hanging up at the session's
expiry. A gap that our own agent caused is not blamed on the DUT (ERROR). The lab run (tests/test_lab.py) shows the
reference DUT passing; the session-timer faults of the family have their real faulty variants (suite ST)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, T0, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.checks.common import StimulusMissing  # noqa: E402
from sipqual.flows.hld import _rtcp_compound  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-BAS-13-tcp-abc"
NUM = "+15550002000"
SPEC = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=NUM)
CT = "Content-Type: application/sdp"
SE = ("Supported: timer", "Session-Expires: 90;refresher=uac", "Min-SE: 90")
PORT = {MS: 30000, FAR: 50000, "a": 40002, "b": 40000}       # our agents' media ports; the DUT's on leg a and b
# (src, sport, dst, dport) of each RTP direction: ours into the DUT, the DUT's out of it
FLOWS = {"caller>dut": (MS, PORT[MS], DUT, PORT["a"]), "dut>callee": (DUT, PORT["b"], FAR, PORT[FAR]),
         "callee>dut": (FAR, PORT[FAR], DUT, PORT["b"]), "dut>caller": (DUT, PORT["a"], MS, PORT[MS])}


class LongCall:
    """Every packet with its time (seconds after our ACK); written in time order."""

    def __init__(self):
        self.pkts: list[tuple[float, object]] = []
        self.n = 0
        self.legs = {"a": (MS, DUT, "Call-ID: a@x", "From: <sip:+100@x>;tag=ca", f"To: <sip:{NUM}@y>", ";tag=da"),
                     "b": (DUT, FAR, "Call-ID: b@x", "From: <sip:+100@y>;tag=db", f"To: <sip:{NUM}@z>", ";tag=cb")}

    def _udp(self, t, src, sport, dst, dport, payload: bytes):
        self.pkts.append((t, Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) /
                          UDP(sport=sport, dport=dport) / payload))

    def msg(self, t: float, leg: str, method: str, cseq: int, *extra, status: str | None = None, body: str = "",
            marker: bool = False, tagged: bool = True):
        """A request on ``leg`` from its caller side, and (``status``) its answer 10 ms later."""
        uac, uas, cid, frm, to, tt = self.legs[leg]
        self.n += 1
        via = f"Via: SIP/2.0/UDP {uac}:5060;branch=z9hG4bK-{self.n}"
        to_hdr = to + (tt if tagged else "")
        hdrs = [via, frm, to_hdr, cid, f"CSeq: {cseq} {method}", f"Contact: <sip:x@{uac}:5060>"]
        self._udp(t, uac, 5060, uas, 5060, sip(f"{method} sip:{NUM}@{uas} SIP/2.0", hdrs[0], "Max-Forwards: 70",
                                               *hdrs[1:], *extra, *([f"{checks.MARKER}: {TEST_ID}"] if marker
                                                                    else []), body=body).encode())
        if status:
            self.answer(t + 0.01, leg, status, hdrs)
        return hdrs

    def answer(self, t, leg, status, hdrs, *extra, body=""):
        uac, uas, _cid, _frm, to, tt = self.legs[leg]
        to_hdr = hdrs[2] if tt in hdrs[2] else hdrs[2] + tt
        self._udp(t, uas, 5060, uac, 5060, sip(f"SIP/2.0 {status}", hdrs[0], hdrs[1], to_hdr, *hdrs[3:5],
                                               f"Contact: <sip:x@{uas}:5060>", *extra, body=body).encode())

    def setup(self, ok_a=SE[1:2]):
        inv_a = self.msg(-0.5, "a", "INVITE", 1, CT, *SE, marker=True, tagged=False, body=sdp(1, MS, PORT[MS]))
        self.answer(-0.49, "a", "100 Trying", inv_a)
        inv_b = self.msg(-0.4, "b", "INVITE", 1, CT, *SE, tagged=False, body=sdp(1, DUT, PORT["b"]))
        self.answer(-0.2, "b", "200 OK", inv_b, CT, "Require: timer", SE[1], body=sdp(1, FAR, PORT[FAR]))
        self.msg(-0.15, "b", "ACK", 1)
        self.answer(-0.1, "a", "200 OK", inv_a, CT, "Require: timer", *ok_a, body=sdp(1, DUT, PORT["a"]))
        self.msg(0.0, "a", "ACK", 1)
        return self

    def refresh(self, t: float, cseq: int, relay: bool = True):
        """Our caller's UPDATE at ``t``, relayed to the far end (unless not ``relay``), answered 200 both ways."""
        upd = self.msg(t, "a", "UPDATE", cseq, SE[1], marker=True)
        if relay:
            self.msg(t + 0.01, "b", "UPDATE", cseq, SE[1], status="200 OK")
        self.answer(t + 0.03, "a", "200 OK", upd, SE[1])
        return self

    def hangup(self, t: float, cseq: int = 4):
        self.msg(t, "a", "BYE", cseq, marker=True, status="200 OK")
        self.msg(t + 0.01, "b", "BYE", cseq, status="200 OK")
        return self

    def media(self, end: float, gaps: dict | None = None, rtcp_stop: float | None = None):
        """RTP every 100 ms in all four directions until ``end`` (``gaps``: direction -> (from, to) silent), RTCP
        every second from our far end to the DUT and from the DUT to our caller (until ``rtcp_stop``)."""
        gaps = gaps or {}
        for i in range(int(end / 0.1)):
            t = 0.05 + i * 0.1
            for name, (src, sport, dst, dport) in FLOWS.items():
                lo, hi = gaps.get(name, (0, 0))
                if lo <= t < hi:
                    continue
                hdr = bytes([0x80, 0]) + (i % 65536).to_bytes(2, "big") + (800 * i).to_bytes(4, "big") + \
                    (0x1000 + sport).to_bytes(4, "big")
                self._udp(t + 0.001 * len(name) / 10, src, sport, dst, dport, hdr + b"\xd5" * 160)
        for s in range(int(end)):
            t = 0.5 + s
            self._udp(t, FAR, PORT[FAR] + 1, DUT, PORT["b"] + 1, _rtcp_compound(0x2000))
            if rtcp_stop is None or t < rtcp_stop:
                self._udp(t + 0.002, DUT, PORT["a"] + 1, MS, PORT[MS] + 1, _rtcp_compound(0x2001))
        return self

    def trace(self, tmp_path):
        c = Capture()
        for t, p in sorted(self.pkts, key=lambda tp: tp[0]):
            p.time = round(T0 + 10 + t, 6)
            c.packets.append(p)
        path = tmp_path / "long.pcapng"
        c.write(path)
        return read_trace(path)


def _call(tmp_path, gaps=None, rtcp_stop=None, relay=True, dut_bye_at=None, ok_a=SE[1:2]):
    call = LongCall().setup(ok_a=ok_a)
    if dut_bye_at is not None:      # the DUT ends the call (both legs) instead of keeping it up
        call.refresh(45, 2, relay)
        hdrs = [f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-dutbye", f"From: <sip:{NUM}@y>;tag=da",
                "To: <sip:+100@x>;tag=ca", "Call-ID: a@x", "CSeq: 1 BYE"]
        call._udp(dut_bye_at, DUT, 5060, MS, 5060, sip(f"BYE sip:x@{MS}:5060 SIP/2.0", hdrs[0], "Max-Forwards: 70",
                                                       *hdrs[1:]).encode())
        call.msg(dut_bye_at + 0.01, "b", "BYE", 3, status="200 OK")
        return call.media(dut_bye_at).trace(tmp_path)
    call.refresh(45, 2, relay).refresh(90, 3, relay).hangup(100)
    return call.media(100, gaps, rtcp_stop).trace(tmp_path)


def _bad(found):
    return [f for f in found if not f.ok]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return _call(tmp_path_factory.mktemp("good"))


def test_long_call_refreshed_with_continuous_media_passes(good):
    found = checks.long_call(good, spec=SPEC, duration=100)
    assert not _bad(found), found
    rules = {f.rule for f in found}
    assert {"CALL-UP", "RFC4028-03", "RFC4028-04", "MEDIA-CONT", "MED-05", "RFC3261-14"} <= rules, rules
    assert sum(f.rule == "MEDIA-CONT" for f in found) == 2
    up = next(f for f in found if f.rule == "CALL-UP")
    assert "stayed up 100 s" in up.message, up
    refresh = next(f for f in found if f.rule == "RFC4028-04")
    assert "2 refresh(es)" in refresh.message and "refreshed 2 time(s)" in refresh.message, refresh


def test_rtp_gap_through_the_dut_fails(tmp_path):
    found = checks.long_call(_call(tmp_path, gaps={"dut>callee": (60.0, 62.5)}), spec=SPEC, duration=100)
    bad = _bad(found)
    assert [f.rule for f in bad] == ["MEDIA-CONT"], found
    assert "to the far end" in bad[0].message and re.search(r"2\.[4-7] s without RTP", bad[0].message), bad[0]


def test_rtp_gap_of_our_own_agent_is_not_the_duts(tmp_path):
    trace = _call(tmp_path, gaps={"callee>dut": (30.0, 32.0), "dut>caller": (30.0, 32.0)})
    with pytest.raises(StimulusMissing, match="our agent's RTP"):
        checks.long_call(trace, spec=SPEC, duration=100)


def test_rtcp_toward_the_mediation_side_stopping_fails(tmp_path):
    found = checks.long_call(_call(tmp_path, rtcp_stop=40), spec=SPEC, duration=100)
    bad = _bad(found)
    assert [f.rule for f in bad] == ["MED-05"], found
    assert bad[0].requirements == ["MED-05"] and "without RTCP" in bad[0].message, bad[0]


def test_far_leg_refresh_missing_fails(tmp_path):
    found = checks.long_call(_call(tmp_path, relay=False), spec=SPEC, duration=100)
    bad = _bad(found)
    assert [f.rule for f in bad] == ["RFC4028-04"], found
    assert "far leg's session refreshed" in bad[0].message and "none until our BYE" in bad[0].message, bad[0]


def test_dut_hanging_up_at_the_session_expiry_fails(tmp_path):
    found = checks.long_call(_call(tmp_path, relay=False, dut_bye_at=90.0), spec=SPEC, duration=100)
    bad = _bad(found)
    assert [f.rule for f in bad] == ["CALL-UP"], found
    assert "a BYE from the DUT" in bad[0].message and "+90" in bad[0].message, bad[0]
