"""Tests for sipqual.sdp: tolerant SDP parsing and media helpers."""

from __future__ import annotations

from sipqual.sdp import Connection, Crypto, parse_sdp

CRYPTO_LINE = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4"


def sdp_text(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


OFFER = sdp_text(
    "v=0",
    "o=- 1234 5 IN IP4 192.0.2.10",
    "s=sipqual",
    "c=IN IP4 192.0.2.10",
    "t=0 0",
    "a=sendonly",
    "m=audio 49170 RTP/SAVP 0 8 101 13",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
    CRYPTO_LINE,
    "m=video 51372/2 RTP/AVP 96",
    "c=IN IP4 0.0.0.0",
    "a=rtpmap:96 H264/90000",
    "a=recvonly",
)


def test_session_level_fields():
    sdp = parse_sdp(OFFER.encode())
    assert sdp.version == 0
    assert sdp.origin.username == "-" and sdp.origin.sess_id == "1234"
    assert sdp.origin.sess_version == 5 and sdp.origin.address == "192.0.2.10"
    assert sdp.session_name == "sipqual"
    assert sdp.connection == Connection("IN", "IP4", "192.0.2.10")
    assert sdp.attributes == [("sendonly", None)]
    assert sdp.defects == []


def test_two_media_sections():
    sdp = parse_sdp(OFFER)
    audio, video = sdp.media
    assert sdp.audio is audio and sdp.video is video
    assert (audio.kind, audio.port, audio.port_count, audio.proto) == ("audio", 49170, 1, "RTP/SAVP")
    assert audio.formats == ["0", "8", "101", "13"]
    assert (video.port, video.port_count, video.proto) == (51372, 2, "RTP/AVP")


def test_rtpmap_includes_static_payload_types():
    audio = parse_sdp(OFFER).audio
    assert audio.rtpmap == {
        101: ("telephone-event", 8000, None),
        0: ("PCMU", 8000, None),
        8: ("PCMA", 8000, None),
        13: ("CN", 8000, None),
    }
    assert audio.codec_names() == ["PCMU", "PCMA", "TELEPHONE-EVENT", "CN"]


def test_static_pts_9_and_18_and_rtpmap_channels():
    media = parse_sdp(sdp_text("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 h", "t=0 0",
                               "m=audio 4000 RTP/AVP 9 18 111",
                               "a=rtpmap:111 opus/48000/2")).audio
    assert media.rtpmap[9] == ("G722", 8000, None)
    assert media.rtpmap[18] == ("G729", 8000, None)
    assert media.rtpmap[111] == ("opus", 48000, "2")
    assert media.codec_names() == ["G722", "G729", "OPUS"]


def test_fmtp_and_ptime():
    audio = parse_sdp(OFFER).audio
    assert audio.fmtp == {101: "0-15"}
    assert audio.ptime == 20
    assert parse_sdp(OFFER).video.ptime is None


def test_direction_media_overrides_session():
    sdp = parse_sdp(OFFER)
    assert sdp.audio.direction == "sendonly"  # inherited from session level
    assert sdp.audio.session_direction == "sendonly"
    assert sdp.video.direction == "recvonly"  # media level wins


def test_direction_defaults_to_sendrecv():
    media = parse_sdp(sdp_text("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 h", "t=0 0",
                               "m=audio 4000 RTP/AVP 0")).audio
    assert media.direction == "sendrecv"
    assert media.session_direction is None


def test_crypto_line():
    (crypto,) = parse_sdp(OFFER).audio.crypto
    assert crypto == Crypto(1, "AES_CM_128_HMAC_SHA1_80",
                            "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4", [])
    assert crypto.key == "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
    assert crypto.lifetime == "2^20" and crypto.mki == "1:4"


def test_crypto_session_params_and_bad_crypto():
    sdp = parse_sdp(sdp_text("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 h", "t=0 0",
                             "m=audio 4000 RTP/SAVP 0",
                             "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:KEY UNENCRYPTED_SRTCP KDR=1",
                             "a=crypto:x broken"))
    (crypto,) = sdp.audio.crypto
    assert crypto.tag == 2 and crypto.session_params == ["UNENCRYPTED_SRTCP", "KDR=1"]
    assert crypto.lifetime is None and crypto.mki is None
    assert "m[0] audio: bad crypto 'x broken'" in sdp.defects


def test_hold_connection_and_effective_connection():
    sdp = parse_sdp(OFFER)
    assert sdp.video.connection == Connection("IN", "IP4", "0.0.0.0")
    assert sdp.video.effective_connection.is_unspecified
    assert sdp.audio.connection is None
    assert sdp.audio.effective_connection == sdp.connection
    assert not sdp.audio.effective_connection.is_unspecified


def test_missing_connection_everywhere_is_defect():
    sdp = parse_sdp(sdp_text("v=0", "o=- 1 1 IN IP4 h", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0"))
    assert sdp.audio.effective_connection is None
    assert "m[0] audio: no c= at media or session level" in sdp.defects


def test_dynamic_pt_without_rtpmap_is_defect_and_skipped():
    sdp = parse_sdp(sdp_text("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 h", "t=0 0",
                             "m=audio 4000 RTP/AVP 0 97", "a=rtpmap:98 foo/8000"))
    assert sdp.audio.codec_names() == ["PCMU"]
    assert "m[0] audio: payload type 97 has no rtpmap" in sdp.defects
    assert "m[0] audio: rtpmap for payload type 98 not in m= line" in sdp.defects


def test_bare_lf_and_str_input():
    sdp = parse_sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 4000 RTP/AVP 8\n")
    assert sdp.audio.codec_names() == ["PCMA"]
    assert sdp.defects == []


def test_garbage_never_raises():
    sdp = parse_sdp(b"\xff\xfenot sdp at all\r\nm=audio\r\nX=1\r\n\r\nc=IN\r\n")
    assert sdp.audio is not None and sdp.audio.port == -1
    assert "SDP is not valid UTF-8" in sdp.defects
    assert any("not '<type>=<value>'" in d for d in sdp.defects)
    assert "missing v= line" in sdp.defects and "missing o= line" in sdp.defects
    assert any("c= needs 3 fields" in d for d in sdp.defects)


def test_empty_sdp():
    sdp = parse_sdp(b"")
    assert sdp.media == [] and sdp.audio is None
    assert sdp.defects == ["empty SDP"]


def test_bad_origin_and_version():
    sdp = parse_sdp(sdp_text("v=1", "o=- 1 x IN IP4 h", "s=-", "c=IN IP4 h", "t=0 0"))
    assert sdp.version == 1
    assert sdp.origin.sess_version is None
    assert "v=1 is not v=0" in sdp.defects
    assert "o= session version 'x' is not a number" in sdp.defects


def test_session_only_line_inside_media_and_unknown_type():
    sdp = parse_sdp(sdp_text("v=0", "o=- 1 1 IN IP4 h", "s=-", "c=IN IP4 h", "t=0 0",
                             "m=audio 0 RTP/AVP 0", "s=again", "q=what"))
    assert sdp.session_name == "-"
    assert sdp.audio.port == 0  # port 0: stream rejected, still parsed
    assert "line 7: s= not allowed in a media section" in sdp.defects
    assert "line 8: unknown line type q=" in sdp.defects


def test_attribute_helpers():
    sdp = parse_sdp(OFFER + "a=rtcp-mux\r\na=label:main\r\n")
    video = sdp.video
    assert video.has_attribute("RTCP-MUX") and video.attribute("rtcp-mux") is None
    assert video.attribute("label") == "main"
    assert sdp.attribute("sendonly") is None and sdp.attribute("nope") is None
