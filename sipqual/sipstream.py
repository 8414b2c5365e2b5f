"""SIP on a stream transport, as the Mediation front (:mod:`sipqual.msfront`) needs it: framing messages out of a
TCP/TLS byte stream by Content-Length (RFC 3261 §18.3), and the stateless responses the front sends itself (the 200
to an out-of-dialog OPTIONS, §11.2; the 503 when no case is there to take a request), built as §8.2.6 requires.
"""

from __future__ import annotations

import re

from .sipmsg import SipMessage, parse_via

MAX_HEADER = 65536          # a header section larger than this is not SIP we can frame: the connection is dropped
MAX_BODY = 1 << 20
PING = b"\r\n\r\n"          # RFC 5626 §4.4.1 keep-alive ping; the answer (pong) is one CRLF
PONG = b"\r\n"

_CL_RE = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


class FramingError(ValueError):
    """The stream cannot be framed any further (header section too long, absurd Content-Length)."""


class SipFramer:
    """Feed bytes, get whole messages: pipelined messages in one read come out one by one, a message split over
    reads comes out once complete. Leading CRLFs between messages are skipped (§7.5); a double CRLF there is an
    RFC 5626 keep-alive ping and comes out as :data:`PING`. A message without Content-Length is taken to end at
    its header section (§18.3 makes the header mandatory on streams; ``missing_length`` counts such messages)."""

    def __init__(self):
        self.buf = bytearray()
        self.missing_length = 0

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out: list[bytes] = []
        while self.buf:
            if self.buf[:1] in (b"\r", b"\n"):
                if self.buf.startswith(PING):
                    out.append(PING)
                    del self.buf[:4]
                    continue
                if len(self.buf) < 4 and PING.startswith(bytes(self.buf)):
                    break  # maybe a ping still arriving
                del self.buf[:2 if self.buf.startswith(b"\r\n") else 1]
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER:
                    raise FramingError(f"no end of header section within {MAX_HEADER} bytes")
                break
            head = bytes(self.buf[:end + 2])
            m = _CL_RE.search(head)
            if m is None:
                self.missing_length += 1
                length = 0
            else:
                length = int(m.group(1))
                if length > MAX_BODY:
                    raise FramingError(f"Content-Length {length} is beyond {MAX_BODY} bytes")
            total = end + 4 + length
            if len(self.buf) < total:
                break
            out.append(bytes(self.buf[:total]))
            del self.buf[:total]
        return out


def _top_via_for_response(value: str, source: tuple[str, int]) -> str:
    """§18.2.1: add ``received`` when the sent-by is a name or another address than the source; RFC 3581: fill an
    empty ``rport`` with the source port."""
    via = parse_via(value)
    text = value.strip()
    if via.host and via.host.strip("[]") != source[0] and "received" not in via.params:
        text += f";received={source[0]}"
    if "rport" in via.params and via.params["rport"] is None:
        text = re.sub(r";\s*rport(?=\s*(;|$))", f";rport={source[1]}", text, count=1)
    return text


def response(req: SipMessage, status: int, reason: str, source: tuple[str, int], *, to_tag: str,
             extra: list[tuple[str, str]] = ()) -> bytes:
    """A response to ``req`` (§8.2.6.2): every Via in order (the top one with received/rport), From, Call-ID and
    CSeq copied unchanged, To copied with our tag added when it has none; then ``extra`` and Content-Length 0."""
    lines = [f"SIP/2.0 {status} {reason}"]
    vias = req.values("Via")
    for i, v in enumerate(vias):
        lines.append(f"Via: {_top_via_for_response(v, source) if i == 0 else v}")
    lines.append(f"From: {req.get('From') or ''}")
    to = req.get("To") or ""
    if req.to is not None and req.to.tag is None:
        to += f";tag={to_tag}"
    lines.append(f"To: {to}")
    lines.append(f"Call-ID: {req.get('Call-ID') or ''}")
    lines.append(f"CSeq: {req.get('CSeq') or ''}")
    lines += [f"{k}: {v}" for k, v in extra]
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def is_out_of_dialog_options(req: SipMessage) -> bool:
    """An OPTIONS outside any dialog: no tag in To (§12: a dialog request carries the remote tag there)."""
    return req.is_request and req.method == "OPTIONS" and (req.to is None or req.to.tag is None)


def summary(req: SipMessage) -> dict:
    """What the OPTIONS log records of one request (evidence for OPT-03: form and interval of the DUT's pings)."""
    ruri = req.request_uri
    return {
        "ruri": req.ruri, "ruri_user": ruri.user if ruri is not None else None,
        "from": req.get("From"), "to": req.get("To"), "call_id": req.call_id, "cseq": req.get("CSeq"),
        "max_forwards": req.get("Max-Forwards"), "via": req.values("Via"), "contact": req.get("Contact"),
        "user_agent": req.get("User-Agent"), "headers": [h.raw_name for h in req.headers],
        "content_length": len(req.body), "defects": req.defects,
    }
