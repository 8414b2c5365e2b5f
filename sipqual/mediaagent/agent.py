"""The media agent's process: its streams' sockets, one loop, the control file and the report.

One loop serves every stream of the agent: it waits (select) for datagrams until the next stream's tick is due, reads
at most :data:`MAX_READS` datagrams per socket per turn, sends the due ticks (a sender that fell more than
:data:`MAX_CATCH_UP` ticks behind skips them, counted, as a real sender's gap), and RTCP when its RFC 3550 interval
is up. It ends on SIGTERM/SIGINT, after ``max_seconds`` or after :data:`MAX_TURNS` turns, whichever comes first, and
then sends RTCP BYE and writes ``report.json`` (atomically). SIGUSR1 makes it read ``control.json`` (written
atomically by the case: ``{"seq": n, "updates": {"<stream>": {field: value}}}``) and apply the updates: a moved
peer, new keys, a new plan."""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import socket
import time
from pathlib import Path

from . import packets
from .config import AgentConfig, StreamConfig
from .receiver import Receiver
from .sender import Sender
from .srtp import Protector, SdesKey

MAX_READS = 64               # datagrams read per socket per loop turn
MAX_CATCH_UP = 5             # ticks sent late in one turn; beyond that the sender skips (counted in late_skipped)
MAX_TURNS_PER_S = 4000       # loop turns allowed per second of max_seconds (bounds the loop by count too)
RTCP_COMPENSATION = 2.71828 - 1.5      # RFC 3550 6.3.1: e - 3/2


class Endpoint:
    """One stream: RTP socket, RTCP socket (unless rtcp-mux), a Sender and a Receiver."""

    def __init__(self, cfg: StreamConfig, sel: selectors.BaseSelector, start: float):
        self.cfg = cfg
        self.rtp_sock = self._bind(cfg.port)
        self.local_port = self.rtp_sock.getsockname()[1]
        self.rtcp_sock = None if cfg.rtcp_mux else self._bind(self.local_port + 1 if cfg.port else 0)
        sel.register(self.rtp_sock, selectors.EVENT_READ, (self, False))
        self.send_sock = self._bind(cfg.send_port) if cfg.send_port else self.rtp_sock
        if self.send_sock is not self.rtp_sock:       # what comes back to the NAT mapping is read too
            sel.register(self.send_sock, selectors.EVENT_READ, (self, False))
        if self.rtcp_sock is not None:
            sel.register(self.rtcp_sock, selectors.EVENT_READ, (self, True))
        self.sender = Sender(cfg)
        self.receiver = Receiver(cfg)
        self.protect = Protector(cfg.send_sdes) if cfg.send_key else None
        self.start = start
        self.next_tick = 0
        self.late_skipped = 0
        self.max_late_ms = 0.0
        self.rtcp_sent = 0
        self.send_errors = 0
        self.first_error = ""
        self.updates: list[dict] = []
        self.initial_rtcp = True
        self.next_rtcp = start + self._rtcp_interval()
        self.last_sent_rtp = 0.0

    def _bind(self, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET6 if ":" in self.cfg.bind else socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((self.cfg.bind, port))
        s.setblocking(False)
        return s

    @property
    def tick_s(self) -> float:
        return self.cfg.ptime / 1000.0

    def due(self) -> float:
        return self.start + self.next_tick * self.tick_s

    def _rtcp_interval(self) -> float:
        """RFC 3550 6.3.1 for two participants: Td = Tmin (halved for the first report), randomised over
        [0.5, 1.5] Td and divided by e - 3/2."""
        td = self.cfg.rtcp_interval / (2 if getattr(self, "initial_rtcp", True) else 1)
        return td * random.uniform(0.5, 1.5) / RTCP_COMPENSATION

    # ---- sending ------------------------------------------------------------------------------------------------
    def _send(self, data: bytes, rtcp: bool) -> None:
        cfg = self.cfg
        if not cfg.peer or not cfg.peer_port:
            return
        dest = (cfg.peer, cfg.rtcp_dest_port if rtcp else cfg.peer_port)
        if cfg.latch and not rtcp and self.receiver.last_source is not None:
            dest = self.receiver.last_source
        if self.protect is not None:
            data = self.protect.rtcp(data) if rtcp else self.protect.rtp(data)
        sock = self.rtcp_sock if rtcp and self.rtcp_sock is not None else self.rtp_sock if rtcp else self.send_sock
        try:
            sock.sendto(data, dest)
        except OSError as e:          # unreachable peer (ICMP), no route: counted, the stream goes on
            self.send_errors += 1
            self.first_error = self.first_error or f"send to {dest}: {e}"

    def run_ticks(self, now: float) -> None:
        behind = int((now - self.due()) / self.tick_s)
        if behind > MAX_CATCH_UP:
            self.late_skipped += behind - MAX_CATCH_UP
            self.next_tick += behind - MAX_CATCH_UP
        for _ in range(MAX_CATCH_UP + 1):
            if self.due() > now:
                break
            self.max_late_ms = max(self.max_late_ms, (now - self.due()) * 1000)
            # the plan starts once the peer is known (the SDP that names it may come after the agent started)
            pkt = self.sender.tick(self.next_tick) if self.cfg.peer and self.cfg.peer_port else None
            self.next_tick += 1
            if pkt is not None:
                self._send(pkt, False)
                self.last_sent_rtp = now
        if self.cfg.rtcp and now >= self.next_rtcp:
            self.send_rtcp(now)

    def send_rtcp(self, now: float, bye: bool = False) -> None:
        cfg, sent = self.cfg, self.sender.counts
        blocks = self.receiver.report_blocks(time.time())
        if sent.rtp and now - self.last_sent_rtp < 2 * cfg.rtcp_interval:       # a sender: SR (RFC 3550 6.4)
            ts = (cfg.ts0 + int((now - self.start) * cfg.clock)) & 0xFFFFFFFF
            head = packets.sender_report(cfg.ssrc, ts, sent.rtp, sent.octets, blocks)
        else:
            head = packets.receiver_report(cfg.ssrc, blocks)
        compound = head + packets.sdes_cname(cfg.ssrc, cfg.cname) + (packets.bye(cfg.ssrc) if bye else b"")
        self._send(compound, True)
        self.rtcp_sent += 1
        self.initial_rtcp = False
        self.next_rtcp = now + self._rtcp_interval()

    # ---- receiving ----------------------------------------------------------------------------------------------
    def read(self, sock: socket.socket, rtcp: bool) -> None:
        local = sock.getsockname()[:2]
        for _ in range(MAX_READS):
            try:
                data, src = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:           # ICMP port unreachable reported on a later recv: nothing to read
                return
            self.receiver.datagram(data, src[:2], local, rtcp)

    # ---- control ------------------------------------------------------------------------------------------------
    def update(self, changes: dict, now: float) -> None:
        cfg = self.cfg
        names = cfg.update(changes)
        if "send_key" in changes:
            self.protect = Protector(SdesKey(**cfg.send_key)) if cfg.send_key else None
        if "recv_keys" in changes:
            self.receiver.rekey(cfg.recv_keys)
        if "plan" in changes:
            self.sender.set_plan(cfg.plan, self.next_tick)
        if "pt" in changes:
            self.sender.frames = type(self.sender.frames)(cfg.pt, cfg.samples)
        self.updates.append({"time": time.time(), "fields": names})

    def report(self) -> dict:
        cfg, sent = self.cfg, self.sender.counts
        return {
            "name": cfg.name, "local": [cfg.bind, self.local_port], "peer": [cfg.peer, cfg.peer_port],
            "rtcp_peer": [cfg.peer, cfg.rtcp_dest_port], "ssrc": cfg.ssrc, "pt": cfg.pt, "ptime": cfg.ptime,
            "te_pt": cfg.te_pt, "srtp": bool(cfg.send_key), "rtcp_enabled": cfg.rtcp,
            "sent": {"rtp": sent.rtp, "octets": sent.octets, "audio": sent.audio, "cn": sent.cn, "quiet": sent.quiet,
                     "tones": sent.tones, "event_packets": sent.event_packets, "events": sent.events,
                     "tone_digits": sent.tone_digits, "rtcp": self.rtcp_sent, "first_seq": cfg.seq0,
                     "last_seq": (self.sender.seq - 1) & 0xFFFF, "ticks": self.next_tick,
                     "late_skipped": self.late_skipped, "max_late_ms": round(self.max_late_ms, 2),
                     "send_errors": self.send_errors, "first_error": self.first_error},
            "received": self.receiver.report(),
            "updates": self.updates,
        }

    def close(self, sel: selectors.BaseSelector) -> None:
        for s in {self.rtp_sock, self.rtcp_sock, self.send_sock} - {None}:
            if s is not None:
                sel.unregister(s)
                s.close()


class AgentLoop:
    def __init__(self, config: AgentConfig, workdir: Path):
        self.config, self.workdir = config, workdir
        self.sel = selectors.DefaultSelector()
        self.start = time.monotonic()
        self.endpoints = [Endpoint(c, self.sel, self.start) for c in config.streams]
        self.stop_reason = ""
        self.control_seq = -1
        self.control_errors: list[str] = []
        self._flags = {"stop": False, "control": False}

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self._flags.__setitem__("stop", True))
        signal.signal(signal.SIGINT, lambda *_: self._flags.__setitem__("stop", True))
        signal.signal(signal.SIGUSR1, lambda *_: self._flags.__setitem__("control", True))

    def write_ready(self) -> None:
        ready = {"pid": os.getpid(), "streams": {e.cfg.name: [e.cfg.bind, e.local_port] for e in self.endpoints}}
        _atomic_write(self.workdir / "ready.json", json.dumps(ready))

    def read_control(self, now: float) -> None:
        path = self.workdir / "control.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            self.control_errors.append(f"control.json: {e}")
            return
        if data.get("seq", 0) <= self.control_seq:
            return
        self.control_seq = data.get("seq", 0)
        by_name = {e.cfg.name: e for e in self.endpoints}
        for name, changes in data.get("updates", {}).items():
            ep = by_name.get(name)
            try:
                if ep is None:
                    raise ValueError(f"no stream named {name!r}")
                ep.update(changes, now)
            except (ValueError, TypeError) as e:
                self.control_errors.append(str(e)[:200])
        _atomic_write(self.workdir / "control.ack", json.dumps({"seq": self.control_seq,
                                                                "errors": self.control_errors}))

    def run(self) -> dict:
        limit = self.start + self.config.max_seconds
        turns = int(self.config.max_seconds * MAX_TURNS_PER_S) + 1000
        for _ in range(turns):
            if self._flags["stop"]:
                self.stop_reason = "stopped"
                break
            if self._flags["control"]:
                self._flags["control"] = False
                self.read_control(time.monotonic())
            now = time.monotonic()
            if now >= limit:
                self.stop_reason = "max_seconds"
                break
            wait = min(min(e.due() for e in self.endpoints), limit) - now
            for key, _ev in self.sel.select(max(0.0, min(wait, 0.1))):
                ep, rtcp = key.data
                ep.read(key.fileobj, rtcp)
            now = time.monotonic()
            for ep in self.endpoints:
                ep.run_ticks(now)
        else:
            self.stop_reason = "max_turns"
        now = time.monotonic()
        for ep in self.endpoints:
            if ep.cfg.rtcp:
                ep.send_rtcp(now, bye=True)
        for key in list(self.sel.get_map().values()):      # what is already here (a co-hosted peer's BYE too)
            key.data[0].read(key.fileobj, key.data[1])
        report = {"stop_reason": self.stop_reason, "seconds": round(now - self.start, 3),
                  "control_errors": self.control_errors, "streams": [e.report() for e in self.endpoints]}
        for ep in self.endpoints:
            ep.close(self.sel)
        return report


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(workdir: Path) -> int:
    config = AgentConfig.from_json((workdir / "config.json").read_text())
    loop = AgentLoop(config, workdir)
    loop.install_signals()
    loop.write_ready()
    report = loop.run()
    _atomic_write(workdir / "report.json", json.dumps(report, indent=1))
    return 0
