"""Network namespaces, veth links, hosts files, and listening-socket probes.

Names are global on the machine, so every namespace carries the run's tag (``sq<tag>-ms``); a second run, or a
pytest-xdist worker, never collides. Interfaces are created directly inside their namespaces, so even their names
never meet in the root namespace.
"""

from __future__ import annotations

import os
import re
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


def add_ipv6(ns: str, ifname: str, addr: str) -> None:
    """Enable IPv6 on one interface of a namespace (``add`` disables it by default) and give it ``addr``
    (``ip/prefix``) without duplicate address detection, so it is usable at once."""
    # quiet: no router solicitations or router advertisements taken (the captures hold SIP and media only)
    for key in ("accept_ra=0", "router_solicitations=0"):
        run(["sysctl", "-q", "-w", f"net.ipv6.conf.{ifname}.{key}"], netns=ns, check=False)
    for dev in ("lo", ifname):  # lo too: traffic to the namespace's own IPv6 address (a local TLS edge) goes there
        run(["sysctl", "-q", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=0"], netns=ns)
    run(["ip", "-n", ns, "-6", "addr", "add", addr, "dev", ifname, "nodad"])


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


def _addr_matches(local: str, ip: str, port: int) -> bool:
    """Whether ss's local address column (``1.2.3.4:5``, ``*:5``, ``[::]:5``, ``1.2.3.4%dev:5``) covers ip:port."""
    host, _, p = local.rpartition(":")
    if p != str(port):
        return False
    host = host.split("%", 1)[0].strip("[]")
    return host in (ip, "0.0.0.0", "*", "::")


def sockets(ns: str | None, proto: str, ip: str, port: int) -> list[list[tuple[str, int]]]:
    """The sockets listening (TCP) or bound (UDP) on ip:port in the namespace, each as the processes holding it
    [(command, pid), ...] from ``ss -p`` (empty when ss may not tell: another user's socket without root)."""
    flag = "-Hltnp" if proto == "tcp" else "-Hlunp"
    cp = run(["ss", flag], netns=ns, check=False)
    out = []
    for line in cp.stdout.decode(errors="replace").splitlines():
        cols = line.split()
        if len(cols) >= 4 and _addr_matches(cols[3], ip, port):
            out.append([(m.group(1), int(m.group(2))) for m in _USERS.finditer(line)])
    return out


_USERS = re.compile(r'\("([^"]*)",pid=(\d+)')


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _describe(holders: list[tuple[str, int]]) -> str:
    if not holders:
        return "a process sipqual cannot see (another user's; run as root to name it)"
    seen = sorted(set(holders), key=lambda h: h[1])
    return ", ".join(f"pid {pid} ({name})" for name, pid in seen)


def port_holder(ns: str | None, proto: str, ip: str, port: int, owner=None) -> str | None:
    """Who holds ip:port ("pid 123 (kamailio)"), leaving out ``owner`` (a :class:`~sipqual.procs.Proc`: its
    process group, i.e. it and its children); None when nobody else does."""
    mine = owner.pid if owner is not None else None
    foreign = []
    for holders in sockets(ns, proto, ip, port):
        if mine is not None and holders and any(pid == mine or _group(pid) == mine for _, pid in holders):
            continue
        foreign.append(holders)
    if not foreign:
        return None
    return "; ".join(_describe(h) for h in foreign)


def listening(ns: str | None, proto: str, ip: str, port: int) -> bool:
    """True when a socket listens (TCP) or is bound (UDP) on ip:port in the namespace."""
    return bool(sockets(ns, proto, ip, port))


def port_taken(proto: str, ip: str, port: int, holder: str) -> str:
    """The one wording of a port someone else holds (an ERROR, never a DUT fault)."""
    return f"port {proto} {ip}:{port} is already in use by {holder}, not by the process sipqual started"


def wait_listening(ns: str | None, proto: str, ip: str, port: int, timeout: float, what: str,
                   alive=lambda: True, owner=None) -> float:
    """Poll until something listens on ip:port; returns seconds waited. ``alive`` aborts early if a process died.

    With ``owner`` (the :class:`~sipqual.procs.Proc` we started) the socket must be that process's (or its
    children's): a port held by anyone else raises :class:`LabError` naming the port and its holder at once,
    instead of taking a stranger's socket for our agent (traffic to it would read as a DUT fault)."""
    start = time.monotonic()
    delay = 0.01
    if owner is not None:
        alive = owner.alive
    while True:
        found = sockets(ns, proto, ip, port)
        if found and owner is None:
            return time.monotonic() - start
        if found:
            mine = owner.pid
            if any(any(pid == mine or _group(pid) == mine for _, pid in h) for h in found):
                return time.monotonic() - start
            holder = port_holder(ns, proto, ip, port, owner)
            if holder:
                raise LabError(f"{what}: {port_taken(proto, ip, port, holder)}")
        if not alive():
            raise LabError(f"{what} exited before listening on {proto} {ip}:{port}")
        if time.monotonic() - start > timeout:
            raise LabError(f"{what} is not listening on {proto} {ip}:{port} after {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)   # an agent is usually up within 0.1-0.3 s: look often (one `ss` each time)
