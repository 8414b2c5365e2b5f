"""Stimuli of suites ID and NUM: calls whose caller and called identities the case chooses (number formats with and
without "+", withheld callers, P-Asserted-Identity and Privacy, History-Info, Referred-By and Diversion). Every
call is placed by scenarios/call_uac_ident.xml on the caller's side and answered by call_uas.xml on the other; the
caller hangs up. The legs are found again by the suite's marker and the dialled number (B2BUA-neutral)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..checks import CallSpec
from . import calls

if TYPE_CHECKING:
    from ..context import CaseContext

PAD = "X-Sipqual-Ident: -"          # an unused header slot (SIPp keeps an empty line, which would end the header)
ANONYMOUS = '"Anonymous" <sip:anonymous@anonymous.invalid>'     # RFC 3323 section 4.1.1.3


@dataclass
class Ident:
    """What the caller sends: the called number as written, the URI parameters after the Request-URI and To URI,
    the whole From value (no tag) and up to three more header lines."""

    called: str
    from_hdr: str
    uri_params: str = ";user=phone"
    headers: tuple[str, ...] = ()

    def keys(self) -> dict:
        if len(self.headers) > 3:
            raise ValueError("call_uac_ident.xml has three header slots")
        slots = list(self.headers) + [PAD] * (3 - len(self.headers))
        return {"called": self.called, "uri_params": self.uri_params, "from_hdr": self.from_hdr,
                "hdr_a": slots[0], "hdr_b": slots[1], "hdr_c": slots[2]}


def number_uri(number: str, host: str, params: str = ";user=phone") -> str:
    return f"<sip:{number}@{host}{params}>"


def ms_host(sq: CaseContext) -> str:
    """The host part Lync writes in its own From / PAI / History-Info URIs: the pool FQDN."""
    return sq.pixit["mediation"]["pool_fqdn"]


def far_host(sq: CaseContext) -> str:
    return sq.topo.far.ip


def out_ident_call(sq: CaseContext, ident: Ident, test_id: str | None = None, hold_ms: int = 1000,
                   name: str = "") -> None:
    """Mediation side -> DUT -> far end with ``ident``; the far end answers; our caller hangs up after ``hold_ms``."""
    sq.far_server(f"far-callee{name}", "call_uas.xml", timeout_s=15)
    keys = {**ident.keys(), **({"test_id": test_id} if test_id else {})}
    sq.ms_client(f"ms-caller{name}", "call_uac_ident.xml", keys, timeout_s=15, pause_ms=hold_ms)
    sq.wait_all()


def in_ident_call(sq: CaseContext, ident: Ident, test_id: str | None = None, hold_ms: int = 1000,
                  name: str = "") -> None:
    """Far end -> DUT -> Mediation side with ``ident``; the Mediation side answers; the far caller hangs up."""
    sq.ms_server(f"ms-callee{name}", "call_uas.xml", timeout_s=15)
    keys = {**ident.keys(), **({"test_id": test_id} if test_id else {})}
    sq.far_client(f"far-caller{name}", "call_uac_ident.xml", keys, timeout_s=15, pause_ms=hold_ms)
    sq.wait_all()


def in_e164(sq: CaseContext) -> Ident:
    """TC-ID-01: the PSTN side presents both numbers in E.164 with "+" and user=phone."""
    n = sq.pixit["numbers"]
    return Ident(n["inbound_called"], number_uri(n["inbound_caller"], far_host(sq)))


def out_e164(sq: CaseContext) -> Ident:
    """TC-NUM-01 / TC-ID-03: Lync's own form, sip:+E.164@host;user=phone in Request-URI, To and From."""
    n = sq.pixit["numbers"]
    return Ident(n["outbound_called"], number_uri(n["outbound_caller"], ms_host(sq)))


def in_withheld(sq: CaseContext) -> Ident:
    """TC-ID-02: a withheld PSTN caller: anonymous From, the real number in P-Asserted-Identity, Privacy: id."""
    n = sq.pixit["numbers"]
    return Ident(n["inbound_called"], ANONYMOUS,
                 headers=(f"P-Asserted-Identity: {number_uri(n['inbound_caller'], far_host(sq))}", "Privacy: id"))


def out_alias(sq: CaseContext) -> Ident:
    """TC-ID-04: Lync hiding the caller number: the user's alias in From (no number, no user=phone), no PAI."""
    n = sq.pixit["numbers"]
    return Ident(n["outbound_called"], f"<sip:{ALIAS}@{ms_host(sq)}>")


ALIAS = "alice"


def out_withheld(sq: CaseContext) -> Ident:
    """TC-ID-05 (OUT half): ForwardPAI=True and a withheld Lync caller: anonymous From, PAI, Privacy: id."""
    n = sq.pixit["numbers"]
    return Ident(n["outbound_called"], ANONYMOUS,
                 headers=(f"P-Asserted-Identity: {number_uri(n['outbound_caller'], ms_host(sq))}", "Privacy: id"))


def in_with_pai(sq: CaseContext) -> Ident:
    """TC-ID-05 (IN half): a presented PSTN caller asserted by PAI (no privacy)."""
    n = sq.pixit["numbers"]
    uri = number_uri(n["inbound_caller"], far_host(sq))
    return Ident(n["inbound_called"], uri, headers=(f"P-Asserted-Identity: {uri}",))


def pai_ids(sq: CaseContext) -> tuple[str, str]:
    """TC-ID-05's markers: the OUT call (withheld Lync caller) and the IN call (asserted PSTN caller)."""
    return sq.test_id + "-out", sq.test_id + "-in"


def forwarded(sq: CaseContext) -> Ident:
    """TC-ID-06: Lync forwarding (or sim-ringing) a call for its user +inbound_called to a PSTN number, with
    ForwardCallHistory=True: History-Info (RFC 7044: the Lync user, then the PSTN target with the cause) and
    Referred-By naming the forwarding user. The caller is the original PSTN caller."""
    n, h = sq.pixit["numbers"], ms_host(sq)
    user = n["inbound_called"]
    return Ident(n["outbound_called"], number_uri(n["inbound_caller"], h), headers=(
        f"History-Info: <sip:{user}@{h};user=phone?Reason=SIP%3Bcause%3D480>;index=1",
        f"History-Info: <sip:{n['outbound_called']}@{h};user=phone;cause=480>;index=1.1;mp=1",
        f"Referred-By: {number_uri(user, h)}"))


def redirecting_number(sq: CaseContext) -> str:
    """The number TC-ID-06 forwards from (the Lync user) and TC-ID-07's PSTN diverting number."""
    return sq.pixit["numbers"]["inbound_called"]


def in_diverted(sq: CaseContext) -> Ident:
    """TC-ID-07: an inbound call the PSTN already diverted once (Diversion, RFC 5806, and the same history as
    History-Info, RFC 7044); the DUT delivers it to the Lync user."""
    n, h = sq.pixit["numbers"], far_host(sq)
    div = diverting(sq)
    return Ident(n["inbound_called"], number_uri(n["inbound_caller"], h), headers=(
        f"Diversion: {number_uri(div, h)};reason=unconditional;counter=1;privacy=off",
        f"History-Info: <sip:{div}@{h};user=phone?Reason=SIP%3Bcause%3D302>;index=1",
        f"History-Info: <sip:{n['inbound_called']}@{h};user=phone;cause=302>;index=1.1"))


def diverting(sq: CaseContext) -> str:
    """TC-ID-07's diverting PSTN number: the inbound caller's number with its last digit changed (a third party)."""
    c = sq.pixit["numbers"]["inbound_caller"]
    return c[:-1] + str((int(c[-1]) + 1) % 10)


def without_plus(number: str) -> str:
    return number.lstrip("+")


def out_no_plus(sq: CaseContext) -> Ident:
    """TC-NUM-02 (OUT half): RemovePlusFromUri=True: Lync's URIs without the leading "+" (still user=phone)."""
    n = sq.pixit["numbers"]
    return Ident(without_plus(n["outbound_called"]), number_uri(without_plus(n["outbound_caller"]), ms_host(sq)))


def no_plus_ids(sq: CaseContext) -> tuple[str, str]:
    """TC-NUM-02's markers: the OUT call and the IN call."""
    return sq.test_id + "-out", sq.test_id + "-in"


def translated_called(number: str) -> str:
    """OutboundTranslationRulesList's example for NANP numbers: +1425... -> 1425... (the "+" dropped)."""
    return number.lstrip("+")


def translated_caller(number: str) -> str:
    """OutboundCallingNumberTranslationRulesList: +1 4255550100 -> 4255550100 (national significant number)."""
    d = number.lstrip("+")
    return d[1:] if d.startswith("1") else d


def out_translated(sq: CaseContext) -> Ident:
    """TC-NUM-03: Lync applied its outbound translation rules: called and calling numbers in local formats."""
    n = sq.pixit["numbers"]
    return Ident(translated_called(n["outbound_called"]),
                 number_uri(translated_caller(n["outbound_caller"]), ms_host(sq)))


def national(number: str) -> str:
    """A number in national format: without "+" and the NANP country code 1 (other plans: without "+")."""
    return translated_caller(number)


def in_national(sq: CaseContext) -> Ident:
    """TC-NUM-04: the PSTN presents the called number in national format and the caller as a 4-digit extension
    (the last four digits), as a PBX behind the DUT would."""
    n = sq.pixit["numbers"]
    return Ident(national(n["inbound_called"]), number_uri(n["inbound_caller"][-4:], far_host(sq)))


def out_spec(sq: CaseContext, ident: Ident, test_id: str | None = None) -> CallSpec:
    spec = replace(calls.out_call_spec(sq), called=ident.called)
    return replace(spec, test_id=test_id) if test_id else spec


def in_spec(sq: CaseContext, ident: Ident, test_id: str | None = None) -> CallSpec:
    spec = replace(calls.in_call_spec(sq), called=ident.called)
    return replace(spec, test_id=test_id) if test_id else spec
