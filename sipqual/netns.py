"""Network namespaces, veth links, hosts files, and listening-socket probes.

Names are global on the machine, so every namespace carries the run's tag (``sq<tag>-ms``); a second run, or a
pytest-xdist worker, never collides. Interfaces are created directly inside their namespaces, so even their names
never meet in the root namespace.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .errors import LabError
from .procs import run

NETNS_ETC = Path("/etc/netns")
PREFIX = "sq"


def ns_name(tag: str, role: str) -> str:
    return f"{PREFIX}{tag}-{role}"


def list_namespaces() -> list[str]:
    cp = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in cp.stdout.decode().splitlines() if line.strip()]


def add(ns: str) -> None:
    run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    # clean captures: no IPv6 router solicitations or DAD noise in an IPv4 lab
    run(["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"], netns=ns, check=False)
    run(["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"], netns=ns, check=False)


def link(ns_a: str, if_a: str, addr_a: str, ns_b: str, if_b: str, addr_b: str) -> None:
    """Create a veth pair with one end in each namespace and give both ends an address (``ip/prefix``)."""
    run(["ip", "-n", ns_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", ns_b])
    for ns, ifname, addr in ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)):
        run(["ip", "-n", ns, "addr", "add", addr, "dev", ifname])
        run(["ip", "-n", ns, "link", "set", ifname, "up"])


def write_hosts(ns: str, entries: dict[str, str]) -> Path:
    """Per-namespace /etc/hosts (``ip netns exec`` bind-mounts /etc/netns/<ns>/hosts)."""
    d = NETNS_ETC / ns
    d.mkdir(parents=True, exist_ok=True)
    lines = ["127.0.0.1 localhost"] + [f"{ip} {name}" for name, ip in sorted(entries.items())]
    (d / "hosts").write_text("\n".join(lines) + "\n")
    return d


def delete(ns: str) -> None:
    run(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)


def listening(ns: str | None, proto: str, ip: str, port: int) -> bool:
    """True when a socket listens (TCP) or is bound (UDP) on ip:port in the namespace."""
    flag = "-Hltn" if proto == "tcp" else "-Hlun"
    cp = run(["ss", flag], netns=ns, check=False)
    want = {f"{ip}:{port}", f"0.0.0.0:{port}", f"*:{port}", f"[::]:{port}"}
    for line in cp.stdout.decode().splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[3] in want:
            return True
    return False


def wait_listening(ns: str | None, proto: str, ip: str, port: int, timeout: float, what: str,
                   alive=lambda: True) -> float:
    """Poll until something listens on ip:port; returns seconds waited. ``alive`` aborts early if a process died."""
    start = time.monotonic()
    delay = 0.01
    while True:
        if listening(ns, proto, ip, port):
            return time.monotonic() - start
        if not alive():
            raise LabError(f"{what} exited before listening on {proto} {ip}:{port}")
        if time.monotonic() - start > timeout:
            raise LabError(f"{what} is not listening on {proto} {ip}:{port} after {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
