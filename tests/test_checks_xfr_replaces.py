"""TC-XFR-02 on crafted captures: attended transfer by REFER with Replaces (RFC 3891) and the 481 half. A proxy that
passes the REFER on (party 1's PBX sends the INVITE with Replaces back through the DUT to party 2) and a gateway that
carries it out itself both pass; each fault FAILs with RFC3891-01 and its frame: the Replaces not mapped on a B2BUA
leg (Lync's Call-ID instead of the far leg's), tags swapped, the Replaces dropped (party 2 gets a new call), Lync's
call B left up, and the 481 missing (200 to a Replaces matching nothing, or the INVITE passed on without it and
answered). The lab shows "Replaces dropped" with faulty-replaces-dropped.yaml (tests/test_lab.py). Legs of a B2BUA:
each has its own Call-ID and tags."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.checks.xfr import parse_replaces, replaces_matches  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-XFR-02-tcp-abc"
P1, P2 = "+15550002000", "+15550003000"
CT = "Content-Type: application/sdp"
FRAG = "Content-Type: message/sipfrag;version=2.0"


def _spec(test_id: str, called: str) -> checks.CallSpec:
    return checks.CallSpec(test_id, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=called)


SPEC_A, SPEC_B = _spec(TEST_ID, P1), _spec(TEST_ID + "-b", P2)


class Attended:
    """Lync (MS) calls party 1 (A) and party 2 (B) through the DUT, both on the far side (FAR), each far leg its own
    Call-ID and tags (a B2BUA); then transfers A to B with Replaces."""

    def __init__(self):
        self.c, self.n, self.frames = Capture(), 0, {}
        self.legs = {
            "a": ("Call-ID: ms-a@x", "From: <sip:+14255550100@x>;tag=la", f"To: <sip:{P1}@sbc.lab.example>"),
            "af": ("Call-ID: far-a@y", "From: <sip:+14255550100@dut>;tag=da", f"To: <sip:{P1}@far>"),
            "b": ("Call-ID: ms-b@x", "From: <sip:+14255550100@x>;tag=lb", f"To: <sip:{P2}@sbc.lab.example>"),
            "bf": ("Call-ID: far-b@y", "From: <sip:+14255550100@dut>;tag=db", f"To: <sip:{P2}@far>"),
        }
        self.tags = {"a": ";tag=ga", "af": ";tag=p1", "b": ";tag=gb", "bf": ";tag=p2"}
        self.port = {"ms-a": 30000, "ms-b": 30010, "p1": 50000, "p2": 50010, "p1-new": 50020, "p2-new": 50030}

    def _req(self, src, dst, method, leg, cseq, *extra, to_tag="", body="", ruri=None):
        cid, frm, to = self.legs[leg] if isinstance(leg, str) else leg
        self.n += 1
        via = f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{method.lower()}{self.n}"
        self.c.udp(src, dst, sip(f"{method} {ruri or 'sip:x@' + dst} SIP/2.0", via, "Max-Forwards: 70", frm,
                                 to + to_tag, cid, f"CSeq: {cseq} {method}", f"Contact: <sip:x@{src}:5060>", *extra,
                                 body=body))
        return via

    def _resp(self, src, dst, status, leg, via, cseq, *extra, tag="", body=""):
        cid, frm, to = self.legs[leg] if isinstance(leg, str) else leg
        self.c.udp(src, dst, sip(f"SIP/2.0 {status}", via, frm, to + tag, cid, f"CSeq: {cseq}",
                                 f"Contact: <sip:x@{src}:5060>", *extra, body=body))

    def _call(self, ms_leg, far_leg, marker, number, ms_port, far_port):
        via = self._req(MS, DUT, "INVITE", ms_leg, 1, f"{checks.MARKER}: {marker}", CT, ruri=f"sip:{number}@{DUT}",
                        body=sdp(1, MS, self.port[ms_port]))
        via_f = self._req(DUT, FAR, "INVITE", far_leg, 1, CT, ruri=f"sip:{number}@{FAR}", body=sdp(1, DUT, 40000))
        self._resp(FAR, DUT, "200 OK", far_leg, via_f, "1 INVITE", CT, tag=self.tags[far_leg],
                   body=sdp(1, FAR, self.port[far_port], pts=(0, 101)))
        self._req(DUT, FAR, "ACK", far_leg, 1, to_tag=self.tags[far_leg])
        self._resp(DUT, MS, "200 OK", ms_leg, via, "1 INVITE", CT, tag=self.tags[ms_leg],
                   body=sdp(1, DUT, 40002, pts=(0, 101)))
        self._req(MS, DUT, "ACK", ms_leg, 1, to_tag=self.tags[ms_leg])

    def calls(self):
        self._call("a", "af", TEST_ID, P1, "ms-a", "p1")
        self._call("b", "bf", TEST_ID + "-b", P2, "ms-b", "p2")
        return self

    @staticmethod
    def replaces(cid, to_tag, from_tag):
        return f"{cid};to-tag={to_tag};from-tag={from_tag}"

    def refer(self, *, relay_replaces: str | None = "far-b@y;to-tag=p2;from-tag=db", status="202 Accepted"):
        """Our REFER on A (Replaces = Lync's leg of B); a proxy-like B2BUA passes it on with ``relay_replaces`` in
        the Refer-To (None: does not pass it on) and relays party 1's 202 and NOTIFY 100."""
        mine = quote(self.replaces("ms-b@x", "gb", "lb"), safe="@")
        via = self._req(MS, DUT, "REFER", "a", 2, f"{checks.MARKER}: {TEST_ID}",
                        f"Refer-To: <sip:{P2}@sbc.lab.example?Replaces={mine}>", to_tag=self.tags["a"])
        self.frames["refer"] = len(self.c.packets)
        if relay_replaces is not None:
            rt = f"<sip:{P2}@dut?Replaces={quote(relay_replaces, safe='@')}>"
            via_f = self._req(DUT, FAR, "REFER", "af", 2, f"Refer-To: {rt}", to_tag=self.tags["af"])
            self.frames["relayed"] = len(self.c.packets)
            self._resp(FAR, DUT, "202 Accepted", "af", via_f, "2 REFER", tag=self.tags["af"])
        self._resp(DUT, MS, status, "a", via, "2 REFER", tag=self.tags["a"])
        self.notify("100 Trying", "active")
        return self

    def notify(self, frag, state, relayed=True):
        self.n += 1
        seq = self.n
        if relayed:
            via = self._req(FAR, DUT, "NOTIFY", ("Call-ID: far-a@y", "From: <sip:x@far>;tag=p1", "To: <sip:y@dut>"),
                            seq, "Event: refer", f"Subscription-State: {state}", FRAG, to_tag=";tag=da",
                            body=f"SIP/2.0 {frag}\r\n")
            self._resp(DUT, FAR, "200 OK", ("Call-ID: far-a@y", "From: <sip:x@far>;tag=p1", "To: <sip:y@dut>"),
                       via, f"{seq} NOTIFY", tag=";tag=da")
        via = self._req(DUT, MS, "NOTIFY", ("Call-ID: ms-a@x", "From: <sip:x@dut>;tag=ga", "To: <sip:y@x>"), seq,
                        "Event: refer", f"Subscription-State: {state}", FRAG, to_tag=";tag=la",
                        body=f"SIP/2.0 {frag}\r\n")
        self.frames[f"notify-{frag[:3]}"] = len(self.c.packets)
        self._resp(MS, DUT, "200 OK", ("Call-ID: ms-a@x", "From: <sip:x@dut>;tag=ga", "To: <sip:y@x>"), via,
                   f"{seq} NOTIFY", tag=";tag=la")

    def replace(self, *, replaces: str | None = "far-b@y;to-tag=p2;from-tag=db", from_p1: bool = True,
                bye_to_lync: bool = True, media: bool = True):
        """Party 1's INVITE with Replaces (from_p1; else the DUT's own) reaches party 2 with ``replaces`` (None: no
        Replaces header); party 2 answers, BYEs its old leg B; the DUT ends Lync's B (``bye_to_lync``)."""
        c1 = ("Call-ID: p1-c@far", "From: <sip:+15550002000@far>;tag=c1", f"To: <sip:{P2}@dut>")
        c2 = ("Call-ID: dut-c@y", "From: <sip:+15550002000@dut>;tag=dc", f"To: <sip:{P2}@far>")
        rh = (f"Replaces: {replaces}",) if replaces is not None else ()
        if from_p1:
            via1 = self._req(FAR, DUT, "INVITE", c1, 1, *rh, CT, ruri=f"sip:{P2}@{DUT}",
                             body=sdp(1, FAR, self.port["p1-new"]))
        via2 = self._req(DUT, FAR, "INVITE", c2, 1, *rh, CT, ruri=f"sip:{P2}@{FAR}", body=sdp(1, DUT, 40010))
        self.frames["replacing"] = len(self.c.packets)
        self._resp(FAR, DUT, "200 OK", c2, via2, "1 INVITE", CT, tag=";tag=c2",
                   body=sdp(1, FAR, self.port["p2-new"], pts=(0, 101)))
        self._req(DUT, FAR, "ACK", c2, 1, to_tag=";tag=c2")
        if from_p1:
            self._resp(DUT, FAR, "200 OK", c1, via1, "1 INVITE", CT, tag=";tag=dd", body=sdp(1, DUT, 40020, pts=(0,)))
            self._req(FAR, DUT, "ACK", c1, 1, to_tag=";tag=dd")
        # party 2 ends the replaced leg; the DUT ends Lync's
        p2leg = ("Call-ID: far-b@y", "From: <sip:x@far>;tag=p2", "To: <sip:y@dut>")
        via = self._req(FAR, DUT, "BYE", p2leg, 5, to_tag=";tag=db")
        self.frames["p2-bye"] = len(self.c.packets)
        self._resp(DUT, FAR, "200 OK", p2leg, via, "5 BYE", tag=";tag=db")
        if bye_to_lync:
            lb = ("Call-ID: ms-b@x", "From: <sip:x@dut>;tag=gb", "To: <sip:y@x>")
            via = self._req(DUT, MS, "BYE", lb, 6, to_tag=";tag=lb")
            self._resp(MS, DUT, "200 OK", lb, via, "6 BYE", tag=";tag=lb")
        if media:
            p1_port = self.port["p1-new"] if from_p1 else self.port["p1"]
            self._rtp([(FAR, p1_port, DUT, 40020), (FAR, self.port["p2-new"], DUT, 40010),
                       (DUT, 40010, FAR, self.port["p2-new"]), (DUT, 40020, FAR, p1_port)])
        self.notify("200 OK", "terminated")
        via = self._req(MS, DUT, "BYE", "a", 3, to_tag=self.tags["a"])
        self._resp(DUT, MS, "200 OK", "a", via, "3 BYE", tag=self.tags["a"])
        return self

    def _rtp(self, flows, packets=30):
        for i in range(packets):
            for n, (src, sport, dst, dport) in enumerate(flows):
                hdr = bytes([0x80, 0]) + i.to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + \
                    (0x1000 + sport + n).to_bytes(4, "big")
                self.c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) /
                             UDP(sport=sport, dport=dport) / (hdr + b"\xd5" * 160), 0.02 if n == 0 else 0.0001)

    def trace(self, tmp_path):
        path = tmp_path / "xfr2.pcapng"
        self.c.write(path)
        return read_trace(path)


def _bad(found):
    return [f for f in found if not f.ok]


def _judge(tr):
    return checks.attended_transfer(tr, spec=SPEC_A, spec_b=SPEC_B)


def test_replaces_parsed_and_matched_by_rfc3891_rules(tmp_path):
    assert parse_replaces("abc@h;TO-TAG=x;From-Tag=y;early-only") == \
        ("abc@h", {"to-tag": "x", "from-tag": "y", "early-only": None})
    assert parse_replaces(";to-tag=x") is None


def test_proxy_like_relay_with_party_1_replacing_passes(tmp_path):
    at = Attended().calls().refer().replace()
    found = _judge(at.trace(tmp_path))
    assert _bad(found) == [], _bad(found)
    msgs = [f.message for f in found if f.rule == "RFC3891-01"]
    assert any("Refer-To passed on" in m for m in msgs) and any("relayed from party 1's INVITE" in m for m in msgs)
    assert any(f.rule == "XFR-01" and "joined" in f.message for f in found)
    assert any(f.rule == "XFR-01" and "call B ended on both legs" in f.message for f in found)


def test_gateway_replacing_itself_passes(tmp_path):
    at = Attended().calls().refer(relay_replaces=None).replace(from_p1=False)
    found = _judge(at.trace(tmp_path))
    assert _bad(found) == [], _bad(found)
    assert any(f.rule == "RFC3891-01" and "the DUT's own INVITE" in f.message for f in found)


def test_replaces_not_mapped_on_a_b2bua_leg_fails(tmp_path):
    """Lync's Call-ID and tags (its own leg of B) passed on as they came: they name no dialog of party 2."""
    lync = "ms-b@x;to-tag=gb;from-tag=lb"
    at = Attended().calls().refer(relay_replaces=lync).replace(replaces=lync)
    bad = _bad(_judge(at.trace(tmp_path)))
    assert [f.rule for f in bad] == ["RFC3891-01", "RFC3891-01"], bad
    assert "Call-ID 'ms-b@x' is not that leg's 'far-b@y'" in bad[0].message
    assert bad[0].frames == [at.frames["relayed"]] and bad[1].frames == [at.frames["replacing"]]


def test_tags_swapped_fails(tmp_path):
    swapped = "far-b@y;to-tag=db;from-tag=p2"
    at = Attended().calls().refer(relay_replaces=None).replace(replaces=swapped, from_p1=False)
    bad = _bad(_judge(at.trace(tmp_path)))
    assert [f.rule for f in bad] == ["RFC3891-01"] and "tags swapped" in bad[0].message, bad
    assert bad[0].frames == [at.frames["replacing"]]


def test_replaces_dropped_fails_as_a_new_call(tmp_path):
    at = Attended().calls().refer().replace(replaces=None)
    bad = _bad(_judge(at.trace(tmp_path)))
    assert [f.rule for f in bad] == ["RFC3891-01"] and "party 2 gets a new call" in bad[0].message, bad
    assert bad[0].frames == [at.frames["replacing"]]


def test_lync_call_b_left_up_fails(tmp_path):
    at = Attended().calls().refer().replace(bye_to_lync=False)
    bad = _bad(_judge(at.trace(tmp_path)))
    assert [f.rule for f in bad] == ["XFR-01"] and "Lync's call B stays up" in bad[0].message, bad
    assert bad[0].frames == [at.frames["p2-bye"]]


def test_our_missing_refer_is_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _judge(Attended().calls().trace(tmp_path))


# ---- the 481 half: an INVITE with a Replaces matching no dialog --------------------------------------------------

def _unmatched(tmp_path, *, dut: str = "481 Call/Transaction Does Not Exist", pass_on: bool = True,
               keep: bool = True, far: str = "481 Call/Transaction Does Not Exist"):
    c = Attended()
    rh = "Replaces: nosuch@x;to-tag=n1;from-tag=n2"
    leg = ("Call-ID: ms-r@x", "From: <sip:+14255550100@x>;tag=lr", f"To: <sip:{P2}@sbc.lab.example>")
    legf = ("Call-ID: far-r@y", "From: <sip:+14255550100@dut>;tag=dr", f"To: <sip:{P2}@far>")
    via = c._req(MS, DUT, "INVITE", leg, 1, f"{checks.MARKER}: {TEST_ID}-481", rh, CT, ruri=f"sip:{P2}@{DUT}",
                 body=sdp(1, MS, 30020))
    frames = {"ours": len(c.c.packets)}
    if pass_on:
        via_f = c._req(DUT, FAR, "INVITE", legf, 1, *((rh,) if keep else ()), CT, ruri=f"sip:{P2}@{FAR}",
                       body=sdp(1, DUT, 40030))
        frames["far"] = len(c.c.packets)
        c._resp(FAR, DUT, far, legf, via_f, "1 INVITE", tag=";tag=fr")
        frames["far-final"] = len(c.c.packets)
        c._req(DUT, FAR, "ACK", legf, 1, to_tag=";tag=fr")
    c._resp(DUT, MS, dut, leg, via, "1 INVITE", tag=";tag=gr")
    frames["final"] = len(c.c.packets)
    c._req(MS, DUT, "ACK", leg, 1, to_tag=";tag=gr")
    return checks.replaces_unmatched(c.trace(tmp_path), spec=_spec(TEST_ID + "-481", P2)), frames


def test_481_relayed_from_the_far_end_passes(tmp_path):
    found, frames = _unmatched(tmp_path)
    assert _bad(found) == [] and "relayed from the far end's 481" in found[0].message, found
    assert found[0].frames == [frames["final"]]


def test_481_from_the_dut_itself_passes(tmp_path):
    found, _ = _unmatched(tmp_path, pass_on=False)
    assert _bad(found) == [] and "the DUT's own" in found[0].message, found


def test_200_to_a_replaces_matching_nothing_fails(tmp_path):
    found, frames = _unmatched(tmp_path, pass_on=False, dut="200 OK")
    bad = _bad(found)
    assert [f.rule for f in bad] == ["RFC3891-01"] and "observed 200 OK" in bad[0].message, bad
    assert bad[0].frames == [frames["final"]]


def test_replaces_dropped_and_the_call_answered_fails(tmp_path):
    found, frames = _unmatched(tmp_path, keep=False, far="200 OK", dut="200 OK")
    bad = _bad(found)
    assert [f.rule for f in bad] == ["RFC3891-01"] and "a new call instead" in bad[0].message, bad
    assert bad[0].frames == [frames["far"]]
