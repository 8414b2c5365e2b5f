"""Active checks that test cases call: what the capture must show for a case to PASS. One module per suite
(:mod:`.opt`, :mod:`.calls`, :mod:`.bas`, ...) on what they share (:mod:`.common`); every check registers itself for
replay (:mod:`sipqual.recording`) when this package is imported, so importing ``sipqual.checks`` is enough to judge
any saved run again."""

__all__ = ["MARKER", "MIN_RTP_PACKETS", "CallSpec", "Leg", "StimulusMissing", "dut_invite_toward", "leg_of",
           "number_matches", "raise_missing", "sdp_of", "stimulus", "stop_unless_explained", "options_answered",
           "basic_call", "call_cancelled", "call_rejected", "dut_certificate_names", "dut_tls_client",
           "mutual_tls_server", "options_pings", "options_in_dialog", "call_progress", "call_no_answer",
           "delayed_offer_call", "q850_causes", "early_media", "forked_early_dialogs", "early_dtmf",
           "ringing_after_early_media", "options_like_invite", "two_xx_retransmitted",
           "reconnected", "framing_handled", "hold_resume", "hold_with_rtcp", "legacy_hold", "park_retrieve",
           "no_100rel_toward_mediation", "reliable_provisional", "update_in_dialog", "session_refreshed_by_dut",
           "session_expiry_bye", "session_timer_honoured", "session_too_small_retried", "long_call",
           "numbers_sent", "to_kept_toward_caller", "withheld_caller", "asserted_caller",
           "restricted_presentation", "history_mapped", "redirect_syntax", "formats_recorded",
           "media_retarget", "refer_transfer", "attended_transfer", "replaces_unmatched"]

from .common import (MARKER, MIN_RTP_PACKETS, CallSpec, Leg, StimulusMissing, dut_invite_toward, leg_of,
                     number_matches, raise_missing, sdp_of, stimulus, stop_unless_explained)
from .opt import options_answered
from .calls import basic_call
from .bas import (call_cancelled, call_no_answer, call_progress, call_rejected, delayed_offer_call,
                  q850_causes, two_xx_retransmitted)
from .trn import dut_certificate_names, dut_tls_client, mutual_tls_server
from .em import early_dtmf, early_media, forked_early_dialogs, ringing_after_early_media
from .opt import options_in_dialog, options_like_invite, options_pings
from .framing import framing_handled, reconnected
from .hld import hold_resume, hold_with_rtcp, legacy_hold, park_retrieve
from .rel import no_100rel_toward_mediation, reliable_provisional, update_in_dialog
from .st import session_expiry_bye, session_refreshed_by_dut, session_timer_honoured, session_too_small_retried
from .longcall import long_call
from .ident import (asserted_caller, formats_recorded, history_mapped, numbers_sent, redirect_syntax,
                    restricted_presentation, to_kept_toward_caller, withheld_caller)
from .xfr import attended_transfer, media_retarget, refer_transfer, replaces_unmatched
