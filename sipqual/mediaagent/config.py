"""What a media agent is told: one :class:`StreamConfig` per media endpoint (addresses, payload types, ptime, SDES
keys both ways, RTCP on or withheld, and the send plan), as JSON in its working directory, and the updates a case
sends while it runs (a re-INVITE moved the remote media, a re-key, a new plan).

The send plan is a list of segments played one after the other, then ``after`` until the agent is stopped:
    {"kind": "audio", "seconds": 1}                    the test tone in the codec's payload type
    {"kind": "silence", "seconds": 1}                  comfort noise (PT ``cn_pt``, RFC 3389) every ``cn_ms``
    {"kind": "quiet", "seconds": 1}                    G.711 silence frames (no CN)
    {"kind": "pause", "seconds": 1}                    nothing sent (the timestamp clock runs on)
    {"kind": "digits", "digits": "123#", "ms": 100, "gap_ms": 60, "volume": 10}   RFC 4733 events (audio between)
    {"kind": "tones", "digits": "5", "ms": 100, "gap_ms": 60}                      in-band DTMF (G.711)
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .srtp import SdesKey

KINDS = ("audio", "silence", "quiet", "pause", "digits", "tones")
CODEC_PT = {"PCMU": 0, "PCMA": 8}
MAX_SECONDS = 600.0          # no agent lives longer than this, whatever it is told
UPDATABLE = ("peer", "peer_port", "rtcp_peer_port", "send_key", "recv_keys", "plan", "after", "rtcp", "pt", "te_pt",
             "te_pt_rx", "latch", "cn_pt")


@dataclass
class StreamConfig:
    name: str = "audio"
    bind: str = "127.0.0.1"
    port: int = 0                    # RTP; RTCP on port + 1 unless rtcp_mux
    peer: str = ""                   # where RTP goes ("" = nowhere until an update says)
    peer_port: int = 0
    rtcp_peer_port: int = 0          # 0: peer_port + 1 (RFC 3550 section 11), or peer_port with rtcp_mux
    rtcp_mux: bool = False
    pt: int = 0                      # audio payload type (0 PCMU, 8 PCMA)
    ptime: int = 20                  # ms
    clock: int = 8000
    te_pt: int | None = 101          # telephone-event PT we send on (the peer's, RFC 4733 / RFC 3264)
    te_pt_rx: list[int] = field(default_factory=lambda: [101])    # telephone-event PTs we accept (ours)
    cn_pt: int | None = 13           # None: silence is sent as nothing
    cn_ms: int = 200                 # a CN packet at the start of a silence, then every cn_ms
    send_key: dict | None = None     # SdesKey as a dict: SRTP/SRTCP toward the peer
    recv_keys: list[dict] = field(default_factory=list)   # the peer's keys: what we decrypt with (newest first)
    rtcp: bool = True                # False: RTCP withheld (never sent; what arrives is still read)
    rtcp_interval: float = 5.0       # RFC 3550 Tmin for the deterministic interval (section 6.2)
    plan: list[dict] = field(default_factory=lambda: [{"kind": "audio", "seconds": 1.0}])
    after: str = "audio"             # what is sent once the plan is over
    latch: bool = False              # symmetric RTP: send to wherever the peer's RTP comes from
    send_port: int = 0               # send RTP from this port instead of ``port`` (a NAT's mapping; TC-MED-09)
    detect_tones: bool = True        # Goertzel on received G.711
    ssrc: int = 0                    # 0: random
    seq0: int = -1                   # -1: random (RFC 3550 5.1)
    ts0: int = -1
    cname: str = ""

    def __post_init__(self):
        rnd = random.SystemRandom()
        if not self.ssrc:
            self.ssrc = rnd.randrange(1, 1 << 32)
        if self.seq0 < 0:
            self.seq0 = rnd.randrange(0, 1 << 15)        # RFC 3550: random; low half keeps early wraps rare
        if self.ts0 < 0:
            self.ts0 = rnd.randrange(0, 1 << 32)
        if not self.cname:
            self.cname = f"sipqual-{self.name}-{self.ssrc:08x}@{self.bind}"
        for seg in self.plan:
            check_segment(seg)
        if self.after not in ("audio", "silence", "quiet", "pause"):
            raise ValueError(f"after: {self.after!r} is not audio, silence, quiet or pause")

    @property
    def rtcp_dest_port(self) -> int:
        return self.rtcp_peer_port or (self.peer_port if self.rtcp_mux else self.peer_port + 1)

    @property
    def samples(self) -> int:
        return self.clock * self.ptime // 1000

    @property
    def send_sdes(self) -> SdesKey | None:
        return SdesKey(**self.send_key) if self.send_key else None

    @property
    def recv_sdes(self) -> list[SdesKey]:
        return [SdesKey(**k) for k in self.recv_keys]

    def update(self, changes: dict) -> list[str]:
        """Apply an update (only :data:`UPDATABLE` fields); returns the names changed."""
        bad = set(changes) - set(UPDATABLE)
        if bad:
            raise ValueError(f"cannot update {sorted(bad)} of a running stream")
        for seg in changes.get("plan", []):
            check_segment(seg)
        for k, v in changes.items():
            setattr(self, k, v)
        return sorted(changes)


def check_segment(seg: dict) -> None:
    kind = seg.get("kind")
    if kind not in KINDS:
        raise ValueError(f"plan segment kind {kind!r} is not one of {KINDS}")
    if kind in ("digits", "tones"):
        from .audio import EVENT_DIGITS
        if not all(d.upper() in EVENT_DIGITS for d in seg.get("digits", "")):
            raise ValueError(f"not DTMF digits: {seg.get('digits')!r}")
    elif not 0 <= float(seg.get("seconds", 0)) <= MAX_SECONDS:
        raise ValueError(f"segment length {seg.get('seconds')} s out of range")


@dataclass
class AgentConfig:
    streams: list[StreamConfig]
    max_seconds: float = 60.0        # the agent stops itself after this long, report written (never unbounded)

    def to_json(self) -> str:
        return json.dumps({"streams": [asdict(s) for s in self.streams], "max_seconds": self.max_seconds}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "AgentConfig":
        data = json.loads(text)
        names = {f.name for f in fields(StreamConfig)}
        streams = [StreamConfig(**{k: v for k, v in s.items() if k in names}) for s in data["streams"]]
        return cls(streams, min(float(data.get("max_seconds", 60.0)), MAX_SECONDS))

    def write(self, path: Path) -> Path:
        path.write_text(self.to_json())
        return path


def from_sdp(local_media, remote_media, *, name: str = "audio", bind: str, port: int, **kw) -> StreamConfig:
    """A stream for our SDP media section ``local_media`` talking to the peer's ``remote_media`` (both
    :class:`sipqual.sdp.Media`; ``remote_media`` may be None until the answer arrives): the first G.711 type both
    list, the peer's telephone-event PT to send on and ours to accept, ptime, rtcp-mux, and the ``a=crypto`` keys
    (ours to send with, theirs to decrypt with, the tag the answer accepted)."""
    def te(media):
        return [pt for pt, (enc, _c, _ch) in media.rtpmap.items() if enc.lower() == "telephone-event"] \
            if media is not None else []

    ours = [p for p in local_media.formats if p.isdigit()]
    theirs = [p for p in remote_media.formats if p.isdigit()] if remote_media is not None else ours
    audio = next((int(p) for p in theirs if p in ours and int(p) in (0, 8)), 0)
    cfg: dict = {"name": name, "bind": bind, "port": port, "pt": audio,
                 "ptime": (remote_media.ptime if remote_media is not None else None) or local_media.ptime or 20,
                 "te_pt_rx": te(local_media) or [101]}
    if remote_media is not None:
        conn = remote_media.effective_connection
        cfg.update(peer=conn.address.split("/")[0] if conn else "", peer_port=remote_media.port,
                   rtcp_mux=remote_media.has_attribute("rtcp-mux") and local_media.has_attribute("rtcp-mux"))
        cfg["te_pt"] = (te(remote_media) or [None])[0]
        tags = {c.tag for c in remote_media.crypto}
        mine = [c for c in local_media.crypto if c.tag in tags] or local_media.crypto
        if mine and remote_media.crypto:
            cfg["send_key"] = asdict(SdesKey.from_crypto(mine[0]))
            cfg["recv_keys"] = [asdict(SdesKey.from_crypto(remote_media.crypto[0]))]
    cfg.update(kw)
    return StreamConfig(**cfg)


def peer_changes(cfg: StreamConfig, remote_media) -> dict:
    """The update that points a running stream at the peer's SDP media section (an answer, or the offer a callee
    received, or a re-INVITE's): address, port, RTCP port (``a=rtcp``, RFC 3605), the audio PT both list, the peer's
    telephone-event PT (we send on theirs, RFC 4733 section 7.1.1 / RFC 3264) and the peer's SDES keys."""
    conn = remote_media.effective_connection
    changes: dict = {"peer": conn.address.split("/")[0] if conn else "", "peer_port": remote_media.port}
    rtcp = [v for v in remote_media.attribute_values("rtcp") if v and v.split()[0].isdigit()]
    if rtcp:
        changes["rtcp_peer_port"] = int(rtcp[0].split()[0])
    pts = [int(p) for p in remote_media.formats if p.isdigit()]
    audio = [p for p in pts if p in (0, 8)]
    if audio and cfg.pt not in audio:
        changes["pt"] = audio[0]
    te = [pt for pt, (enc, _c, _ch) in remote_media.rtpmap.items() if enc.lower() == "telephone-event"]
    changes["te_pt"] = te[0] if te else None
    cn = [pt for pt, (enc, _c, _ch) in remote_media.rtpmap.items() if enc.upper() == "CN"]
    changes["cn_pt"] = cn[0] if cn else None          # no CN offered: silence is sent as nothing (RFC 3389 DTX)
    if remote_media.crypto:
        key = asdict(SdesKey.from_crypto(remote_media.crypto[0]))
        changes["recv_keys"] = [key] + [k for k in cfg.recv_keys if k != key][:2]
    return changes
