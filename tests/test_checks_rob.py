"""Suite ROB on crafted captures and sender records: the torture check FAILs a 200 to an invalid message (the issue's
"answering 200 to an invalid message"), a 400 to a valid one, an answer to an ACK of no dialog, a wrong
application-layer code, a DUT that stops answering the liveness probe (naming the message, its input saved) or dies,
and a relayed torture INVITE left as a dialog; it PASSes the same sets handled right. The torture builders and the
sender's SIP reader (framing, ACK, the far UAS's answers) are checked here too, and TC-ROB-05's check on a Lync-style
call answered with one m= line per offered one, or not."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, Capture, sdp, sip  # noqa: E402

import pytest  # noqa: E402

from sipqual import checks, rawsip, torture  # noqa: E402
from sipqual.checks import StimulusMissing  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TID = "TC-ROB-02-tcp-abc"
TARGET = torture.Target("sbc.lab.example", 5066, "TCP", MS, 15070, "+15550002000", TID)


def _trace(tmp_path, answers=(), relayed=()):
    """The DUT's answers ``(call_id, status, cseq)`` to MS and requests ``(marker, call_id, method)`` it relays to
    FAR, in a capture."""
    c = Capture()
    for cid, status, cseq in answers:
        c.udp(DUT, MS, sip(f"SIP/2.0 {status} X", f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK1",
                           f"From: <sip:t@{MS}>;tag=1", f"To: <sip:u@{DUT}>;tag=2", f"Call-ID: {cid}",
                           f"CSeq: {cseq}"))
    for marker, cid, method in relayed:
        c.udp(DUT, FAR, sip(f"{method} sip:+15550002000@{FAR} SIP/2.0", f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK2",
                            "Max-Forwards: 69", f"From: <sip:t@{MS}>;tag=1", f"To: <sip:u@{FAR}>", f"Call-ID: {cid}",
                            f"CSeq: 1 {method}", f"{checks.MARKER}: {marker}"))
        c.udp(FAR, DUT, sip("SIP/2.0 200 OK", f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK2",
                            f"From: <sip:t@{MS}>;tag=1", f"To: <sip:u@{FAR}>;tag=3", f"Call-ID: {cid}",
                            f"CSeq: 1 {method}"))
    path = tmp_path / "rob.pcapng"
    c.write(path)
    return read_trace(path)


def _plan(*items):
    """Plan rows: (name, expect, call_id[, severity[, method]])."""
    out = []
    for name, expect, cid, *rest in items:
        out.append({"name": name, "section": "3.1.2" if name != "rob04-bye" else "ROB-04", "what": f"the {name} test",
                    "expect": expect, "call_id": cid, "marker": f"{TID}-{name}", "severity": rest[0] if rest else "R",
                    "method": rest[1] if len(rest) > 1 else "INVITE", "may_drop": name == "insuf"})
    return out


def _run(plan, entries, stopped=None, evidence=None):
    log = {"messages": entries, "stopped": stopped}
    if evidence:
        log["evidence"] = evidence
    return {"side": "ms", "transport": "tcp", "plan": plan, "probe_call_ids": ["p@x"], "log": log}


def _entry(name, *statuses, cid="", probe=True):
    return {"name": name, "t": 0, "responses": [{"status": s, "call_id": cid, "start": f"SIP/2.0 {s}"}
                                                 for s in statuses],
            "probe": {"status": 200, "ms": 3, "attempt": 1} if probe else None}


def _judge(tmp_path, runs, answers=(), relayed=(), died=None):
    return checks.torture_handled(_trace(tmp_path, answers, relayed), runs=runs, reqs=["RFC4475"], dut_ips=[DUT],
                                  dut_died=died)


def _bad(findings):
    return [f for f in findings if not f.ok]


def test_invalid_set_handled_right_passes(tmp_path):
    plan = _plan(("badvers", "reject", "a@x", "M"), ("ltgtruri", "reject", "b@x"), ("bigcode", "silent", "c@x"),
                 ("escruri", "tolerant", "d@x"))
    runs = [_run(plan, [_entry("badvers", 505, cid="a@x"), _entry("ltgtruri"), _entry("bigcode"),
                        _entry("escruri", 480, cid="d@x")])]
    found = _judge(tmp_path, runs, answers=[("a@x", 505, "1 OPTIONS")])
    assert not _bad(found)
    assert any(f.rule == "ROB-CORE" and "badvers 505" in f.message for f in found)
    assert any(f.rule == "ROB-ALIVE" and "after each of 4 messages" in f.message for f in found)


def test_200_to_an_invalid_message_fails_with_its_frame(tmp_path):
    plan = _plan(("mismatch01", "reject", "a@x", "M"), ("ltgtruri", "reject", "b@x"))
    runs = [_run(plan, [_entry("mismatch01", 200, cid="a@x"), _entry("ltgtruri", 400, cid="b@x")])]
    bad = _bad(_judge(tmp_path, runs, answers=[("a@x", 200, "1 INVITE"), ("b@x", 400, "1 INVITE")]))
    assert [f.rule for f in bad] == ["RFC4475-mismatch01"]
    assert bad[0].severity == "M" and bad[0].frames and "never 2xx" in bad[0].message and "200" in bad[0].message


def test_valid_message_rejected_400_or_ignored_fails(tmp_path):
    plan = _plan(("wsinv", "process", "a@x"), ("lwsdisp", "process", "b@x", "R", "OPTIONS"),
                 ("unreason", "silent", "c@x"))
    runs = [_run(plan, [_entry("wsinv", 400, cid="a@x"), _entry("lwsdisp"), _entry("unreason", 200, cid="c@x")])]
    bad = _bad(_judge(tmp_path, runs, answers=[("a@x", 400, "9 INVITE")]))
    assert [f.rule for f in bad] == ["RFC4475-wsinv", "RFC4475-lwsdisp", "RFC4475-unreason"]
    assert "no answer" in bad[1].message and bad[0].frames


def test_application_layer_codes_are_exact_and_insuf_may_be_dropped(tmp_path):
    plan = _plan(("unkscm", (416,), "a@x"), ("bext01", (420,), "b@x"), ("insuf", (400,), ""))
    good = [_run(plan, [_entry("unkscm", 416, cid="a@x"), _entry("bext01", 420, cid="b@x"), _entry("insuf")])]
    assert not _bad(_judge(tmp_path, good))
    wrong = [_run(plan, [_entry("unkscm", 400, cid="a@x"), _entry("bext01", 200, cid="b@x"), _entry("insuf")])]
    bad = _bad(_judge(tmp_path, wrong))
    assert [f.rule for f in bad] == ["RFC4475-unkscm", "RFC4475-bext01"]
    assert "expected 416" in bad[0].message and "observed unkscm" in bad[0].message


def test_unknown_dialog_bye_and_ack(tmp_path):
    plan = _plan(("rob04-bye", (481,), "a@x", "M", "BYE"))
    plan[0]["section"] = "ROB-04"
    bad = _bad(_judge(tmp_path, [_run(plan, [_entry("rob04-bye", 404, cid="a@x")])]))
    assert [(f.rule, f.severity) for f in bad] == [("RFC3261-14", "M")]


def test_hang_after_a_message_fails_naming_it_and_its_evidence(tmp_path):
    plan = _plan(("badvers", "reject", "a@x"), ("mismatch02", "reject", "b@x"), ("bigcode", "silent", "c@x"))
    runs = [_run(plan, [_entry("badvers", 505, cid="a@x"), _entry("mismatch02", probe=False)],
                 stopped="the DUT did not answer the liveness probe after mismatch02", evidence="input-mismatch02.sip")]
    bad = _bad(_judge(tmp_path, runs))
    assert [f.rule for f in bad] == ["ROB-ALIVE"] and bad[0].severity == "M"
    assert "none after mismatch02 (input saved as input-mismatch02.sip)" in bad[0].message


def test_dead_dut_fails_with_the_last_message(tmp_path):
    plan = _plan(("badvers", "reject", "a@x"))
    runs = [_run(plan, [_entry("badvers", 505, cid="a@x")])]
    bad = _bad(_judge(tmp_path, runs, died="DUT process died during the test: kamailio (exit -6)"))
    assert [f.rule for f in bad] == ["ROB-ALIVE"] and "kamailio (exit -6)" in bad[0].message
    assert "last message sent: badvers" in bad[0].message


def test_relayed_torture_invite_answered_2xx_is_a_dialog_left_behind(tmp_path):
    plan = _plan(("baddate", "tolerant", "a@x"))
    runs = [_run(plan, [_entry("baddate", 200, cid="a@x")])]
    bad = _bad(_judge(tmp_path, runs, relayed=[(f"{TID}-baddate", "far-a@x", "INVITE")]))
    assert [f.rule for f in bad] == ["ROB-DIALOG"] and bad[0].frames


def test_a_message_never_sent_is_an_error_not_a_verdict(tmp_path):
    plan = _plan(("badvers", "reject", "a@x"), ("ncl", "reject", "b@x"))
    with pytest.raises(StimulusMissing):
        _judge(tmp_path, [_run(plan, [_entry("badvers", 505, cid="a@x")], stopped="time limit (45 s) reached")])
    with pytest.raises(StimulusMissing):
        _judge(tmp_path, [])


# ---- the builders and the sender's reader -------------------------------------------------------------------------
@pytest.mark.parametrize("which", list(torture.SETS))
def test_torture_sets_are_well_formed_where_they_should_be(which):
    msgs = torture.build(which, TARGET)
    assert msgs and len({m.name for m in msgs}) == len(msgs)
    for m in msgs:
        head, _, body = m.data.partition(b"\r\n\r\n")
        assert not m.udp_only                      # the stream target leaves the datagram-only ones out
        assert not m.call_id or m.call_id.encode() in head
        if m.marker:
            assert f"X-Sipqual-Test: {m.marker}".encode() in head and m.marker.startswith(TID)
        declared = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
        if declared == [f"Content-Length: {len(body)}".encode()]:
            continue
        assert m.expect != "process" or m.name == "escnull", m.name   # only invalid ones may lie about the length
    assert any(m.expect == "silent" or m.expect == "process" for m in msgs) or which in ("application", "stray")


def test_udp_target_adds_the_datagram_tests_and_probes_are_unique():
    udp = torture.Target("198.51.100.1", 5060, "UDP", FAR, 15071, "+14255550123", TID)
    assert {"dblreq", "clerr"} <= {m.name for s in ("valid", "invalid") for m in torture.build(s, udp)}
    dbl = next(m for m in torture.build("valid", udp) if m.name == "dblreq")
    first, rest = rawsip.split_stream(dbl.data)
    assert len(first) == 2 and first[1].startswith(b"INVITE ")       # a whole second request after the body
    probes = [torture.probe(udp, n) for n in range(3)]
    assert len({p.call_id for p in probes}) == 3 and all(p.expect == (200,) for p in probes)


def test_stream_framing_ack_and_far_uas_answers():
    inv = torture.build("application", TARGET)
    one = next(m for m in inv if m.name == "invut").data
    msgs, rest = rawsip.split_stream(one + one[:40])
    assert msgs == [one] and rest == one[:40]
    resp = (b"SIP/2.0 415 Unsupported\r\nVia: SIP/2.0/TCP 192.0.2.10:15070;branch=z9hG4bKx\r\n"
            b"From: <sip:torture@192.0.2.10>;tag=a\r\nTo: <sip:x@sbc.lab.example>;tag=b\r\nCall-ID: c1\r\n"
            b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
    ack = rawsip.ack_for(one, resp).decode()
    assert ack.startswith("ACK sip:+15550002000@sbc.lab.example:5066 SIP/2.0\r\n")
    assert "CSeq: 1 ACK" in ack and "To: <sip:x@sbc.lab.example>;tag=b" in ack and "Call-ID: c1" in ack
    assert rawsip.summary(resp)["status"] == 415
    codes = {m.name: (rawsip.answer_status(m.data) or (None,))[0] for m in inv}
    assert codes["invut"] == 415 and codes["sdp01"] == 406 and codes["multi01"] == 400
    assert rawsip.answer_status(next(m for m in torture.build("stray", TARGET) if m.name == "rob04-ack").data) is None


# ---- TC-ROB-05 ----------------------------------------------------------------------------------------------------
LYNC = ("v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=session\r\nc=IN IP4 {ip}\r\nb=CT:99980\r\nt=0 0\r\n"
        "m=audio {port} RTP/AVP 0 101\r\na=x-ssrc-range:1-1\r\na=x-bandwidth:min=8000 max=64000\r\n"
        "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
        "m=video 0 RTP/AVP 122\r\na=rtpmap:122 X-H264UC/90000\r\nm=applicationsharing 0 TCP/RTP/AVP 127\r\n")


def _lync_call(tmp_path, answer_lines: int):
    c = Capture()
    num, tid = "+15550002000", "TC-ROB-05-tcp-abc"

    def m(src, dst, start, leg, cseq, *extra, tag="", body=""):
        c.udp(src, dst, sip(start, f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK{leg}{cseq.split()[1]}",
                            "Max-Forwards: 70", f"From: <sip:+100@{MS}>;tag=f{leg}", f"To: <sip:{num}@{DUT}>{tag}",
                            f"Call-ID: {leg}@x", f"CSeq: {cseq}", f"Contact: <sip:{src}>", *extra,
                            *(["Content-Type: application/sdp"] if body else []), body=body))

    m(MS, DUT, f"INVITE sip:{num}@{DUT} SIP/2.0", "a", "1 INVITE", f"{checks.MARKER}: {tid}",
      body=LYNC.format(ip=MS, port=30000))
    m(DUT, FAR, f"INVITE sip:{num}@{FAR} SIP/2.0", "b", "1 INVITE", body=LYNC.format(ip=DUT, port=40000))
    ans = sdp(1, FAR, 50000) + "".join(["m=video 0 RTP/AVP 122\r\n", "m=applicationsharing 0 TCP/RTP/AVP 127\r\n"]
                                       [:answer_lines - 1])
    m(FAR, DUT, "SIP/2.0 200 OK", "b", "1 INVITE", tag=";tag=t", body=ans)
    dut_ans = sdp(1, DUT, 40002) + "".join(["m=video 0 RTP/AVP 122\r\n", "m=applicationsharing 0 TCP/RTP/AVP 127\r\n"]
                                           [:answer_lines - 1])
    m(DUT, MS, "SIP/2.0 200 OK", "a", "1 INVITE", tag=";tag=t", body=dut_ans)
    m(MS, DUT, f"ACK sip:{DUT} SIP/2.0", "a", "1 ACK", tag=";tag=t")
    m(MS, DUT, f"BYE sip:{DUT} SIP/2.0", "a", "2 BYE", tag=";tag=t")
    m(DUT, MS, "SIP/2.0 200 OK", "a", "2 BYE", tag=";tag=t")
    path = tmp_path / "lync.pcapng"
    c.write(path)
    spec = checks.CallSpec(tid, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=num)
    return checks.lync_sdp_accepted(read_trace(path), spec=spec)


def test_lync_sdp_call_with_one_answer_line_per_offered_passes(tmp_path):
    found = _lync_call(tmp_path, 3)
    assert not _bad(found)
    assert any("a=x- attributes kept: x-ssrc-range, x-bandwidth" in f.message for f in found)


def test_lync_sdp_answer_dropping_m_lines_fails(tmp_path):
    bad = _bad(_lync_call(tmp_path, 1))
    assert [f.rule for f in bad] == ["MED-02"] and "an answer with 3 m= lines" in bad[0].message


# ---- opt-in for real gear -----------------------------------------------------------------------------------------
def test_destructive_cases_run_on_the_managed_lab_and_only_opted_in_real_gear(tmp_path):
    from sipqual.profile import load_profile

    duts = Path(__file__).resolve().parent.parent / "lab" / "duts"
    assert load_profile(duts / "reference-sbc.yaml").destructive
    external = load_profile(duts / "external-template.yaml")
    assert not external.destructive
    opted = tmp_path / "opted.yaml"
    opted.write_text(f"schema: sipqual-dut/1\nextends: {duts / 'external-template.yaml'}\npixit:\n  destructive: true\n")
    assert load_profile(opted).destructive
    # the suite's declarations, read (importing suites/ here would declare its cases a second time)
    import ast  # noqa: PLC0415

    tree = ast.parse((duts.parent.parent / "suites" / "test_rob.py").read_text())
    flags = {}
    for fn in tree.body:
        for d in getattr(fn, "decorator_list", []):
            if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "case":
                kw = {k.arg: k.value for k in d.keywords}
                flags[d.args[0].value] = bool(kw.get("destructive") and kw["destructive"].value)
    assert flags == {"TC-ROB-01": True, "TC-ROB-02": True, "TC-ROB-03": True, "TC-ROB-04": True, "TC-ROB-05": False}


# ---- bounded fuzzing ----------------------------------------------------------------------------------------------
def test_fuzz_inputs_replay_by_seed_and_differ_across_seeds():
    from sipqual import fuzz

    a = torture.build("fuzz", TARGET, seed=7, count=40)
    assert [m.data for m in a] == [m.data for m in torture.build("fuzz", TARGET, seed=7, count=40)]
    assert [m.data for m in a] != [m.data for m in torture.build("fuzz", TARGET, seed=8, count=40)]
    assert len(a) == 40 and all(m.expect == "tolerant" and m.section == "fuzz" for m in a)
    ops = {m.name.split("-")[-1] for m in a}
    assert len(ops) >= 6 and ops <= set(fuzz.OPS)
    kinds = {m.name.split("-")[3] for m in a}
    assert kinds == {"options", "invite", "bye"}
    # an input keeps its Call-ID for the check only when the mutation left it intact
    assert all(not m.call_id or m.call_id.encode() in m.data for m in a) and any(m.call_id for m in a)


def test_fuzz_run_is_judged_on_liveness_only(tmp_path):
    plan = _plan(("fuzz-7-0-invite-flip", "tolerant", "a@x"), ("fuzz-7-1-bye-nul", "tolerant", "b@x"))
    for p in plan:
        p["section"] = "fuzz"
    run = dict(_run(plan, [_entry("fuzz-7-0-invite-flip", 400, cid="a@x"), _entry("fuzz-7-1-bye-nul", probe=False)],
                    stopped="the DUT did not answer the liveness probe after fuzz-7-1-bye-nul",
                    evidence="input-fuzz-7-1-bye-nul.sip"), set="fuzz", seed=7)
    bad = _bad(_judge(tmp_path, [run]))
    assert [f.rule for f in bad] == ["ROB-ALIVE"]
    assert "fuzz, seed 7" in bad[0].message and "input saved as input-fuzz-7-1-bye-nul.sip" in bad[0].message


def test_rfc3261_08_compares_a_garbled_top_via_without_the_servers_received_and_rport():
    """A fuzz input's top Via with a stray quote in a parameter name: the DUT's received/rport are no copying fault
    (the reference's answer to seed 12's input 2), but a changed Via still is."""
    from sipqual.rules.rfc3261 import _via_key
    from sipqual.sipvalues import parse_via

    req = parse_via('SIP/2.0/TCP 192.0.2.10:15062;bra"<x\x1f)nch=z9hG4bK8b;rport')
    ours = parse_via('SIP/2.0/TCP 192.0.2.10:15062;bra"<x\x1f)nch=z9hG4bK8b;rport=33251;received=192.0.2.10')
    changed = parse_via('SIP/2.0/TCP 192.0.2.10:15062;bra"<x\x1f)nch=z9hG4bK8c;rport=33251;received=192.0.2.10')
    assert _via_key(req, True) == _via_key(ours, True) != _via_key(changed, True)
    ok = parse_via("SIP/2.0/TCP 192.0.2.10:15062;branch=z9hG4bK8b;rport")
    assert _via_key(ok, True) == _via_key(parse_via("SIP/2.0/TCP 192.0.2.10:15062;branch=z9hG4bK8b;rport=1;"
                                                    "received=192.0.2.10"), True)
