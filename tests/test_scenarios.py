"""Every SIPp scenario is checked before any lab starts: well-formed XML, known SIPp elements, and every [key] it
uses is one the runner passes (SIPp aborts on an unknown keyword only at run time)."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SCEN = Path(__file__).resolve().parent.parent / "scenarios"
ELEMENTS = {"scenario", "send", "recv", "pause", "nop", "action", "exec", "ereg", "label", "Reference",
            "assign", "assignstr", "strcmp", "test", "add", "todouble", "Global", "jump", "log", "error", "ResponseTimeRepartition", "CallLengthRepartition"}
BUILTIN = {"branch", "call_id", "call_number", "len", "media_ip", "media_ip_type", "media_port", "pid",
           "next_url", "routes", "local_ip", "local_port", "transport", "service", "remote_ip", "remote_port"}
RUNNER_KEYS = {"adv_host", "adv_port", "uri_transport", "via_transport", "test_id", "ruri_host", "ruri_port",
               "called", "caller", "status", "cause", "codec_pt", "codec_name", "other_port",
               "hold_dir", "hold_addr", "media", "retrieve",
               "supported", "se", "se_answer", "min_se",  # suites REL and ST
               "uri_params", "from_hdr", "hdr_a", "hdr_b", "hdr_c",  # suites ID and NUM (call_uac_ident.xml)
               "retarget", "new_port", "target", "referred_by", "frag",  # suite XFR
               "diverter",  # suite FEA: the forwarding Lync user's number in History-Info/Diversion
               "proto", "crypto", "crypto_key",  # suite SRTP
               "agent_port", "agent_proto", "agent_attr", "te_pt", "agent_port2", "codecs", "codec_maps",
               "reinv_version", "agent_attr2", "agent_attr3",  # the media agent (TC-SRTP-06: re-key keys)
               "party1", "replaces"}  # TC-XFR-02 (attended transfer)


@pytest.mark.parametrize("path", sorted(SCEN.glob("*.xml")), ids=lambda p: p.name)
def test_scenario_is_valid(path):
    root = ET.parse(path).getroot()
    assert root.tag == "scenario" and root.get("name")
    for el in root.iter():
        assert el.tag in ELEMENTS, f"{path.name}: unknown SIPp element <{el.tag}>"
        if el.tag == "recv":
            assert el.get("request") or el.get("response"), f"{path.name}: <recv> without request/response"
    text = path.read_text()
    for kw in set(re.findall(r"\[([a-z_]+)\]", text)):
        assert kw in BUILTIN | RUNNER_KEYS, f"{path.name}: [{kw}] is neither a SIPp keyword nor a runner key"
    assert "X-Sipqual-Test: [test_id]" in text or "recv request=\"INVITE\"" in text, \
        f"{path.name}: requests the suite sends must carry the test marker"
