"""The media agent: one process per media endpoint of a case, sending and receiving RTP/RTCP (plain or SRTP through
libsrtp2) with the negotiated payload types and ptime, RFC 4733 events, comfort noise and in-band DTMF, and writing
its own per-stream report. Modules: :mod:`.config` (what it is told), :mod:`.sender`, :mod:`.receiver`,
:mod:`.packets`, :mod:`.audio` (G.711, DTMF tones, Goertzel), :mod:`.srtp`, :mod:`.agent` (the process's loop),
:mod:`.handle` (start/update/stop from a case)."""

from .config import AgentConfig, StreamConfig, from_sdp, peer_changes
from .handle import MediaAgent
from .srtp import SdesKey

__all__ = ["AgentConfig", "StreamConfig", "from_sdp", "peer_changes", "MediaAgent", "SdesKey"]
