"""Active checks that test cases call: what the capture must show for a case to PASS. One module per suite
(:mod:`.opt`, :mod:`.calls`, :mod:`.bas`, ...) on what they share (:mod:`.common`); every check registers itself for
replay (:mod:`sipqual.recording`) when this package is imported, so importing ``sipqual.checks`` is enough to judge
any saved run again."""

__all__ = ["MARKER", "MIN_RTP_PACKETS", "CallSpec", "Leg", "StimulusMissing", "dut_invite_toward", "leg_of",
           "number_matches", "raise_missing", "sdp_of", "stimulus", "stop_unless_explained", "options_answered",
           "basic_call", "call_cancelled", "call_rejected", "dut_certificate_names", "dut_tls_client",
           "mutual_tls_server", "options_pings", "options_in_dialog", "call_progress", "call_no_answer",
           "delayed_offer_call", "q850_causes", "no_100rel_toward_mediation", "reliable_provisional", "update_in_dialog", "session_refreshed_by_dut",
           "session_expiry_bye", "session_timer_honoured", "session_too_small_retried"]

from .common import (MARKER, MIN_RTP_PACKETS, CallSpec, Leg, StimulusMissing, dut_invite_toward, leg_of,
                     number_matches, raise_missing, sdp_of, stimulus, stop_unless_explained)
from .opt import options_answered
from .calls import basic_call
from .bas import (call_cancelled, call_no_answer, call_progress, call_rejected, delayed_offer_call,
                  q850_causes)
from .trn import dut_certificate_names, dut_tls_client, mutual_tls_server
from .opt import options_in_dialog, options_pings
from .rel import no_100rel_toward_mediation, reliable_provisional, update_in_dialog
from .st import session_expiry_bye, session_refreshed_by_dut, session_timer_honoured, session_too_small_retried
