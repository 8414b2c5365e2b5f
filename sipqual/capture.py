"""One pcapng per test case, taken by dumpcap on the DUT-facing interfaces (both legs).

Started before the first packet: :meth:`Capture.start` returns only once dumpcap has opened every interface and
written the file header. Stopped cleanly: SIGINT, then wait, so the file is complete. Bounded: ``-a duration``.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from . import interrupts
from .errors import LabError
from .procs import Proc, Supervisor, require_tool, run


def interface_packets(netns: str | None, interfaces: list[str]) -> int:
    """Packets the kernel counted (rx + tx) on the interfaces: what a complete capture must hold."""
    total = 0
    cp = run(["ip", "-s", "-j", "link", "show"], netns=netns)
    for link in json.loads(cp.stdout or b"[]"):
        if link.get("ifname") in interfaces:
            st = link.get("stats64") or link.get("stats") or {}
            total += int(st.get("rx", {}).get("packets", 0)) + int(st.get("tx", {}).get("packets", 0))
    return total


def pcapng_packet_count(path: Path) -> int:
    """Count complete packet blocks (EPB, SPB, legacy PB) in a pcapng file; a partial last block is ignored."""
    count = 0
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    off = 0
    order = "little"
    while off + 12 <= len(data):
        btype = int.from_bytes(data[off:off + 4], order)
        if btype == 0x0A0D0D0A:  # section header: read its byte order
            order = "little" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else "big"
            btype = 0x0A0D0D0A
        blen = int.from_bytes(data[off + 4:off + 8], order)
        if blen < 12 or off + blen > len(data):
            break
        if btype in (6, 3, 2):
            count += 1
        off += blen
    return count


@dataclass
class Capture:
    sup: Supervisor
    path: Path
    interfaces: list[str]
    netns: str | None
    max_seconds: int = 300
    proc: Proc | None = None
    baseline: int = 0
    complete: bool | None = None

    def start(self, timeout: float = 10.0) -> "Capture":
        require_tool("dumpcap")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        argv = ["dumpcap", "-n",  # -n: pcapng (interface names per packet)
                "-a", f"duration:{self.max_seconds}", "-w", str(self.path)]
        for i in self.interfaces:
            argv += ["-i", i]
        self.proc = self.sup.start("dumpcap", argv, netns=self.netns, log_dir=self.path.parent)
        deadline = time.monotonic() + timeout
        delay = 0.01
        # dumpcap prints "File: <path>" once every interface is open and the pcapng header is written
        while True:
            err = self.proc.stderr_path.read_text(errors="replace") if self.proc.stderr_path.exists() else ""
            if "File:" in err and self.path.exists() and self.path.stat().st_size > 0:
                # counted only once dumpcap captures: whatever passes from here on is in the file too (on a busy
                # real network, counting earlier would demand packets that went by before dumpcap was ready)
                self.baseline = interface_packets(self.netns, self.interfaces)
                return self
            if not self.proc.alive():
                raise LabError(f"dumpcap exited ({self.proc.returncode}) before capturing: {self.proc.stderr_tail(2)}")
            if time.monotonic() > deadline:
                self.proc.stop()
                raise LabError(f"dumpcap did not start capturing within {timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    @interrupts.uninterrupted  # an interrupted case keeps a well-formed partial capture
    def stop(self, drain_timeout: float = 3.0) -> Path:
        """Wait until dumpcap has written every packet the kernel counted on the interfaces (libpcap hands packets
        over in blocks, so a SIGINT right after the last packet loses it), then stop with SIGINT so the file is
        closed cleanly. ``complete`` tells whether the drain probe saw every packet."""
        if self.proc is None:
            return self.path
        deadline = time.monotonic() + drain_timeout
        delay = 0.01
        # everything the kernel counted up to now; later packets (background traffic on real gear's network) need
        # not be waited for
        want = interface_packets(self.netns, self.interfaces) - self.baseline
        while self.proc.alive():
            if pcapng_packet_count(self.path) >= want:
                self.complete = True
                break
            if time.monotonic() > deadline:
                self.complete = False
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.025)   # dumpcap writes in blocks every few hundred ms: catch the last soon
        self.proc.stop(grace=5.0, sig=signal.SIGINT)
        return self.path
