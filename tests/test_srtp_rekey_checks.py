"""TC-SRTP-06 (re-key on hold and resume) on crafted captures: the DUT's SRTP after the resume must authenticate with
the key of its resume answer, across a sequence wrap (rollover counter), and our SRTP sent with our resume key must
reach the far end; the DUT going on with its first key, resetting the rollover counter at the wrap, or dropping our
re-keyed audio each FAIL with the frame."""

from __future__ import annotations

import pytest

from test_srtp_checks import (CT, DUT, DUT_PORT, FAR, MS, MS_PORT, SPEC, SUITE, Capture, _bad, _dgram, _far, _ours,
                              _rtp, _sender, _to_ms, b64, sdp)

from sipqual import checks
from sipqual.trace import read_trace

OURS = [bytes(range(i, i + 30)) for i in (0, 40, 80)]
DUTS = [bytes(range(i, i + 30)) for i in (120, 160, 200)]
FAR_PORT, DUT_FAR = 26000, 50000
WRAP_FROM = 65536 - 15           # the DUT's sequence numbers after the resume wrap 15 packets in


def _line(key: bytes) -> str:
    return f"a=crypto:1 {SUITE} inline:{b64(key)}"


def _rekey_call(tmp_path, fault: str | None = None):
    c = Capture()
    _ours(c, "INVITE", 1, CT, body=sdp(1, MS, MS_PORT, proto="RTP/SAVP", extra=(_line(OURS[0]) + "|2^31",)))
    _to_ms(c, "100 Trying")
    _far(c, "INVITE", 1, body=sdp(1, DUT, DUT_FAR))
    _far(c, "INVITE", 1, "200 OK", body=sdp(1, FAR, FAR_PORT, pts=(0,)), tag=True)
    _to_ms(c, "200 OK", "1 INVITE", CT, body=sdp(1, DUT, DUT_PORT, pts=(0,), proto="RTP/SAVP",
                                                extra=(_line(DUTS[0]),)))
    _ours(c, "ACK", 1, to_tag=";tag=dut1")
    first = _sender(DUTS[0])
    seq = WRAP_FROM - 20
    for i in range(20):                      # the call: both ways, 20 packets
        _dgram(c, DUT, DUT_PORT, MS, MS_PORT, first.protect(_rtp(seq + i)))
        _dgram(c, MS, MS_PORT, DUT, DUT_PORT, _rtp(1000 + i), 0.0001)
        _dgram(c, DUT, DUT_FAR, FAR, FAR_PORT, _rtp(3000 + i), 0.0001)
    for cseq, direction in ((2, "sendonly"), (3, "sendrecv")):   # hold, resume: each a new key both ways
        n = cseq - 1
        _ours(c, "INVITE", cseq, CT, body=sdp(n + 1, MS, MS_PORT, proto="RTP/SAVP", direction=direction,
                                              extra=(_line(OURS[n]) + "|2^31",)), to_tag=";tag=dut1")
        answer_key = DUTS[n]
        _to_ms(c, "200 OK", f"{cseq} INVITE", CT, body=sdp(n + 1, DUT, DUT_PORT, pts=(0,), proto="RTP/SAVP",
                                                           direction="recvonly" if cseq == 2 else "sendrecv",
                                                           extra=(_line(answer_key),)))
        _ours(c, "ACK", cseq, to_tag=";tag=dut1")
    tx = _sender(DUTS[0] if fault == "old-key" else DUTS[2])
    for i in range(40):                      # after the resume
        s = (WRAP_FROM + i) & 0xFFFF
        if fault == "roc" and s == 0:
            tx = _sender(DUTS[2])            # a new context at the wrap: rollover counter back to 0
        _dgram(c, DUT, DUT_PORT, MS, MS_PORT, tx.protect(_rtp(s)))
        _dgram(c, MS, MS_PORT, DUT, DUT_PORT, _rtp(1100 + i), 0.0001)
        if fault != "not-relayed":
            _dgram(c, DUT, DUT_FAR, FAR, FAR_PORT, _rtp(3100 + i), 0.0001)
    _ours(c, "BYE", 4, to_tag=";tag=dut1")
    _to_ms(c, "200 OK", "4 BYE")
    _far(c, "BYE", 2, tag=True)
    path = tmp_path / "c.pcapng"
    c.write(path)
    return checks.srtp_rekeyed(read_trace(path), spec=SPEC)


def test_new_keys_both_ways_across_the_wrap_pass(tmp_path):
    found = _rekey_call(tmp_path)
    assert _bad(found) == [] and len(found) == 3, found
    assert "35 of 35 packets authenticated" in found[1].message and "wrapped at frame" in found[1].message
    assert "relayed to the far end as RTP" in found[2].message and "inline:<key>" in found[0].message
    assert "the DUT's own key new in each answer" in found[0].message
    assert b64(DUTS[2]) not in " ".join(f.message for f in found)      # keys never printed


def test_dut_going_on_with_its_first_key_fails_srtp04(tmp_path):
    bad = _bad(_rekey_call(tmp_path, "old-key"))
    assert [f.rule for f in bad] == ["SRTP-04"] and "key of its resume answer" in bad[0].message, bad
    assert "0 of 35 packets authenticated" in bad[0].message and bad[0].frames, bad


def test_rollover_counter_reset_at_the_wrap_fails_srtp04(tmp_path):
    bad = _bad(_rekey_call(tmp_path, "roc"))
    assert [f.rule for f in bad] == ["SRTP-04"] and "wrapped at frame" in bad[0].message, bad
    assert "10 of 35 packets authenticated" in bad[0].message and "authentication" in bad[0].message, bad


def test_our_rekeyed_audio_not_relayed_fails_srtp04(tmp_path):
    bad = _bad(_rekey_call(tmp_path, "not-relayed"))
    assert [f.rule for f in bad] == ["SRTP-04"] and "0 RTP packet(s) from the DUT to" in bad[0].message, bad


def test_our_resume_missing_is_an_error(tmp_path, monkeypatch):
    import sys
    real = _ours        # our resume re-INVITE (CSeq 3) and its ACK never sent: nothing to judge the re-key by
    monkeypatch.setattr(sys.modules[__name__], "_ours", lambda c, m, cseq, *a, **k: None if cseq == 3 else
                        real(c, m, cseq, *a, **k))
    with pytest.raises(checks.StimulusMissing):
        _rekey_call(tmp_path)
