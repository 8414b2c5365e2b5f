"""sipqual.tlsedge as real processes on loopback: plain -> client edge -TLS-> server edge -> plain echo server.

Ports: every listener binds port 0 and reports its real address (the edges in their "listening" event).
Nothing sleeps: the tests wait on events, sockets and process exits, each with a deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from sipqual.pki import create_pki
from sipqual.tlsedge import read_events, wait_event, wait_listening

T = 10.0  # generous deadline for anything that should take milliseconds

HOSTS = {
    "mediation": {"cn": "mspool.lab.example", "dns": ["mspool.lab.example"], "ips": ["127.0.0.1"]},
    "dut": {"cn": "sbc.lab.example", "dns": ["sbc.lab.example"], "ips": ["127.0.0.1"]},
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = create_pki(tmp_path_factory.mktemp("pki"), HOSTS)
    p.issue("rogue-dut", "sbc.lab.example", ["sbc.lab.example"], ["127.0.0.1"], ca="rogue")
    p.issue("rogue-mediation", "mspool.lab.example", ["mspool.lab.example"], ["127.0.0.1"], ca="rogue")
    return p


class Recorder:
    """Plain TCP server on 127.0.0.1:0 that records every byte of every connection and echoes it back."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.lock = threading.Lock()
        self.conns: list[bytearray] = []
        self.socks: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            buf = bytearray()
            with self.lock:
                self.conns.append(buf)
                self.socks.append(c)
            t = threading.Thread(target=self._serve, args=(c, buf), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, c, buf):
        while True:
            try:
                data = c.recv(65536)
                if not data:
                    return
                with self.lock:
                    buf.extend(data)
                c.sendall(data)
            except OSError:
                return

    def received(self) -> list[bytes]:
        with self.lock:
            return [bytes(b) for b in self.conns]

    def close(self):
        for s in [self.sock, *self.socks]:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes accept()/recv() blocked in the threads
            except OSError:
                pass
            s.close()
        for t in self.threads:
            t.join(T)
            assert not t.is_alive()


@pytest.fixture
def recorder():
    r = Recorder()
    try:
        yield r
    finally:
        r.close()


class Edges:
    """Starts edges as subprocesses; the fixture stops every one of them and checks that none is left."""

    def __init__(self, tmp_path, pki):
        self.tmp = tmp_path
        self.pki = pki
        self.procs: list[tuple[subprocess.Popen, object]] = []

    def popen(self, *args: str, name: str) -> subprocess.Popen:
        err = open(self.tmp / f"{name}.stderr", "w+")
        proc = subprocess.Popen([sys.executable, "-m", "sipqual.tlsedge", *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        self.procs.append((proc, err))
        return proc

    def start(self, mode: str, connect: str, cert: str, *, name: str, extra=(), ca=None):
        c = self.pki.certs[cert]
        events = self.tmp / f"{name}.events"
        args = [mode, "--listen", "127.0.0.1:0", "--connect", connect, "--cert", str(c.cert), "--key", str(c.key),
                "--ca", str(ca or self.pki.ca.cert), "--events", str(events),
                "--keylog", str(self.tmp / "keys.log"), "--max-seconds", "60", *extra]
        proc = self.popen(*args, name=name)
        ev = wait_listening(events, T, proc=proc)
        assert ev["pid"] == proc.pid and ev["mode"] == mode
        return proc, events, ev["listen"]

    def stop_all(self):
        try:
            for proc, _ in self.procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc, err in self.procs:
                try:
                    proc.wait(T)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(T)
                    pytest.fail(f"edge pid {proc.pid} ignored SIGTERM")
                err.seek(0)
                stderr = err.read()
                assert "Traceback" not in stderr, stderr
                assert proc.returncode in (0, 2), (proc.returncode, stderr)
        finally:
            for proc, err in self.procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                err.close()
        assert all(p.poll() is not None for p, _ in self.procs)  # no leftovers


@pytest.fixture
def edges(tmp_path, pki):
    e = Edges(tmp_path, pki)
    try:
        yield e
    finally:
        e.stop_all()


def chain(edges, recorder, *, client_cert="dut", server_cert="mediation", client_extra=(), server_extra=()):
    """plain -> client edge -TLS-> server edge -> recorder; returns both edges as (proc, events, addr)."""
    server = edges.start("server", recorder.addr, server_cert, name="server", extra=server_extra)
    client = edges.start("client", server[2], client_cert, name="client",
                         extra=("--server-name", "mspool.lab.example", *client_extra))
    return client, server


def connect(addr: str) -> socket.socket:
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=T)
    s.settimeout(T)
    return s


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        data = s.recv(min(65536, n - len(buf)))
        assert data, f"connection closed after {len(buf)} of {n} bytes"
        buf.extend(data)
    return bytes(buf)


def recv_until_closed(s: socket.socket) -> bytes:
    buf = bytearray()
    while True:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            return bytes(buf)
        if not data:
            return bytes(buf)
        buf.extend(data)


def sip_message(i: int) -> bytes:
    body = (f"v=0\r\no=- {i} 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
            f"m=audio {20000 + 2 * i} RTP/AVP 0 101\r\n").encode() + bytes(range(256))  # every byte value
    head = (f"INVITE sip:+15551234{i:03d}@sbc.lab.example;user=phone SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-{i}\r\n"
            f"From: <sip:+1555000@mspool.lab.example;user=phone>;tag={i}\r\n"
            f"To: <sip:+15551234{i:03d}@sbc.lab.example;user=phone>\r\n"
            f"Call-ID: call-{i}@mspool.lab.example\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return head + body


def events_of(path, event):
    return [e for e in read_events(path) if e["event"] == event]


def test_relay_is_byte_exact_over_tls13(edges, recorder):
    client, server = chain(edges, recorder)
    payload = b"".join(sip_message(i) for i in range(300))  # ~200 kB: many messages, reads > 65536
    with connect(client[2]) as s:
        s.sendall(payload[:1000])  # one message split across writes
        assert recv_exact(s, 1000) == payload[:1000]
        s.sendall(payload[1000:])
        assert recv_exact(s, len(payload) - 1000) == payload[1000:]
    assert recorder.received() == [payload]

    closed_c = wait_event(client[1], "closed", T)
    closed_s = wait_event(server[1], "closed", T)
    assert closed_c["reason"] == "plain_eof" and closed_s["reason"] == "tls_eof"
    assert closed_c["bytes_plain_to_tls"] == closed_c["bytes_tls_to_plain"] == len(payload)
    assert closed_s["bytes_tls_to_plain"] == closed_s["bytes_plain_to_tls"] == len(payload)

    ok_c, = events_of(client[1], "handshake_ok")
    ok_s, = events_of(server[1], "handshake_ok")
    for ok in (ok_c, ok_s):
        assert ok["version"] == "TLSv1.3" and ok["cipher"].startswith("TLS_")
        assert ok["peer_cert_issuer"] == "CN=Lab Test CA"
    assert ok_c["peer_cert_subject"] == "CN=mspool.lab.example" and ok_c["peer"] == server[2]
    assert ok_s["peer_cert_subject"] == "CN=sbc.lab.example"
    assert ok_s["peer_cert_san"] == ["DNS:sbc.lab.example", "IP:127.0.0.1"]
    assert ok_s["sni"] == "mspool.lab.example"
    assert ok_s["peer"] == ok_c["local"]  # the report can match both ends of the TLS connection

    keylog = (edges.tmp / "keys.log").read_text()
    lines = [ln for ln in keylog.splitlines() if ln and not ln.startswith("#")]
    assert any(ln.startswith("CLIENT_") for ln in lines) and any(ln.startswith("SERVER_") for ln in lines)
    assert all(len(ln.split()) == 3 for ln in lines)


def test_several_connections_and_server_talks_first(edges, recorder):
    client, server = chain(edges, recorder)
    socks = [connect(client[2]) for _ in range(3)]
    try:
        for i, s in enumerate(socks):
            s.sendall(sip_message(i))
        for i, s in enumerate(socks):
            assert recv_exact(s, len(sip_message(i))) == sip_message(i)
    finally:
        for s in socks:
            s.close()
    assert sorted(recorder.received()) == sorted(sip_message(i) for i in range(3))
    wait_event(server[1], "closed", T, where=lambda e: e["conn"] == 3)
    assert len(events_of(server[1], "handshake_ok")) == 3


def test_max_version_12(edges, recorder):
    client, server = chain(edges, recorder, client_extra=("--max-version", "1.2"))
    msg = sip_message(7)
    with connect(client[2]) as s:
        s.sendall(msg)
        assert recv_exact(s, len(msg)) == msg
    for ev in (client[1], server[1]):
        ok, = events_of(ev, "handshake_ok")
        assert ok["version"] == "TLSv1.2"
    assert "CLIENT_RANDOM " in (edges.tmp / "keys.log").read_text()


def test_rogue_client_cert_is_rejected_and_server_edge_keeps_serving(edges, recorder, pki):
    server = edges.start("server", recorder.addr, "mediation", name="server")
    rogue = edges.start("client", server[2], "rogue-dut", name="rogue-client",
                        extra=("--server-name", "mspool.lab.example"))
    with connect(rogue[2]) as s:
        s.sendall(sip_message(1))
        assert recv_until_closed(s) == b""
    failed = wait_event(server[1], "handshake_failed", T)
    assert failed["ssl_reason"] == "CERTIFICATE_VERIFY_FAILED", failed
    assert "certificate" in failed["error"]
    assert wait_event(server[1], "closed", T)["reason"] == "handshake_failed"
    # TLS 1.3: the client learns of the rejection after its own handshake, from the alert the server edge sent.
    closed = wait_event(rogue[1], "closed", T)
    assert (closed["reason"], closed.get("ssl_reason")) == ("tls_error", "TLSV1_ALERT_UNKNOWN_CA"), closed
    assert recorder.received() == []  # the plain side never saw a connection, let alone a byte

    good = edges.start("client", server[2], "dut", name="good-client", extra=("--server-name", "mspool.lab.example"))
    with connect(good[2]) as s:
        s.sendall(sip_message(2))
        assert recv_exact(s, len(sip_message(2))) == sip_message(2)
    assert recorder.received() == [sip_message(2)]


def test_client_edge_without_certificate_is_refused_by_a_mutual_tls_server(edges, recorder):
    """--no-client-cert (the TC-TRN-03 probe): the client edge offers no certificate; a server that requires one
    refuses it (TLS 1.3: certificate_required after the client's handshake), nothing reaches the plain side."""
    client, server = chain(edges, recorder, client_extra=("--no-client-cert",))
    with connect(client[2]) as s:
        s.sendall(sip_message(1))
        assert recv_until_closed(s) == b""
    failed = wait_event(server[1], "handshake_failed", T)
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in failed["ssl_reason"], failed
    closed = wait_event(client[1], "closed", T)
    assert closed["reason"] == "tls_error" and "CERTIFICATE_REQUIRED" in closed.get("ssl_reason", ""), closed
    assert recorder.received() == []


@pytest.mark.parametrize("server_cert, server_name, why, expect_alert", [
    ("rogue-mediation", "mspool.lab.example", "unable to get local issuer certificate", "TLSV1_ALERT_UNKNOWN_CA"),
    ("mediation", "wrong.lab.example", "Hostname mismatch", "SSLV3_ALERT_BAD_CERTIFICATE"),
])
def test_client_edge_rejects_bad_server(edges, recorder, server_cert, server_name, why, expect_alert):
    server = edges.start("server", recorder.addr, server_cert, name="server")
    client = edges.start("client", server[2], "dut", name="client", extra=("--server-name", server_name))
    with connect(client[2]) as s:
        s.sendall(sip_message(1))
        assert recv_until_closed(s) == b""
    failed = wait_event(client[1], "handshake_failed", T)
    assert failed["ssl_reason"] == "CERTIFICATE_VERIFY_FAILED" and why in failed["error"], failed
    assert failed["peer"] == server[2]
    assert wait_event(client[1], "closed", T)["reason"] == "handshake_failed"
    # the client edge told the server why, with an alert
    alert = wait_event(server[1], "handshake_failed", T)["ssl_reason"]
    assert alert == expect_alert
    assert recorder.received() == []


@pytest.mark.parametrize("mode", ["client", "server"])
def test_connect_failure_closes_the_accepted_side(edges, mode):
    closed_port = socket.create_server(("127.0.0.1", 0))
    dead = f"127.0.0.1:{closed_port.getsockname()[1]}"
    closed_port.close()  # nothing listens there now
    if mode == "client":
        client = edges.start("client", dead, "dut", name="client", extra=("--server-name", "mspool.lab.example"))
        watch = client[1]
    else:
        server = edges.start("server", dead, "mediation", name="server")
        client = edges.start("client", server[2], "dut", name="client", extra=("--server-name", "mspool.lab.example"))
        watch = server[1]
    with connect(client[2]) as s:
        s.sendall(sip_message(1))
        assert recv_until_closed(s) == b""
    failed = wait_event(watch, "connect_failed", T)
    assert failed["peer"] == dead and "Connection refused" in failed["error"], failed
    assert wait_event(watch, "closed", T)["reason"] == "connect_failed"


@pytest.mark.parametrize("sig, first", [(signal.SIGTERM, "client"), (signal.SIGINT, "server")])
def test_signal_stops_promptly_with_open_connection(edges, recorder, sig, first):
    client, server = chain(edges, recorder)
    stopped, other = (client, server) if first == "client" else (server, client)
    with connect(client[2]) as s:
        s.sendall(sip_message(1))
        recv_exact(s, len(sip_message(1)))
        t0 = time.monotonic()
        stopped[0].send_signal(sig)
        assert stopped[0].wait(T) == 0
        assert time.monotonic() - t0 < 3.0
        assert recv_until_closed(s) == b""
    assert wait_event(stopped[1], "stopped", T)["reason"] == sig.name
    assert events_of(stopped[1], "closed")[0]["reason"] == "shutdown"
    # the other edge got a TLS close_notify, closed its side and keeps serving
    assert wait_event(other[1], "closed", T)["reason"] == "tls_eof"
    assert other[0].poll() is None
    other[0].send_signal(sig)
    assert other[0].wait(T) == 0
    assert wait_event(other[1], "stopped", T)["reason"] == sig.name


def test_max_seconds_bounds_lifetime(edges, recorder, pki):
    c = pki.certs["mediation"]
    events = edges.tmp / "short.events"
    proc = edges.popen("server", "--listen", "127.0.0.1:0", "--connect", recorder.addr, "--cert", str(c.cert),
                       "--key", str(c.key), "--ca", str(pki.ca.cert), "--events", str(events),
                       "--max-seconds", "0.3", name="short")
    wait_listening(events, T, proc=proc)
    assert proc.wait(T) == 0
    assert wait_event(events, "stopped", T)["reason"] == "max_seconds"


@pytest.mark.parametrize("change, expect", [
    ({"--cert": "/nonexistent/dut.crt"}, "cannot read --cert /nonexistent/dut.crt"),
    ({"--key": "CERT"}, "cannot load --cert"),  # a certificate where the key should be
    ({"--ca": "/nonexistent/ca.crt"}, "cannot read --ca"),
    ({"--listen": "127.0.0.1"}, "expected HOST:PORT"),
    ({"--connect": "127.0.0.1:0"}, "port out of range"),
    ({"--min-version": "1.4"}, "invalid choice"),
    ({"--max-seconds": "-1"}, "must be > 0"),
    ({"--source": "192.0.2.1"}, "only for client mode"),
    ({"--ciphers": "NO-SUCH-CIPHER"}, "selects no cipher"),
    ({"--connect": None}, "required: --connect"),
])
def test_bad_arguments_exit_2_with_one_line(edges, pki, change, expect):
    c = pki.certs["dut"]
    opts = {"--listen": "127.0.0.1:0", "--connect": "127.0.0.1:9", "--cert": str(c.cert), "--key": str(c.key),
            "--ca": str(pki.ca.cert)}
    opts.update({k: (str(c.cert) if v == "CERT" else v) for k, v in change.items()})
    args = ["server"] + [x for k, v in opts.items() if v is not None for x in (k, v)]
    proc = edges.popen(*args, name="bad")
    assert proc.wait(T) == 2
    stderr = (edges.tmp / "bad.stderr").read_text()
    assert stderr.count("\n") == 1 and stderr.startswith("tlsedge: error: ") and expect in stderr, stderr


def test_wait_listening_times_out_and_sees_exit(tmp_path):
    with pytest.raises(TimeoutError, match="no 'listening' event"):
        wait_listening(tmp_path / "none.events", 0.05)
    proc = subprocess.Popen([sys.executable, "-m", "sipqual.tlsedge", "client"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with pytest.raises(RuntimeError, match="exited with code 2"):
            wait_listening(tmp_path / "none.events", T, proc=proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(T)
    assert proc.returncode == 2
    assert not os.path.exists(tmp_path / "none.events")


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_dut_refusing_our_certificate_is_a_tls02_fail_not_a_pass(edges, recorder, pki, version):
    """Real edges, rogue CA: the server edge plays a DUT that trusts only the lab CA; the client edge plays our
    Mediation side presenting a certificate from the rogue CA. The DUT's refusal (an unknown_ca alert; with TLS 1.3 it
    arrives after our own handshake completed) must fail TLS-02, with a hint naming the CA and names we presented."""
    from sipqual.tlsfindings import tls_findings

    extra = ("--server-name", "mspool.lab.example") + (("--max-version", "1.2") if version == "1.2" else ())
    server = edges.start("server", recorder.addr, "mediation", name="dut")
    ours = edges.start("client", server[2], "rogue-dut", name="ours", extra=extra)
    with connect(ours[2]) as s:
        s.sendall(sip_message(1))
        assert recv_until_closed(s) == b""
    wait_event(ours[1], "closed", T)
    found = tls_findings(read_events(ours[1]))
    bad = [f for f in found if not f.ok]
    assert [(f.rule, f.severity, f.requirements) for f in bad] == [("TLS-02", "M", ["TLS-01", "TLS-02"])], found
    assert "unknown_ca" in bad[0].message and "DUT as TLS server" in bad[0].message
    assert "hint: does the device trust CN=Rogue Test CA and accept DNS:sbc.lab.example, IP:127.0.0.1?" in \
        bad[0].message
