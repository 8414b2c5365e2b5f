"""The Mediation front (sipqual.msfront) as a real process on 127.0.0.1 with plain sockets: framing, the OPTIONS
answer (RFC 3261 §8.2.6, §11), 503 without a case, relay to a case's agent both ways, connections closed at case
start, TLS keys and events going to the case's files. Nothing sleeps: every wait is on a socket or a file, bounded."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time

import pytest

from sipqual.errors import LabError
from sipqual.frontctl import Front, options_summary, read_options
from sipqual.pki import create_pki
from sipqual.procs import Proc
from sipqual.sipmsg import parse_message
from sipqual.sipstream import PING, SipFramer
from sipqual.tlsio import read_events, wait_event, wait_listening

T = 10.0
HOSTS = {
    "mediation": {"cn": "mspool.lab.example", "dns": ["mspool.lab.example"], "ips": ["127.0.0.1"]},
    "dut": {"cn": "sbc.lab.example", "dns": ["sbc.lab.example"], "ips": ["127.0.0.1"]},
}


def options(call_id="opt-1", extra_via=True, to_tag=None) -> bytes:
    vias = ["Via: SIP/2.0/TCP sbc.lab.example:5066;branch=z9hG4bK-top;rport"]
    if extra_via:
        vias.append("Via: SIP/2.0/TCP 192.0.2.99:5060;branch=z9hG4bK-second")
    to = "<sip:mspool.lab.example>" + (f";tag={to_tag}" if to_tag else "")
    return ("\r\n".join(["OPTIONS sip:mspool.lab.example:5068;transport=tcp SIP/2.0", *vias, "Max-Forwards: 70",
                         'From: "SBC" <sip:ping@sbc.lab.example>;tag=abc', f"To: {to}", f"Call-ID: {call_id}",
                         "CSeq: 7 OPTIONS", "User-Agent: test-dut", "Content-Length: 0"]) + "\r\n\r\n").encode()


def invite(call_id="inv-1") -> bytes:
    body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    head = "\r\n".join(["INVITE sip:+14255550123@mspool.lab.example:5068;transport=tcp SIP/2.0",
                        "Via: SIP/2.0/TCP 127.0.0.1:5066;branch=z9hG4bK-inv", "Max-Forwards: 70",
                        "From: <sip:+15550001000@sbc.lab.example>;tag=f1", "To: <sip:+14255550123@mspool.lab.example>",
                        f"Call-ID: {call_id}", "CSeq: 1 INVITE", "Contact: <sip:127.0.0.1:5066;transport=tcp>",
                        "Content-Type: application/sdp", f"Content-Length: {len(body)}"])
    return head.encode() + b"\r\n\r\n" + body


class Reader:
    """Frames SIP responses from a socket (plain or TLS) with a deadline."""

    def __init__(self, sock):
        self.sock, self.framer, self.queue = sock, SipFramer(), []

    def next(self, timeout=T):
        deadline = time.monotonic() + timeout
        while not self.queue:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed")
            self.queue += self.framer.feed(data)
        return parse_message(self.queue.pop(0))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("pki"), HOSTS)


def start(tmp_path, pki, *extra) -> Front:
    d = tmp_path
    argv = [sys.executable, "-m", "sipqual.msfront", "--tcp", "127.0.0.1:0", "--tls", "127.0.0.1:0",
            "--cert", str(pki.certs["mediation"].cert), "--key", str(pki.certs["mediation"].key),
            "--ca", str(pki.ca.cert), "--keylog", str(d / "run-keys.log"), "--events", str(d / "front.events.jsonl"),
            "--options-log", str(d / "options.jsonl"), "--control", str(d / "front.sock"), "--max-seconds", "120",
            *extra]
    popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(d / "front.stderr", "wb"),
                             start_new_session=True)
    proc = Proc("msfront", argv, popen, d / "front.stdout", d / "front.stderr")
    ev = wait_listening(d / "front.events.jsonl", T, proc=popen)
    return Front(proc, d / "front.sock", d / "front.events.jsonl", d / "options.jsonl", ev["listen_all"])


@pytest.fixture
def front(tmp_path, pki):
    f = start(tmp_path, pki)
    yield f
    f.proc.stop(grace=3)
    assert f.proc.returncode == 0, f.proc.stderr_tail()


def addr(front, transport):
    host, port = front.listen[transport].rsplit(":", 1)
    return host, int(port)


def tcp(front):
    s = socket.create_connection(addr(front, "tcp"), timeout=T)
    return s, Reader(s)


def tls(front, pki, cert=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(pki.ca.cert))
    if cert:
        ctx.load_cert_chain(str(pki.certs["dut"].cert), str(pki.certs["dut"].key))
    raw = socket.create_connection(addr(front, "tls"), timeout=T)
    s = ctx.wrap_socket(raw, server_hostname="mspool.lab.example")
    return s, Reader(s)


class Backend:
    """The case's agent: a plain TCP server on 127.0.0.1:0 that keeps what it receives."""

    def __init__(self):
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.srv.settimeout(T)
        self.port = self.srv.getsockname()[1]
        self.conn = None

    def receive(self, n: int) -> bytes:
        if self.conn is None:
            self.conn, _ = self.srv.accept()
            self.conn.settimeout(T)
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


# ---- framing --------------------------------------------------------------------------------------------------------
def test_framer_splits_pipelined_and_joins_split_messages():
    a, b = options("a"), invite("b")
    f = SipFramer()
    assert f.feed(a + b) == [a, b]
    whole = []
    for i in range(len(b)):               # one byte at a time: the message comes out once, complete
        whole += f.feed(b[i:i + 1])
    assert whole == [b]
    assert f.feed(b"\r\n\r\n" + a[:10]) == [PING] and f.feed(a[10:]) == [a]
    g = SipFramer()
    assert g.feed(b"OPTIONS sip:x SIP/2.0\r\nCall-ID: 1\r\n\r\n") and g.missing_length == 1


# ---- OPTIONS ----------------------------------------------------------------------------------------------------------
def test_options_answered_as_rfc3261_requires_and_logged(front):
    s, r = tcp(front)
    port = s.getsockname()[1]
    with s:
        req = parse_message(options())
        s.sendall(options())
        resp = r.next()
    assert resp.status == 200
    vias = resp.values("Via")                               # every Via, in order (§8.2.6.2)
    assert len(vias) == 2 and vias[1] == req.values("Via")[1]
    top = vias[0]                                           # §18.2.1 received (sent-by is a name), RFC 3581 rport
    assert top.startswith(req.values("Via")[0].split(";rport")[0]) and ";received=127.0.0.1" in top
    assert f";rport={port}" in top
    for h in ("From", "Call-ID", "CSeq"):
        assert resp.get(h) == req.get(h), h
    assert resp.to.uri == req.to.uri and resp.to.tag       # To copied, our tag added
    assert "OPTIONS" in resp.allow and "INVITE" in resp.allow
    assert resp.get("Accept") == "application/sdp" and resp.has("Supported") and resp.content_length == 0
    assert not [d for d in resp.defects if "Supported" not in d], resp.defects
    rec, = read_options(front.options_log)
    assert rec["transport"] == "tcp" and rec["answered"] == 200 and rec["call_id"] == "opt-1"
    assert rec["source"] == f"127.0.0.1:{port}" and rec["user_agent"] == "test-dut"
    assert rec["ruri"] == "sip:mspool.lab.example:5068;transport=tcp" and "Max-Forwards" in rec["headers"]


def test_pipelined_split_and_ping(front):
    s, r = tcp(front)
    with s:
        s.sendall(options("p1") + options("p2"))
        assert [r.next().call_id, r.next().call_id] == ["p1", "p2"]
        msg = options("p3")
        s.sendall(msg[:25])
        s.sendall(msg[25:])
        assert r.next().call_id == "p3"
        s.sendall(PING)
        s.settimeout(T)
        assert s.recv(16) == b"\r\n"                        # RFC 5626 pong
    assert [x["call_id"] for x in read_options(front.options_log)] == ["p1", "p2", "p3"]
    summary = options_summary(front.options_log)
    assert summary["count"] == 3 and summary["transports"]["tcp"]["interval_s"]["min"] >= 0


def test_options_left_unanswered_on_request_then_answered_again(front):
    """A pool member that stops answering OPTIONS and recovers (TC-OPT-04): the control op switches the front."""
    s, r = tcp(front)
    with s:
        s.sendall(options("up-1"))
        assert r.next().call_id == "up-1"
        front.options_mode("drop")
        s.sendall(options("silent"))
        deadline = time.monotonic() + T                    # the front logged it (unanswered) before we switch back
        while len(read_options(front.options_log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        front.options_mode("answer")
        s.sendall(options("up-2"))
        assert r.next().call_id == "up-2"                  # nothing came for "silent"
    assert [(x["call_id"], x["answered"]) for x in read_options(front.options_log)] == \
        [("up-1", 200), ("silent", None), ("up-2", 200)]
    with pytest.raises(LabError, match="answer or drop"):
        front.call("options", mode="relay")


def test_in_dialog_options_is_not_answered_by_the_front(front):
    s, r = tcp(front)
    with s:
        s.sendall(options("dlg", to_tag="theirs"))
        resp = r.next()
    assert resp.status == 503 and read_options(front.options_log) == []


# ---- no case: 503 ------------------------------------------------------------------------------------------------------
def test_request_without_a_case_gets_503_with_retry_after(front):
    s, r = tcp(front)
    with s:
        s.sendall(invite("nocase"))
        resp = r.next()
        s.sendall(b"ACK sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5066;branch=z9hG4bK-a\r\n"
                  b"Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=f1\r\nTo: <sip:c@d>;tag=x\r\nCall-ID: nocase\r\n"
                  b"CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n" + options("after-ack"))
        after = r.next()
    assert resp.status == 503 and resp.get("Retry-After") and resp.to.tag and resp.cseq_method == "INVITE"
    assert after.status == 200 and after.call_id == "after-ack"   # the ACK got no answer, the next message did
    ev = [e for e in read_events(front.events) if e["event"] == "no_case"]
    assert [(e["method"], e.get("answered")) for e in ev] == [("INVITE", 503), ("ACK", None)]


# ---- a case: relay, close at begin, TLS files ----------------------------------------------------------------------------
def test_case_relays_both_ways_and_options_stay_with_the_front(front):
    before, _ = tcp(front)
    reply = front.begin("case-1", None, None)
    assert reply["closed"] == 1
    before.settimeout(T)
    assert before.recv(1) == b""                            # the connection opened before the case was closed
    agent = Backend()
    front.backend("127.0.0.1", agent.port)
    s, r = tcp(front)
    with s:
        s.sendall(options("during") + invite("relayed"))
        assert r.next().call_id == "during"                  # answered by the front
        got = agent.receive(len(invite("relayed")))
        assert got == invite("relayed")                      # relayed unchanged, OPTIONS not
        bye = (b"BYE sip:x@127.0.0.1:5066 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:15060;branch=z9hG4bK-b\r\n"
               b"Max-Forwards: 70\r\nFrom: <sip:c@d>;tag=t2\r\nTo: <sip:a@b>;tag=f1\r\nCall-ID: relayed\r\n"
               b"CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n")
        agent.conn.sendall(bye)
        back = r.next()
        assert back.method == "BYE" and back.call_id == "relayed"
        front.end()
        agent.conn.settimeout(T)
        assert agent.conn.recv(1) == b""                    # case end closes the agent's side only
        s.sendall(invite("after-end"))
        assert r.next().status == 503
    assert front.call("status")["case"] is None


def test_tls_case_gets_the_handshake_keys_and_events(front, pki, tmp_path):
    s0, r0 = tls(front, pki)
    with s0:
        s0.sendall(options("before"))
        assert r0.next().status == 200
        keylog, events = tmp_path / "case-keys.log", tmp_path / "case-tls.events.jsonl"
        assert front.begin("case-tls", keylog, events)["closed"] == 1
        with pytest.raises((EOFError, ssl.SSLError, OSError)):
            r0.next()                                        # closed by the front
    s, r = tls(front, pki)
    with s:
        s.sendall(options("in-case"))
        assert r.next().status == 200
    ok = wait_event(events, "handshake_ok", T)
    assert ok["mode"] == "server" and "sbc.lab.example" in ok["peer_cert_subject"]
    assert "CLIENT_TRAFFIC_SECRET_0" in keylog.read_text() or "CLIENT_RANDOM" in keylog.read_text()
    front.end()
    with pytest.raises((ssl.SSLError, OSError, EOFError)):
        s2, r2 = tls(front, pki, cert=False)               # mutual TLS: no client certificate, no connection
        s2.sendall(options("nocert"))
        r2.next()
    wait_event(front.events, "handshake_failed", T)
    assert [x["call_id"] for x in read_options(front.options_log)] == ["before", "in-case"]


def test_dropping_options_is_a_test_switch(tmp_path, pki):
    f = start(tmp_path, pki, "--options", "drop")
    try:
        s, r = tcp(f)
        with s:
            s.sendall(options("dropped") + invite("x"))
            assert r.next().status == 503                    # the INVITE's answer comes first: OPTIONS got none
        rec, = read_options(f.options_log)
        assert rec["call_id"] == "dropped" and rec["answered"] is None
    finally:
        f.proc.stop(grace=3)


def test_bad_arguments_are_one_line(tmp_path):
    cp = subprocess.run([sys.executable, "-m", "sipqual.msfront", "--tls", "127.0.0.1:0", "--events",
                         str(tmp_path / "e"), "--options-log", str(tmp_path / "o"), "--control", str(tmp_path / "c")],
                        capture_output=True, text=True, timeout=T)
    assert cp.returncode == 2 and cp.stderr.count("\n") == 1 and "--tls needs --cert" in cp.stderr
    assert json.dumps(cp.stderr)  # one line, no traceback
