"""RFC 4475 torture messages (and the RFC 3261 section 14/8.2 probes of TC-ROB-04) as data the suite builds for the
DUT in front of it: each builder writes the torture the RFC describes -- its point (line folding, escaped methods,
overlarge scalars, a missing Call-ID, ...) -- around the DUT's own address, port, transport and numbers, with a
Call-ID of ours so answers can be told apart. Nothing here is the RFC's text: the messages are rebuilt from what
each test exercises, and adapted so they can only reach the lab's (or the profile's) addresses.

A :class:`Torture` says what a conforming element does with the message (``expect``):

- ``process``: a valid message; it gets a response (any final other than 400; for an INVITE a provisional first is
  fine), or for a stray response, nothing at all;
- ``reject``: an invalid message; a 4xx/5xx (400 preferred) or silence, never a 2xx;
- a tuple of status codes: the application-layer answer (416, 420, 415, 400, ...), e.g. ``(416,)``;
- ``silent``: a message nothing may answer (an ACK, a stray response);
- ``tolerant``: invalid, but RFC 4475 discusses tolerant handling: any outcome but a crash or hang (recorded).

``severity``: R, or M where requirements.md says a message must not be taken for a valid call (insuf, badinv01,
clerr, ncl, mismatch01, badvers) and for TC-ROB-04's (RFC3261-14, M).

``udp_only`` marks messages whose point exists only in a datagram (extra octets after the body, a Content-Length
larger than the message). Every request also carries the suite's ``X-Sipqual-Test`` marker, so a DUT that relays one
can be seen doing so on its other side.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

CRLF = "\r\n"


@dataclass(frozen=True)
class Target:
    """Where a torture message goes and who we are: ``host`` names the DUT in Request-URIs (its FQDN or address),
    ``local`` is the sent-by of our Via (``ip``, ``port``); ``transport``: UDP, TCP or TLS; ``number``: a number the
    DUT routes from this side; ``test_id``: the case's marker."""

    host: str
    port: int
    transport: str
    local_ip: str
    local_port: int
    number: str
    test_id: str


@dataclass
class Torture:
    name: str                 # the RFC 4475 tag (wsinv, badinv01, ...) or ours (rob04-bye, ...)
    section: str              # "3.1.1", "3.1.2", "3.3", "ROB-04"
    what: str                 # one line: what the message tortures
    expect: object            # "process" | "reject" | "silent" | tuple of status codes
    data: bytes
    call_id: str = ""         # our Call-ID in it ("" when the message has none)
    marker: str = ""
    udp_only: bool = False
    stream_unsafe: bool = False   # its framing is the torture: a stream connection is closed after it
    severity: str = "R"
    may_drop: bool = False        # an application-layer code the RFC only calls ideal: silence is tolerated too
    fields: dict = field(default_factory=dict)

    def as_plan(self) -> dict:
        return {"name": self.name, "section": self.section, "what": self.what,
                "expect": list(self.expect) if isinstance(self.expect, tuple) else self.expect,
                "data": self.data.decode("latin-1"), "call_id": self.call_id, "marker": self.marker,
                "method": self.method, "severity": self.severity,
                "may_drop": self.may_drop}

    @property
    def method(self) -> str:
        first = self.data.split(b" ", 1)[0].decode("latin-1")
        return "" if first.startswith("SIP/") else first


def _tag() -> str:
    return secrets.token_hex(5)


def _cid(t: Target, name: str) -> str:
    return f"{name}.{secrets.token_hex(6)}@{t.local_ip}"


def _via(t: Target, extra: str = "") -> str:
    return f"Via: SIP/2.0/{t.transport} {t.local_ip}:{t.local_port};branch=z9hG4bK{secrets.token_hex(8)};rport{extra}"


def _sdp(t: Target, extra: str = "") -> str:
    sess = secrets.randbelow(10 ** 9)
    return (f"v=0{CRLF}o=torture {sess} {sess} IN IP4 {t.local_ip}{CRLF}s=-{CRLF}c=IN IP4 {t.local_ip}{CRLF}"
            f"t=0 0{CRLF}m=audio 9 RTP/AVP 0 101{CRLF}a=rtpmap:0 PCMU/8000{CRLF}"
            f"a=rtpmap:101 telephone-event/8000{CRLF}a=fmtp:101 0-16{CRLF}{extra}")


def _msg(t: Target, name: str, section: str, what: str, expect, head: list[str], body: str = "", *,
         call_id: str = "", content_length: str | None = None, marker: bool = True, tail: bytes = b"",
         **kw) -> Torture:
    """``head``: the start line and header lines (LWS and folding kept as written); the marker and, unless
    ``content_length`` says otherwise (a deliberately wrong one), a correct Content-Length are appended."""
    mark = f"{t.test_id}-{name}"
    lines = list(head)
    if marker:
        lines.append(f"X-Sipqual-Test: {mark}")
    body_b = body.encode("utf-8")
    if content_length is None:
        lines.append(f"Content-Length: {len(body_b)}")
    elif content_length:
        lines.append(content_length)
    data = (CRLF.join(lines) + CRLF + CRLF).encode("utf-8") + body_b + tail
    return Torture(name, section, what, expect, data, call_id, mark if marker else "", **kw)


def _common(t: Target, name: str, method: str, cseq: int = 1, to_user: str | None = None) -> tuple[str, list[str]]:
    cid = _cid(t, name)
    user = to_user or t.number
    return cid, [_via(t), "Max-Forwards: 70", f"From: <sip:torture@{t.local_ip}>;tag={_tag()}",
                 f"To: <sip:{user}@{t.host}>", f"Call-ID: {cid}", f"CSeq: {cseq} {method}",
                 f"Contact: <sip:torture@{t.local_ip}:{t.local_port};transport={t.transport.lower()}>"]


def probe(t: Target, n: int) -> Torture:
    """The liveness probe sent after every torture message: an out-of-dialog OPTIONS to the DUT itself."""
    cid = _cid(t, f"probe{n}")
    head = [f"OPTIONS sip:{t.host}:{t.port} SIP/2.0", _via(t), "Max-Forwards: 70",
            f"From: <sip:probe@{t.local_ip}>;tag={_tag()}", f"To: <sip:{t.host}:{t.port}>", f"Call-ID: {cid}",
            "CSeq: 1 OPTIONS", "Accept: application/sdp"]
    m = _msg(t, f"probe{n}", "probe", "liveness probe", (200,), head, call_id=cid)
    return m


# ---- RFC 4475 section 3.1.1: valid messages ------------------------------------------------------------------------
def valid(t: Target) -> list[Torture]:
    out = []
    s = "3.1.1"
    cid = _cid(t, "wsinv")
    out.append(_msg(t, "wsinv", s, "LWS, line folding and mixed-case header names everywhere LWS may go", "process", [
        f"INVITE sip:{t.number}@{t.host}:{t.port};unknownparam SIP/2.0",
        f"TO :{CRLF} <sip:{t.number}@{t.host}> ;   tag    = 1918181833n",
        f'from   : "J Rosenberg \\\\\\"" <sip:jdrosen@{t.local_ip}>{CRLF}  ;{CRLF}  tag = 98asjd8',
        "MaX-fOrWaRdS: 0068",
        f"Call-ID: {cid}",
        f"cseq: 0009{CRLF}  INVITE",
        f"Via  : SIP  /   2.0{CRLF} /{t.transport}{CRLF}    {t.local_ip}:{t.local_port};branch=z9hG4bK{_tag()}"
        f" ;rport",
        "s :",
        f"NewFangledHeader:   newfangled value{CRLF} continued newfangled value",
        "UnknownHeaderWithUnusualValue: ;;,,;;,;",
        "Content-Type: application/sdp",
        f"v:  SIP  / 2.0  / TCP     spindle.example.com   ;{CRLF}  branch  =   z9hG4bK9ikj8  ,{CRLF}"
        f" SIP  /    2.0   / UDP  198.51.100.111   ; branch={CRLF} z9hG4bK30239",
        f'm:"Quoted string \\"\\"" <sip:jdrosen@{t.local_ip}:{t.local_port}> ; newparam ={CRLF}      newvalue ;'
        f"{CRLF}  secondparam ; q = 0.33"], _sdp(t), call_id=cid))
    cid = _cid(t, "intmeth")
    meth = "!interesting-Method0123456789_*+`.%indeed'~"
    out.append(_msg(t, "intmeth", s, "an unknown method made of every token character, odd URI characters",
                    "process", [
        f"{meth} sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
        f"@{t.host}:{t.port} SIP/2.0",
        _via(t),
        f'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@{t.host}>',
        f"From: token1~` token2'+_ token3*%!.- <sip:mundane@{t.local_ip}>;fromParam''~+*_!.-%="
        f'"\\"\\"\\"\\"\\"";tag=_token~1\'+`*%!-.',
        "Max-Forwards: 255",
        f"Call-ID: {cid}",
        f"CSeq: 139122385 {meth}",
        f"extensionHeader-!.%*+_`'~:{CRLF} \ufeff\u5927\u505c\u96fb",
        "Accept: application/sdp"], call_id=cid))
    cid = _cid(t, "esc01")
    out.append(_msg(t, "esc01", s, "escaped characters in URI user parts (one of them a whole sips: URI)", "process", [
        f"INVITE sip:sips%3Auser%40example.com@{t.host}:{t.port} SIP/2.0",
        f"To: sip:%75se%72@{t.host}", f"From: <sip:I%20have%20spaces@{t.local_ip}>;tag=938",
        "Max-Forwards: 87", f"i: {cid}", "Content-Type: application/sdp", "CSeq: 1 INVITE", _via(t),
        f"Contact: <sip:cal%6Cer@{t.local_ip}:{t.local_port};%6C%72;n%61me=v%61lue%25%34%31>"], _sdp(t), call_id=cid))
    cid = _cid(t, "escnull")
    out.append(_msg(t, "escnull", s, "an escaped NUL (%00) in URI user parts", "process", [
        f"REGISTER sip:{t.host}:{t.port} SIP/2.0", f"To: sip:null-%00-null@{t.host}",
        f"From: sip:null-%00-null@{t.host};tag=839923423", "Max-Forwards: 70", f"Call-ID: {cid}",
        "CSeq: 39292 REGISTER", _via(t), f"Contact: <sip:%00@{t.local_ip}:{t.local_port}>",
        f"Contact: <sip:%00%00@{t.local_ip}:{t.local_port}>", "L:0"], call_id=cid, content_length=""))
    cid = _cid(t, "esc02")
    out.append(_msg(t, "esc02", s, "a method written with escapes (RE%47IST%45R is not REGISTER)", "process", [
        f"RE%47IST%45R sip:{t.host}:{t.port} SIP/2.0", f'To: "%Z%45" <sip:resource@{t.host}>',
        f'From: "%Z%45" <sip:resource@{t.host}>;tag=f232jadfj23', f"Call-ID: {cid}", _via(t),
        "CSeq: 1 RE%47IST%45R", "Max-Forwards: 70",
        f"Contact: <sip:alias1@{t.local_ip}:{t.local_port}>"], call_id=cid))
    cid, head = _common(t, "lwsdisp", "OPTIONS")
    head[2] = f"From: caller<sip:caller@{t.local_ip}>;tag=323"
    head[3] = f"To: <sip:{t.host}:{t.port}>"
    out.append(_msg(t, "lwsdisp", s, "no LWS between a display name and <", "process",
                    [f"OPTIONS sip:{t.host}:{t.port} SIP/2.0", *head], call_id=cid))
    cid = _cid(t, "longreq")
    long_user = "amazinglylongcallername" * 10
    vias = [_via(t)] + [f"Via: SIP/2.0/TCP sip{i}.example.com;branch=z9hG4bK{i:04d}" for i in range(1, 20)]
    out.append(_msg(t, "longreq", s, "very long header values, display names, parameters and a long Via list",
                    "process", [
        f"INVITE sip:{t.number}@{t.host}:{t.port} SIP/2.0",
        f'To: "I have a user name of {"extreme" * 30} proportion" <sip:{t.number}@{t.host}:{t.port};'
        f'unknownparam{"very" * 20}long>',
        f"From: sip:{long_user}@{t.local_ip};tag={'12982424' * 20}",
        f"Call-ID: {cid}", "CSeq: 18 INVITE", "Max-Forwards: 70", *vias,
        f"Contact: <sip:{long_user}@{t.local_ip}:{t.local_port};transport={t.transport.lower()}>",
        f"x-{'longheadername' * 20}: {'longvalue' * 60}", "Content-Type: application/sdp"],
        _sdp(t, f"a=x-long:{'attr' * 100}{CRLF}"), call_id=cid))
    cid, head = _common(t, "semiuri", "OPTIONS", to_user="user;par=u%40example.net")
    out.append(_msg(t, "semiuri", s, "a ; inside a URI user part", "process",
                    [f"OPTIONS sip:user;par=u%40example.net@{t.host}:{t.port} SIP/2.0", *head, "Accept: */*"],
                    call_id=cid))
    cid, head = _common(t, "transports", "OPTIONS")
    head[1:1] = ["Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
                 "Via: SIP/2.0/TLS-SCTP t3.example.com;branch=z9hG4bK2980unddj",
                 "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
                 "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee"]
    out.append(_msg(t, "transports", s, "a Via list with SCTP, TLS-SCTP and unknown transports below ours", "process",
                    [f"OPTIONS sip:{t.host}:{t.port} SIP/2.0", *head], call_id=cid))
    cid, head = _common(t, "mpart01", "INVITE")
    boundary = "7a9cbec02ceef655"
    body = (f"--{boundary}{CRLF}Content-Type: text/plain{CRLF}Content-Transfer-Encoding: binary{CRLF}{CRLF}"
            f"Sample plain text part{CRLF}--{boundary}{CRLF}Content-Type: application/sdp{CRLF}{CRLF}{_sdp(t)}"
            f"{CRLF}--{boundary}--{CRLF}")
    out.append(_msg(t, "mpart01", s, "a multipart/mixed body (text and SDP)", "process",
                    [f"INVITE sip:{t.number}@{t.host}:{t.port} SIP/2.0", *head, "MIME-Version: 1.0",
                     f'Content-Type: multipart/mixed;boundary={boundary}'], body, call_id=cid))
    cid = _cid(t, "unreason")
    out.append(_msg(t, "unreason", s, "a (stray) response whose reason phrase is UTF-8 with digits and symbols",
                    "silent", [
        "SIP/2.0 200 = 2**3 * 5**2 \u043d\u0435 \u0434\u0432\u0435\u0441\u0442\u0438, \u0430 \u0441\u0442\u043e",
        _via(t), f"Call-ID: {cid}", "CSeq: 1 INVITE", f"From: <sip:caller@{t.local_ip}>;tag=39ansfi3",
        f"To: <sip:user@{t.host}>;tag=902jsnf", f"Contact: <sip:user@{t.local_ip}:{t.local_port}>"],
        call_id=cid, marker=False))
    cid = _cid(t, "noreason")
    out.append(_msg(t, "noreason", s, "a (stray) response without a reason phrase", "silent", [
        "SIP/2.0 100 ", _via(t), f"Call-ID: {cid}", f"From: <sip:caller@{t.local_ip}>;tag=3",
        f"To: <sip:user@{t.host}>;tag=2", "CSeq: 1 INVITE"], call_id=cid, marker=False))
    cid, head = _common(t, "dblreq", "REGISTER")
    second = _msg(t, "dblreq-extra", s, "", "reject", [f"INVITE sip:{t.number}@{t.host} SIP/2.0", *head]).data
    out.append(_msg(t, "dblreq", s, "extra octets after the body in one datagram (a whole second request)",
                    "process", [f"REGISTER sip:{t.host}:{t.port} SIP/2.0", *head], call_id=cid, tail=second,
                    udp_only=True))
    return out


# ---- RFC 4475 section 3.1.2: invalid messages ----------------------------------------------------------------------
def invalid(t: Target) -> list[Torture]:
    out = []
    s = "3.1.2"
    inv = f"INVITE sip:{t.number}@{t.host}:{t.port} SIP/2.0"

    def bad(name, what, start, mutate=None, body="", expect="reject", **kw):
        cid, head = _common(t, name, start.split(" ", 1)[0] if not start.startswith("SIP/") else "INVITE")
        if name == "trws":
            head[3] = f"To: <sip:{t.host}:{t.port}>"
        if mutate:
            head = mutate(head, cid)
        out.append(_msg(t, name, s, what, expect, [start, *head], body, call_id=cid, **kw))

    def sdp_ct(head, cid):
        return [*head, "Content-Type: application/sdp"]

    bad("badinv01", "extraneous ; and , separators in From, Via and Contact", inv,
        lambda h, c: [h[0] + ";;,;,,", h[1], f"From: sip:caller@{t.local_ip};;tag=134161461246", *h[3:6],
                      f'Contact: "Joe" <sip:joe@{t.local_ip}>;;;;', "Content-Type: application/sdp"], _sdp(t),
        severity="M")
    bad("clerr", "a Content-Length larger than the datagram", inv, sdp_ct, _sdp(t),
        content_length="Content-Length: 9999", udp_only=True, severity="M")
    bad("ncl", "a negative Content-Length", inv, sdp_ct, _sdp(t), content_length="Content-Length: -999",
        stream_unsafe=True, severity="M")
    bad("scalar02", "overlarge CSeq, Max-Forwards and Expires values", f"REGISTER sip:{t.host}:{t.port} SIP/2.0",
        lambda h, c: [h[0], "Max-Forwards: 300", *h[2:5], "CSeq: 36893488147419103232 REGISTER",
                      f"Contact: <sip:user@{t.local_ip}:{t.local_port}>;expires=280297596632815",
                      "Expires: 1293468918719381"])
    bad("scalarlg", "a (stray) response with an overlarge CSeq and Expires", "SIP/2.0 503 Service Unavailable",
        lambda h, c: [h[0], *h[2:5], "CSeq: 36893488147419103232 INVITE", "Retry-After: 949302838503028349304"],
        expect="silent", marker=False)
    bad("quotbal", "an unterminated quoted string in a display name", inv,
        lambda h, c: [*h[:3], f'To: "Mr. J. User <sip:{t.number}@{t.host}>', *h[4:], "Content-Type: application/sdp"],
        _sdp(t))
    bad("ltgtruri", "a Request-URI enclosed in <>", f"INVITE <sip:{t.number}@{t.host}:{t.port}> SIP/2.0", sdp_ct,
        _sdp(t))
    bad("lwsruri", "LWS inside the Request-URI", f"INVITE sip:{t.number}@{t.host}:{t.port}; lr SIP/2.0", sdp_ct,
        _sdp(t))
    bad("lwsstart", "several SP between the Request-Line's elements",
        f"INVITE  sip:{t.number}@{t.host}:{t.port}  SIP/2.0", sdp_ct, _sdp(t))
    bad("escruri", "escaped headers (?Route=...) in the Request-URI",
        f"INVITE sip:{t.number}@{t.host}:{t.port}?Route=%3Csip:example.com%3E SIP/2.0", sdp_ct, _sdp(t),
        expect="tolerant")
    bad("regbadct", "a Contact with URI parameters and headers not enclosed in <>",
        f"REGISTER sip:{t.host}:{t.port} SIP/2.0",
        lambda h, c: [*h[:5], "CSeq: 1 REGISTER", f"Contact: sip:user@{t.local_ip}?Route=%3Csip:sip.example.com%3E"],
        expect="tolerant")
    bad("badaspec", "spaces inside the <> of an addr-spec", inv,
        lambda h, c: [*h[:2], f'From: "Bell, Alexander" <sip:a.g.bell@{t.local_ip}>;tag=43',
                      f'To: "Watson, Thomas" < sip:t.watson@{t.host} >', *h[4:], "Content-Type: application/sdp"],
        _sdp(t), expect="tolerant")
    bad("baddn", "a display name with non-token characters, unquoted", inv,
        lambda h, c: [*h[:2], f"From: Bell, Alexander <sip:a.g.bell@{t.local_ip}>;tag=43",
                      f"To: Watson, Thomas <sip:{t.number}@{t.host}>", *h[4:], "Content-Type: application/sdp"],
        _sdp(t), expect="tolerant")
    bad("trws", "SP characters after the Request-Line's version", f"OPTIONS sip:{t.host}:{t.port} SIP/2.0  ",
        expect="tolerant")
    bad("baddate", "a Date in a time zone other than GMT", inv,
        lambda h, c: [*h, "Date: Fri, 01 Jan 2010 16:00:00 EST", "Content-Type: application/sdp"], _sdp(t),
        expect="tolerant")
    bad("badvers", "an unknown protocol version (SIP/7.0)", f"OPTIONS sip:{t.host}:{t.port} SIP/7.0",
        lambda h, c: [h[0].replace("SIP/2.0/", "SIP/7.0/"), *h[1:]], severity="M")
    bad("mismatch01", "Request-Line method OPTIONS, CSeq method INVITE", f"OPTIONS sip:{t.host}:{t.port} SIP/2.0",
        lambda h, c: [*h[:5], "CSeq: 1 INVITE", *h[6:]], severity="M")
    bad("mismatch02", "an unknown method with a CSeq method INVITE", f"NEWMETHOD sip:{t.host}:{t.port} SIP/2.0",
        lambda h, c: [*h[:5], "CSeq: 1 INVITE", *h[6:], "Content-Type: application/sdp"], _sdp(t))
    bad("bigcode", "a (stray) response with a status code of ten digits",
        "SIP/2.0 4294967301 better not break the receiver", lambda h, c: [h[0], *h[2:6]], expect="silent",
        marker=False)
    return out


# ---- RFC 4475 section 3.3: application-layer semantics ------------------------------------------------------------
def application(t: Target) -> list[Torture]:
    """The catalogue's subset (TC-ROB-03): insuf, unkscm, bext01, invut, multi01, mcl01, sdp01."""
    out = []
    s = "3.3"
    inv = f"INVITE sip:{t.number}@{t.host}:{t.port} SIP/2.0"
    cid, head = _common(t, "insuf", "INVITE")
    # "ideally" a 400 (RFC 4475 section 3.3.1): a stack that cannot build a response without them may drop it
    out.append(_msg(t, "insuf", s, "an INVITE without Call-ID, From and To", (400,),
                    [inv, head[0], head[1], head[5], head[6], "Content-Type: application/sdp"], _sdp(t),
                    severity="M", may_drop=True))
    cid, head = _common(t, "unkscm", "OPTIONS")
    out.append(_msg(t, "unkscm", s, "a Request-URI of an unknown scheme", (416,),
                    ["OPTIONS nobodyknowsthisscheme:totallyopaquecontent SIP/2.0", *head], call_id=cid))
    cid, head = _common(t, "bext01", "OPTIONS")
    head[3] = f"To: <sip:{t.host}:{t.port}>"
    out.append(_msg(t, "bext01", s, "Require and Proxy-Require naming extensions nobody supports", (420,),
                    [f"OPTIONS sip:{t.host}:{t.port} SIP/2.0", *head, "Require: nothingpeopleuse",
                     "Proxy-Require: nothingpeopleuse-either"], call_id=cid))
    cid, head = _common(t, "invut", "INVITE")
    out.append(_msg(t, "invut", s, "an INVITE whose body is of an unknown type", (415,),
                    [inv, *head, "Accept: application/sdp", "Content-Type: application/unknownformat"],
                    "<audio>\r\n <pcmu port=\"443\"/>\r\n</audio>\r\n", call_id=cid))
    cid, head = _common(t, "multi01", "INVITE")
    out.append(_msg(t, "multi01", s, "two values in each of Call-ID, To, From, Max-Forwards and CSeq", (400,),
                    [inv, head[0], "Max-Forwards: 70", head[2], f"From: <sip:other@{t.local_ip}>;tag={_tag()}",
                     head[3], f"To: <sip:other@{t.host}>", head[4], f"Call-ID: {_cid(t, 'multi01b')}",
                     head[1], "CSeq: 3 INVITE", head[5], head[6], "Content-Type: application/sdp"], _sdp(t),
                    call_id=cid))
    cid, head = _common(t, "mcl01", "OPTIONS")
    body = "foo=bar\r\n"
    out.append(_msg(t, "mcl01", s, "two different Content-Length values", (400,),
                    [f"OPTIONS sip:{t.host}:{t.port} SIP/2.0", *head, "Content-Type: text/plain",
                     "Content-Length: 0", f"l: {len(body)}"], body, call_id=cid, content_length="",
                    stream_unsafe=True))
    cid, head = _common(t, "sdp01", "INVITE")
    out.append(_msg(t, "sdp01", s, "an SDP offer in an INVITE whose Accept does not list application/sdp", (406,),
                    [inv, *head, "Accept: text/nobodyknowsthis", "Content-Type: application/sdp"], _sdp(t),
                    call_id=cid))
    return out


# ---- TC-ROB-04: requests of no dialog, unknown methods (RFC 3261 sections 8.2.1, 12.2.2, 17.2.3) -------------------
def stray(t: Target) -> list[Torture]:
    out = []
    s = "ROB-04"
    cid, head = _common(t, "rob04-bye", "BYE", cseq=2)
    head[3] += f";tag={_tag()}"
    out.append(_msg(t, "rob04-bye", s, "a BYE for a dialog that does not exist", (481,),
                    [f"BYE sip:{t.number}@{t.host}:{t.port} SIP/2.0", *head], call_id=cid, severity="M"))
    cid, head = _common(t, "rob04-ack", "ACK")
    head[3] += f";tag={_tag()}"
    out.append(_msg(t, "rob04-ack", s, "an ACK for a dialog that does not exist", "silent",
                    [f"ACK sip:{t.number}@{t.host}:{t.port} SIP/2.0", *head], call_id=cid, severity="M"))
    cid, head = _common(t, "rob04-method", "FROBNICATE")
    head[3] = f"To: <sip:{t.host}:{t.port}>"
    out.append(_msg(t, "rob04-method", s, "an out-of-dialog request of an unknown method, FROBNICATE", (405, 501),
                    [f"FROBNICATE sip:{t.host}:{t.port} SIP/2.0", *head], call_id=cid, severity="M"))
    return out


SETS = {"valid": valid, "invalid": invalid, "application": application, "stray": stray}


def build(which: str, t: Target, seed: int | None = None, count: int = 0) -> list[Torture]:
    """The messages of set ``which`` for target ``t`` (the datagram-only ones only when ``t`` is UDP); ``fuzz``:
    ``count`` seeded mutations (:mod:`sipqual.fuzz`)."""
    if which == "fuzz":
        from .fuzz import DEFAULT_SEED, mutants
        return mutants(t, DEFAULT_SEED if seed is None else seed, count)
    msgs = SETS[which](t)
    return [m for m in msgs if t.transport == "UDP" or not m.udp_only]
