"""Stimuli of suite XFR: transfers. With REFER disabled (the Lync trunk's default for most listed IP-PBXs and
gateways) Lync transfers by moving the media of the call it keeps: a re-INVITE whose offer names the transfer
target's endpoint (a media-only phone, :mod:`sipqual.rtppeer`, that answers RTP symmetrically; TC-XFR-04, a
hairpin transfer), or, with Enable3pccRefer, a re-INVITE without SDP answered in the
ACK with the target's endpoint (TC-XFR-05, RFC 3725 flow I). A DUT-side user transfers the same way from the far
side (TC-XFR-07): the Mediation side does not take REFER (SIG-09). One scenario does all three
(``xfr_retarget_uac.xml``, key ``retarget``: offer | 3pcc); the other party (``hold_uas.xml``) answers every
re-INVITE, with an offer when it came without one, and streams all call long."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from ..lab import extra_address
from .calls import inbound, outbound
from .hld import _with_rtcp

if TYPE_CHECKING:
    from ..context import CaseContext

MEDIA_MS = 1500     # RTP both ways before the transfer and after it (the check wants the media moved within 1 s)


def _timeout(media_ms: int) -> int:
    return int(10 + 2 * media_ms / 1000)


def lync_retargets(sq: CaseContext, retarget: str = "offer", media_ms: int = MEDIA_MS) -> None:
    """Mediation side -> DUT -> far end; after ``media_ms`` of RTP both ways the Mediation side moves the call's
    media to another port (the transfer target's endpoint) by re-INVITE: with an offer (``retarget="offer"``) or
    without SDP, answering the DUT's offer in the ACK (``"3pcc"``); ``media_ms`` later it hangs up."""
    timeout = _timeout(media_ms)
    _with_rtcp(sq, 2 * media_ms / 1000, "far-transferee")      # hold_uas.xml plays rtcp.pcap from its answer on
    new_port = sq.ports.media()                                   # the transfer target's phone (sipqual.rtppeer)
    sq.media_peer("ms-target", "ms", new_port, seconds=timeout)
    sq.far_server("far-transferee", "hold_uas.xml", {"media": "on"}, timeout_s=timeout)
    sq.ms_client("ms-transferor", "xfr_retarget_uac.xml", {**outbound(sq), "retarget": retarget,
                                                              "new_port": new_port},
                 timeout_s=timeout, extra=["-set", "media_ms", str(media_ms)])
    sq.wait_all()


def far_retargets(sq: CaseContext, media_ms: int = MEDIA_MS) -> None:
    """Far end -> DUT -> Mediation side; after ``media_ms`` a DUT-side user transfers the call: the far caller (the
    PBX behind the DUT) moves its media to another port by a re-INVITE with an offer, never a REFER; ``media_ms``
    later it hangs up. The Mediation side answers whatever the DUT sends it (re-INVITE or none)."""
    timeout = _timeout(media_ms)
    _with_rtcp(sq, 2 * media_ms / 1000, "ms-transferee")
    new_port = sq.ports.media() + 10000                           # far-side media ports (CaseContext.far_*)
    sq.media_peer("far-target", "far", new_port, seconds=timeout)
    sq.ms_server("ms-transferee", "hold_uas.xml", {"media": "on"}, timeout_s=timeout)
    sq.far_client("far-transferor", "xfr_retarget_uac.xml", {**inbound(sq), "retarget": "offer",
                                                               "new_port": new_port},
                  timeout_s=timeout, extra=["-set", "media_ms", str(media_ms)])
    sq.wait_all()


# ---- REFER enabled (EnableReferSupport): Lync transfers by REFER --------------------------------------------------

def transfer_target(sq: CaseContext) -> str:
    """The PSTN number Lync transfers to: PIXIT ``numbers.transfer_target``, else ``outbound_called`` with its last
    digit changed (another PSTN number of the same range)."""
    n = sq.pixit["numbers"]
    if n.get("transfer_target"):
        return n["transfer_target"]
    called = n["outbound_called"]
    return called[:-1] + str((int(called[-1]) + 1) % 10)


def lync_refers(sq: CaseContext, referred_by: bool = True, frag: str = "200 OK", media_ms: int = 1000,
                after_ms: int = 200, outcome_ms: int = 500) -> None:
    """Mediation side -> DUT -> far end; after ``media_ms`` of RTP both ways the Mediation side sends a REFER in the
    dialog (Refer-To: the transfer target at the DUT; Referred-By: the Lync user when ``referred_by``), answers the
    NOTIFYs and ``after_ms`` after the final one hangs up. Our far end is the transferee a REFER passed on reaches:
    202, NOTIFY 100, and ``outcome_ms`` later NOTIFY with ``frag`` (its call to the target: "200 OK", or "486 Busy
    Here"); a DUT that executes the transfer itself answers and NOTIFYs on its own (the checks tell which)."""
    timeout = int(15 + (media_ms + after_ms + outcome_ms) / 1000)
    sq.far_server("far-transferee", "xfr_refer_uas.xml", {"frag": frag}, timeout_s=timeout, pause_ms=outcome_ms)
    sq.ms_client("ms-transferor", "xfr_refer_uac.xml",
                 {**outbound(sq), "target": transfer_target(sq), "referred_by": "yes" if referred_by else "no"},
                 timeout_s=timeout, extra=["-set", "media_ms", str(media_ms), "-set", "after_ms", str(after_ms)])
    sq.wait_all()


def lync_refers_in_call(sq: CaseContext, referred_by: bool = True, frag: str = "200 OK", media_ms: int = 1000,
                        after_ms: int = 200, outcome_ms: int = 500) -> None:
    """TC-XFR-08: far end -> DUT -> Mediation side; Lync answers and, after ``media_ms``, transfers the PSTN caller
    to another PSTN number by REFER in the dialog (Refer-To: the transfer target at the DUT; Referred-By: the Lync
    user), answers the NOTIFYs and hangs up ``after_ms`` after the final one. Our far caller is the transferee a
    REFER passed on reaches (202, NOTIFY 100, ``outcome_ms`` later NOTIFY ``frag``)."""
    timeout = int(15 + (media_ms + after_ms + outcome_ms) / 1000)
    sq.ms_server("ms-transferor", "xfr_refer_in_uas.xml",
                 {"called": sq.pixit["numbers"]["inbound_called"], "target": transfer_target(sq),
                  "referred_by": "yes" if referred_by else "no", "ruri_host": sq.pixit["dut"]["fqdn"]},
                 timeout_s=timeout, pause_ms=media_ms, extra=["-set", "after_ms", str(after_ms)])
    sq.far_client("far-transferee", "xfr_refer_in_uac.xml", {**inbound(sq), "frag": frag}, timeout_s=timeout,
                  pause_ms=outcome_ms)
    sq.wait_all()


# ---- TC-XFR-02: attended transfer (REFER with Replaces) and an INVITE with a Replaces matching nothing ------------

def stray_number(sq: CaseContext) -> str:
    """A PSTN number with no call at all (the transfer target's, last digit changed): the 481 half of TC-XFR-02."""
    t = transfer_target(sq)
    return t[:-1] + str((int(t[-1]) + 1) % 10)


def lync_attended(sq: CaseContext, media_ms: int = 1000, talk_ms: int = 1500, after_ms: int = 200) -> Path | None:
    """Lync (Mediation side) calls party 1 (``outbound_called``: call A) and party 2 (the transfer target: call B),
    both on the far side (``xfr_attended_uas.xml``, one address, a role per call), and after ``media_ms`` REFERs
    party 1 on A with Refer-To <party 2?Replaces=B> (``xfr_attended_uac.xml``). Party 1 takes the REFER the DUT
    passes on and writes its Replaces; sipqual then starts party 1's PBX leg (``xfr_replacing_uac.xml``, another
    far port), which INVITEs party 2 through the DUT with that Replaces and talks ``talk_ms``. Meanwhile the
    Mediation side sends an INVITE with a Replaces matching no dialog to a third number
    (``xfr_replaces_stray_uac.xml``, marker ``<test_id>-481``). Returns the Replaces file (None: no REFER came)."""
    n = sq.pixit["numbers"]
    timeout = int(20 + (media_ms + talk_ms) / 1000)
    far = sq.far_server("far-parties", "xfr_attended_uas.xml", {"party1": n["outbound_called"],
                                                                "target": transfer_target(sq)},
                        timeout_s=timeout, calls=4)
    sq.ms_client("ms-stray", "xfr_replaces_stray_uac.xml", {**outbound(sq), "called": stray_number(sq),
                                                            "test_id": f"{sq.test_id}-481"}, timeout_s=timeout)
    sq.ms_client("ms-transferor", "xfr_attended_uac.xml", {**outbound(sq), "target": transfer_target(sq)},
                 timeout_s=timeout, calls=2,
                 extra=["-cid_str", "%u-%p-%s", "-set", "media_ms", str(media_ms), "-set", "after_ms", str(after_ms)])
    path = far.workdir / "refer-replaces.txt"
    deadline = time.monotonic() + media_ms / 1000 + 10
    while time.monotonic() < deadline and not _replaces_written(path):      # bounded: 50 ms steps
        time.sleep(0.05)
    if _replaces_written(path):
        sq.far_client("far-party1-pbx", "xfr_replacing_uac.xml",
                      {"target": transfer_target(sq), "caller": n["outbound_called"],
                       "replaces": unquote(path.read_text().strip())},
                      local_ip=party1_pbx_address(sq), timeout_s=timeout, extra=["-set", "media_ms", str(talk_ms)])
    sq.wait_all()
    return path if path.exists() else None


def party1_pbx_address(sq: CaseContext) -> str:
    """Party 1's PBX sends its INVITE with Replaces from a second far-side address (the far address + 1). From the
    far parties' own address it would share Call-ID, tags and address pair with the hop the DUT hairpins to party 2
    (a proxy keeps them), and the rule library, which tells a dialog's legs by address pair, would read both hops as
    one."""
    return extra_address(sq.topo.far, 1, "TC-XFR-02 (party 1's PBX)")


def _replaces_written(path: Path) -> bool:
    try:
        return path.read_text().endswith("\n") and bool(path.read_text().strip())
    except OSError:
        return False


def attended_specs(sq: CaseContext):
    """Call A (to party 1), call B (to party 2, marker ``-b``) and the unmatched-Replaces INVITE (marker ``-481``)."""
    from dataclasses import replace
    from .calls import out_call_spec
    a = out_call_spec(sq)
    return (a, replace(a, test_id=f"{sq.test_id}-b", called=transfer_target(sq)),
            replace(a, test_id=f"{sq.test_id}-481", called=stray_number(sq)))
