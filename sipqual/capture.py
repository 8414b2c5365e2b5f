"""One pcapng per test case, taken by dumpcap on the DUT-facing interfaces (both legs).

Started before the first packet: :meth:`Capture.start` returns only once dumpcap has opened every interface and
written the file header. Stopped cleanly: SIGINT, then wait, so the file is complete. Bounded: ``-a duration``.
One dumpcap per interface, merged by mergecap at the end (see :class:`Capture`).
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass, field
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
    """One dumpcap per interface (each exits at once on SIGINT; one dumpcap on two interfaces waits about 0.35 s for
    its reader threads' poll timeouts), merged into ``path`` by mergecap when stopped: one pcapng, interface names
    kept, packets in time order."""
    sup: Supervisor
    path: Path
    interfaces: list[str]
    netns: str | None
    max_seconds: int = 300
    procs: list[Proc] = field(default_factory=list)
    baseline: int = 0
    complete: bool | None = None

    def part(self, interface: str) -> Path:
        """The file one interface's dumpcap writes (``path`` itself when there is one interface)."""
        if len(self.interfaces) == 1:
            return self.path
        return self.path.with_name(f"{self.path.stem}.{interface}{self.path.suffix}")

    @property
    def proc(self) -> Proc | None:
        return self.procs[0] if self.procs else None

    def start(self, timeout: float = 10.0) -> "Capture":
        require_tool("dumpcap")
        if len(self.interfaces) > 1:
            require_tool("mergecap")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for i in self.interfaces:
            argv = ["dumpcap", "-n",  # -n: pcapng (interface names per packet)
                    "-a", f"duration:{self.max_seconds}", "-w", str(self.part(i)), "-i", i]
            name = "dumpcap" if len(self.interfaces) == 1 else f"dumpcap-{i}"
            self.procs.append(self.sup.start(name, argv, netns=self.netns, log_dir=self.path.parent))
        deadline = time.monotonic() + timeout
        delay = 0.01
        waiting = list(zip(self.interfaces, self.procs))
        # dumpcap prints "File: <path>" once its interface is open and the pcapng header is written
        while waiting:
            for i, proc in list(waiting):
                err = proc.stderr_path.read_text(errors="replace") if proc.stderr_path.exists() else ""
                part = self.part(i)
                if "File:" in err and part.exists() and part.stat().st_size > 0:
                    waiting.remove((i, proc))
                elif not proc.alive():
                    self._stop_all(grace=1.0)
                    raise LabError(f"dumpcap exited ({proc.returncode}) before capturing on {i}: "
                                   f"{proc.stderr_tail(2)}")
            if not waiting:
                break
            if time.monotonic() > deadline:
                self._stop_all(grace=1.0)
                raise LabError(f"dumpcap did not start capturing on {', '.join(i for i, _ in waiting)} "
                               f"within {timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        # counted only once dumpcap captures: whatever passes from here on is in the files too (on a busy real
        # network, counting earlier would demand packets that went by before dumpcap was ready)
        self.baseline = interface_packets(self.netns, self.interfaces)
        return self

    def _captured(self) -> int:
        return sum(pcapng_packet_count(self.part(i)) for i in self.interfaces)

    def _stop_all(self, grace: float) -> None:
        """SIGINT to every dumpcap first, then wait for each: they close their files side by side."""
        for proc in self.procs:
            if proc.alive():
                try:
                    os.killpg(proc.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            proc.stop(grace=grace, sig=signal.SIGINT)

    @interrupts.uninterrupted  # an interrupted case keeps a well-formed partial capture
    def stop(self, drain_timeout: float = 3.0) -> Path:
        """Wait until dumpcap has written every packet the kernel counted on the interfaces (libpcap hands packets
        over in blocks, so a SIGINT right after the last packet loses it), then stop with SIGINT so the files are
        closed cleanly, and merge them into ``path``. ``complete`` tells whether the drain probe saw every packet."""
        if not self.procs:
            return self.path
        deadline = time.monotonic() + drain_timeout
        delay = 0.01
        # everything the kernel counted up to now; later packets (background traffic on real gear's network) need
        # not be waited for
        want = interface_packets(self.netns, self.interfaces) - self.baseline
        while all(p.alive() for p in self.procs):
            if self._captured() >= want:
                self.complete = True
                break
            if time.monotonic() > deadline:
                self.complete = False
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.025)   # dumpcap writes in blocks every few hundred ms: catch the last soon
        self._stop_all(grace=5.0)
        if len(self.interfaces) > 1:
            self._merge()
        return self.path

    def _merge(self) -> None:
        parts = [self.part(i) for i in self.interfaces if self.part(i).exists() and self.part(i).stat().st_size]
        if not parts:
            return
        cp = run([require_tool("mergecap"), "-F", "pcapng", "-w", str(self.path), *map(str, parts)], check=False)
        if cp.returncode != 0 or not self.path.exists():
            raise LabError(f"mergecap could not merge {', '.join(p.name for p in parts)}: "
                           f"{(cp.stderr or b'').decode(errors='replace').strip()}")
        for p in parts:
            p.unlink(missing_ok=True)
