"""Stimuli of suite HLD: hold and resume by re-INVITE, from the Mediation side (Lync holds: sendonly for music on
hold, or inactive) and from the far side (the PSTN/PBX user holds, so the DUT must carry the hold to the Mediation
side). One scenario pair does both: ``hold_uac.xml`` places the call and holds/resumes it ``cycles`` times,
``hold_uas.xml`` answers every re-INVITE with the RFC 3264 direction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import inbound, outbound

if TYPE_CHECKING:
    from ..context import CaseContext


def _sets(cycles: int, hold_ms: int, media_ms: int) -> list[str]:
    return ["-set", "cycles", str(cycles), "-set", "hold_ms", str(hold_ms), "-set", "media_ms", str(media_ms)]


def _timeout(cycles: int, hold_ms: int, media_ms: int) -> int:
    return int(10 + cycles * (hold_ms + media_ms + 1500) / 1000 + media_ms / 1000)


def lync_holds(sq: CaseContext, hold_dir: str = "sendonly", cycles: int = 1, hold_ms: int = 1000,
               media_ms: int = 1000) -> None:
    """Mediation side -> DUT -> far end; once the call is up (``media_ms`` of RTP both ways) the Mediation side
    holds with a re-INVITE a=``hold_dir`` (sendonly: music on hold, its RTP goes on; inactive: nothing flows),
    ``hold_ms`` later resumes with a=sendrecv and streams ``media_ms`` again, ``cycles`` times; then hangs up. The
    far end answers each re-INVITE with the RFC 3264 direction."""
    timeout = _timeout(cycles, hold_ms, media_ms)
    sq.far_server("far-held", "hold_uas.xml", timeout_s=timeout)
    sq.ms_client("ms-holder", "hold_uac.xml", {**outbound(sq), "hold_dir": hold_dir, "hold_addr": sq.topo.ms.ip},
                 timeout_s=timeout, extra=_sets(cycles, hold_ms, media_ms))
    sq.wait_all()


def far_holds(sq: CaseContext, hold_dir: str = "sendonly", cycles: int = 1, hold_ms: int = 1000,
              media_ms: int = 1000, legacy: bool = False) -> None:
    """Far end -> DUT -> Mediation side; the far caller holds (re-INVITE a=``hold_dir``; ``legacy``: with
    c=0.0.0.0 as RFC 2543 did) and resumes, ``cycles`` times, then hangs up; the Mediation side answers each
    re-INVITE the DUT sends it with the RFC 3264 direction."""
    timeout = _timeout(cycles, hold_ms, media_ms)
    sq.ms_server("ms-held", "hold_uas.xml", timeout_s=timeout)
    sq.far_client("far-holder", "hold_uac.xml",
                  {**inbound(sq), "hold_dir": hold_dir, "hold_addr": "0.0.0.0" if legacy else sq.topo.far.ip},
                  timeout_s=timeout, extra=_sets(cycles, hold_ms, media_ms))
    sq.wait_all()
