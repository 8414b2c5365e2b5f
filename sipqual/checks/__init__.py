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
           "media_retarget", "refer_transfer", "attended_transfer", "replaces_unmatched",
           "ivr_digits", "conference_escalation", "call_history_passed", "pidf_unchanged", "t38_refused",
           "g711_passthrough",
           "srtp_call", "srtp_optional_call", "unsupported_suite_refused", "no_crypto_on_tcp", "dut_srtp_offer",
           "srtp_rekeyed",
           # suites MED and DTMF (the media agent)
           "dtmf_relayed", "dtmf_long_press", "dut_rtp_timing", "dut_rtcp", "no_inband_duplicates",
           "comfort_noise_relayed", "media_at_signalling_address", "rtp_latched", "media_retargeted",
           "reinvite_unchanged", "codecs_negotiated", "rtcp_withheld",
           "dtmf_asymmetric_pts", "pin_collected",
           # suite BYP (media bypass)
           "bypass_media", "bypass_without_rtcp", "bypass_srtp", "bypass_fork_answered", "bypass_left",
           "bypass_hold_resume", "bypass_early_media_dtmf",
           # the Mediation pool (issue 14)
           "pool_failover", "member_accepted", "silent_member_avoided",
           # suite ROB (issue 15)
           "torture_handled", "lync_sdp_accepted",
           # suite SEC (sipqual's security extension, issue 15)
           "untrusted_source_refused", "client_certificates_refused", "tls_versions_accepted",
           "topology_hidden", "no_cleartext_sip",
           # suite FO (the far side's failures)
           "trunk_down_rejected", "capacity_overflow", "cause_mapping", "channel_freed",
           "progress_despite_slow_alerting"]

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
from .fea import call_history_passed, conference_escalation, g711_passthrough, ivr_digits, pidf_unchanged, t38_refused
from .srtp import (dut_srtp_offer, no_crypto_on_tcp, srtp_call, srtp_optional_call, srtp_rekeyed,
                   unsupported_suite_refused)
from .med import (comfort_noise_relayed, dtmf_long_press, dtmf_relayed, dut_rtcp, dut_rtp_timing,
                  media_at_signalling_address, media_retargeted, no_inband_duplicates, reinvite_unchanged,
                  rtp_latched)
from .byp import (bypass_early_media_dtmf, bypass_fork_answered, bypass_hold_resume, bypass_left,
                  bypass_media, bypass_srtp, bypass_without_rtcp)
from .pool import member_accepted, pool_failover, silent_member_avoided
from .rob import lync_sdp_accepted, torture_handled
from .medneg import codecs_negotiated, dtmf_asymmetric_pts, pin_collected, rtcp_withheld
from .sec import (client_certificates_refused, no_cleartext_sip, tls_versions_accepted, topology_hidden,
                  untrusted_source_refused)
from .fo import (capacity_overflow, cause_mapping, channel_freed, progress_despite_slow_alerting,
                 trunk_down_rejected)
