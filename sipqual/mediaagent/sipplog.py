"""The SDP a SIPp agent received, read from its live ``-trace_msg`` file (SIPp writes each message as it is sent or
received), so a case can feed the peer's media address and keys to its media agent while the call is up."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..sdp import Sdp, parse_sdp

_SEPARATOR = re.compile(r"^-{20,} (\S+ \S+)$", re.M)
POLL = 0.02


@dataclass(frozen=True)
class LoggedSdp:
    index: int                 # position among the messages the agent received
    first_line: str            # "SIP/2.0 200 OK" or "INVITE sip:... SIP/2.0"
    sdp: Sdp


def received_sdps(path: Path) -> list[LoggedSdp]:
    """Every received message of the log that carries an SDP body, in order."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    out, index = [], 0
    blocks = _SEPARATOR.split(text)[2::2]
    if blocks and not blocks[-1].endswith("\n\n"):
        blocks.pop()               # the last message is still being written (SIPp ends each with a blank line)
    for block in blocks:
        head, _, message = block.partition("\n\n")
        if "message received" not in head:
            continue
        index += 1
        headers, sep, body = message.replace("\r\n", "\n").partition("\n\n")
        if sep and body.lstrip().startswith("v=0"):
            # a message still being written ends before its body does: the next poll reads it whole
            out.append(LoggedSdp(index, headers.split("\n", 1)[0].strip(), parse_sdp(body.strip() + "\n")))
    return out


def wait_sdp(path: Path, timeout: float, *, after: int = 0, alive=lambda: True) -> LoggedSdp | None:
    """The first received SDP after the ``after``-th received message, waiting up to ``timeout`` s (None if none
    came: the caller decides whether that is the DUT's fault, judged from the capture, or ours)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [s for s in received_sdps(path) if s.index > after and s.sdp.audio is not None
                 and s.sdp.audio.port > 0]
        if found:
            return found[0]
        if time.monotonic() >= deadline or not alive():
            return None
        time.sleep(POLL)
