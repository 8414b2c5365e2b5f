"""DUT profiles: who the device is (identity), how to reach it (PIXIT), what it claims (PICS), how to run it.

A profile is YAML, validated against :data:`SCHEMA`; every error names the file, the line and the key. A profile may
``extends:`` another one (relative path); mappings merge key by key, lists and scalars replace. The faulty and
topology-hiding variants of the reference DUT are two-line profiles built this way.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import UsageError

#: Schema keyword marking a value as secret: masked as "***" wherever a profile is shown (results.json, report,
#: bundle). Masking follows the schema, never a substring of a key name ("media_bypass" is a PICS claim, not a pass).
SECRET = "x-sipqual-secret"
#: Only for keys the schema does not know (a hand-written or foreign results.json): whole words of the key name.
_SECRET_WORDS = {"password", "passwd", "passphrase", "secret", "token", "key", "privatekey", "credential",
                 "credentials"}
PICS_FEATURES = ["tls", "mtls", "srtp", "refer", "prack", "session_timers", "early_media", "media_bypass",
                 "dns_load_balancing", "options_ping", "comfort_noise", "ipv6",
                 # dns_load_balancing (issue 14): the device resolves the Mediation pool FQDN to every A record and
                 # uses each member, failing over between them (TRN-05); the managed lab then builds a pool (ms2 and
                 # a DNS server, sipqual/pool.py): TC-FO-07/08/10 need it, TC-OPT-04 with options_ping
                 # suites ID/NUM (issue 12):
                 "privacy",             # honours RFC 3323/3325 withheld callers (anonymous From, PAI, Privacy: id) and
                                        # presents Lync's alias-From calls restricted: TC-ID-02, TC-ID-04 need it
                 "forward_pai",         # the trunk runs with Lync's ForwardPAI=True: PAI passed in both directions
                                        # (TC-ID-05 needs it)
                 "history_info",        # maps Lync's History-Info / Referred-By (ForwardCallHistory=True) to a
                                        # redirecting number (Diversion or History-Info) toward its network: TC-ID-06
                                        # then requires the mapping (else only acceptance is judged)
                 "remove_plus",         # the trunk runs with Lync's RemovePlusFromUri=True: no "+" in URI user parts
                                        # either way (TC-NUM-02 needs it; TC-ID-01 then expects numbers without "+")
                 "number_translation",  # Lync's outbound (calling) number translation rules are in use on this trunk:
                                        # local formats must be routed unchanged (TC-NUM-03 needs it)
                 # e911: the device passes a Lync emergency call's PIDF-LO (multipart INVITE body, RFC 6442
                 # Geolocation) on toward an E9-1-1 provider (EnablePIDFLOSupport; TC-E911-01, optional for SBCs)
                 "e911",
                 # fax: the device carries fax calls from its PSTN side: G.711 pass-through and T.38 re-INVITEs
                 # toward the trunk, which the Mediation Server refuses (TC-FAX-01, TC-FAX-02, informative)
                 "fax",
                 # rtp_latching (issue 13, TC-MED-09): the DUT sends its RTP to where the Mediation side's RTP comes
                 # from, not only to the SDP address (EnableRTPLatching, an SBC behind NAT; optional, MED-07)
                 "rtp_latching",
                 # suite XFR (issue 12):
                 "replaces"]            # attended transfer: an INVITE with Replaces (RFC 3891) reaches the replaced
                                        # call's far leg with a Replaces that matches that leg's dialog; a B2BUA or
                                        # topology-hiding device must map it (Lync's Refer-To names its own leg). It
                                        # exists because a device may relay REFER (pics.refer) yet be unable to map
                                        # Replaces (Kamailio topoh masks the far Call-ID): TC-XFR-02 needs it

_ports = {"type": "object", "additionalProperties": False, "required": ["tcp", "tls"],
          "properties": {"tcp": {"type": "integer", "minimum": 1, "maximum": 65535},
                         "tls": {"type": "integer", "minimum": 1, "maximum": 65535}}}
_number = {"type": "string", "pattern": r"^\+?[0-9]{3,20}$"}
_fqdn = {"type": "string", "pattern": r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$"}
_ip = {"type": "string", "format": "ipv4"}
_probe = {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
          "properties": {"tcp_listen": {"type": "string"}, "udp_listen": {"type": "string"}}}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "identity", "kind", "pixit", "pics"],
    "properties": {
        "schema": {"const": "sipqual-dut/1"},
        "extends": {"type": "string"},
        "identity": {
            "type": "object", "additionalProperties": False,
            "required": ["vendor", "product", "version", "role"],
            "properties": {"vendor": {"type": "string", "minLength": 1},
                           "product": {"type": "string", "minLength": 1},
                           "version": {"type": "string", "minLength": 1},
                           "role": {"enum": ["ip-pbx", "pstn-gateway", "sbc"]}},
        },
        "kind": {"enum": ["managed", "external"]},
        "pixit": {
            "type": "object", "additionalProperties": False,
            "required": ["dut", "mediation", "far", "numbers", "transports"],
            "properties": {
                "dut": {"type": "object", "additionalProperties": False, "required": ["fqdn", "ports"],
                        "properties": {"fqdn": _fqdn, "address": _ip, "ports": _ports,
                                       "cert": {"type": "string"}}},
                "mediation": {"type": "object", "additionalProperties": False,
                              "required": ["pool_fqdn", "server_fqdn", "ports"],
                              "properties": {"pool_fqdn": _fqdn, "server_fqdn": _fqdn, "address": _ip,
                                             "ports": _ports,
                                             "tls": {"type": "object", "additionalProperties": False,
                                                     "required": ["cert", "key", "ca"],
                                                     "properties": {
                                                         "cert": {"type": "string", "minLength": 1},
                                                         "key": {"type": "string", "minLength": 1, SECRET: True},
                                                         "ca": {"type": "string", "minLength": 1}}}}},
                "far": {"type": "object", "additionalProperties": False, "required": ["transport", "port"],
                        "properties": {"transport": {"enum": ["udp", "tcp"]},
                                       "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                       "address": _ip, "dut_address": _ip}},
                "numbers": {"type": "object", "additionalProperties": False,
                            "required": ["outbound_called", "outbound_caller", "inbound_called",
                                         "inbound_caller"],
                            "properties": {**{k: _number for k in ("outbound_called", "outbound_caller",
                                                                   "inbound_called", "inbound_caller")},
                                           # suite XFR: the PSTN number Lync transfers a call to (optional:
                                           # sipqual.flows.xfr.transfer_target derives one from outbound_called)
                                           "transfer_target": _number}},
                "transports": {"type": "array", "minItems": 1, "uniqueItems": True,
                               "items": {"enum": ["tcp", "tls"]}},
                "capture_interfaces": {"type": "array", "items": {"type": "string", "pattern": r"^[\w.@-]{1,15}$"}},
                # suite ROB (issue 15): the destructive cases (malformed, torture and crafted SIP that may crash or
                # hang the device) may run against it. Default: yes for the managed lab, no for real gear, which
                # opts in here or with --sipqual-destructive
                "destructive": {"type": "boolean"},
            },
        },
        "pics": {
            "type": "object", "additionalProperties": False,
            "required": ["tls"],
            "properties": {**{f: {"type": "boolean"} for f in PICS_FEATURES},
                           # the device's channel limit (CAP-01): TC-FO-03 holds this many calls up and expects 503
                           # for one more (keep it small on a lab DUT: the case places that many calls)
                           "max_concurrent_calls": {"type": "integer", "minimum": 1},
                           "codecs": {"type": "array", "items": {"enum": ["PCMU", "PCMA"]}},
                           # SRTPMode of the TLS trunk the device claims (SRTP-01/-03): "required" answers and offers
                           # RTP/SAVP only; "optional" also takes Lync's RTP/AVP offer with a=crypto. Only read when
                           # srtp is claimed; TCP trunks are always NotSupported (no a=crypto, RFC4568-03).
                           "srtp_mode": {"enum": ["required", "optional"]},
                           # the SDES crypto suites the device accepts (RFC 4568 names): TC-SRTP-05 offers one not
                           # listed and expects 488 (or, in optional mode, a plain fallback). Default: Lync's one
                           # suite, AES_CM_128_HMAC_SHA1_80 (SRTP-02)
                           "srtp_suites": {"type": "array", "minItems": 1, "uniqueItems": True,
                                           "items": {"type": "string", "pattern": r"^[A-Z0-9_]+$"}}},
        },
        "managed": {
            "type": "object", "additionalProperties": False, "required": ["processes"],
            "properties": {
                "processes": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["name", "command", "ready"],
                    "properties": {"name": {"type": "string", "pattern": r"^[\w-]+$"},
                                   "command": {"type": "string", "minLength": 1},
                                   "ready": _probe,
                                   "stop_signal": {"enum": ["TERM", "INT", "KILL"]}}}},
                "defines": {"type": "array", "items": {"type": "string", "pattern": r"^[A-Z_][A-Z0-9_]*$"}},
                "dut_cert_names": {"type": "array", "minItems": 1, "items": _fqdn},
            },
        },
    },
}


@dataclass(frozen=True)
class Profile:
    """A validated DUT profile. ``data`` is the merged document; the properties are what code needs most."""

    path: Path
    data: dict

    @property
    def identity(self) -> dict:
        return self.data["identity"]

    @property
    def kind(self) -> str:
        return self.data["kind"]

    @property
    def managed(self) -> bool:
        return self.kind == "managed"

    @property
    def destructive(self) -> bool:
        """Whether suite ROB's destructive cases may run (``pixit.destructive``; default: managed only)."""
        return bool(self.pixit.get("destructive", self.managed))

    @property
    def pixit(self) -> dict:
        return self.data["pixit"]

    @property
    def pics(self) -> dict:
        return self.data["pics"]

    @property
    def transports(self) -> list[str]:
        return list(self.pixit["transports"])

    def claims(self, feature: str) -> bool:
        """True when the PICS claim the feature; an unknown feature name is a programming error."""
        if feature not in PICS_FEATURES:
            raise KeyError(f"unknown PICS feature '{feature}' (known: {', '.join(PICS_FEATURES)})")
        return bool(self.pics.get(feature, False))

    @property
    def name(self) -> str:
        return self.path.stem

    def masked(self) -> dict:
        """The profile as it may appear in a report or bundle: every value the schema declares secret replaced by
        "***" (see :func:`mask_secrets`)."""
        d = mask_secrets(copy.deepcopy(self.data))
        d.pop("extends", None)
        return d


def secret_paths(schema: dict | None = None, prefix: tuple = ()) -> list[tuple]:
    """Every key path the schema declares secret (``x-sipqual-secret``), e.g. ("pixit", "mediation", "tls", "key")."""
    schema = SCHEMA if schema is None else schema
    out = []
    for k, sub in schema.get("properties", {}).items():
        if sub.get(SECRET):
            out.append(prefix + (k,))
        else:
            out += secret_paths(sub, prefix + (k,))
    if isinstance(schema.get("items"), dict):
        out += secret_paths(schema["items"], prefix + ("[]",))
    return out


def _secret_name(key) -> bool:
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(key)).lower())
    return any(w in _SECRET_WORDS for w in words) or "".join(words) in _SECRET_WORDS


def mask_secrets(node, schema: dict | None = SCHEMA):
    """``node`` (a profile, or part of one under ``schema``) with every value the schema declares secret replaced
    by "***". Keys the schema knows are masked only when it marks them secret, whatever their name (PICS such as
    ``media_bypass`` keep their booleans); keys it does not know (a foreign results.json) are masked when a whole
    word of their name says secret (password, token, key, ...), never for a substring."""
    if isinstance(node, dict):
        props = schema.get("properties", {}) if schema else {}
        out = {}
        for k, v in node.items():
            sub = props.get(k)
            if sub is None:
                out[k] = "***" if _secret_name(k) else mask_secrets(v, None)
            else:
                out[k] = "***" if sub.get(SECRET) else mask_secrets(v, sub)
        return out
    if isinstance(node, list):
        items = schema.get("items") if schema else None
        return [mask_secrets(v, items if isinstance(items, dict) else None) for v in node]
    return node


def _line_of(node: yaml.Node, path: list) -> int:
    """Best line number (1-based) for a JSON-schema error path inside a composed YAML node."""
    line = node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read(path: Path) -> tuple[dict, yaml.Node | None]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"DUT profile not found: {path}") from None
    except OSError as e:
        raise UsageError(f"cannot read DUT profile {path}: {e.strerror}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise UsageError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}:1: a DUT profile must be a mapping (schema, identity, kind, pixit, pics)")
    return data, node


def load_profile(path: str | Path, _seen: tuple = ()) -> Profile:
    """Load, merge ``extends`` chains, and validate. Raises :class:`UsageError` with file:line and key."""
    path = Path(path).resolve()
    if path in _seen:
        raise UsageError(f"{path}: 'extends' loops back to itself")
    data, child_node = _read(path)  # errors point at lines of this file (keys inherited from a parent: line 1)
    if "extends" in data:
        parent = load_profile(path.parent / str(data["extends"]), _seen + (path,))
        data = _merge(parent.data, data)
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        keypath = list(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            if extra:  # point at the unknown key itself, not at its parent
                keypath.append(extra[0])
        dotted = ".".join(str(k) for k in keypath) or "(top level)"
        line = _line_of(child_node, keypath) if child_node is not None else 1
        msg = err.message
        if err.validator == "additionalProperties":
            msg = msg.replace("Additional properties are not allowed", "unknown key(s)")
        raise UsageError(f"{path}:{line}: {dotted}: {msg}")
    _semantic_checks(path, data, child_node)
    return Profile(path, data)


def _semantic_checks(path: Path, data: dict, node) -> None:
    """Rules a JSON schema cannot say well."""
    def fail(keypath, msg):
        line = _line_of(node, keypath) if node is not None else 1
        raise UsageError(f"{path}:{line}: {'.'.join(map(str, keypath))}: {msg}")

    pixit = data["pixit"]
    if data["kind"] == "managed" and "managed" not in data:
        fail(["kind"], "kind 'managed' needs a 'managed' section with the processes to start")
    if data["kind"] == "external":
        for keypath in (["pixit", "dut", "address"], ["pixit", "mediation", "address"], ["pixit", "far", "address"]):
            cur = data
            for k in keypath:
                cur = cur.get(k, {}) if isinstance(cur, dict) else {}
            if not cur:
                fail(keypath[:-1], f"kind 'external' needs '{keypath[-1]}' (sipqual never guesses addresses)")
        if not pixit.get("capture_interfaces"):
            fail(["pixit"], "kind 'external' needs 'capture_interfaces' (where both legs can be captured)")
        for keypath in (["pixit", "dut", "address"], ["pixit", "far", "dut_address"]):
            value = pixit.get(keypath[1], {}).get(keypath[2])
            if value and (ipaddress.ip_address(value).is_loopback or ipaddress.ip_address(value).is_multicast):
                fail(keypath, f"{value} cannot be a DUT address")
        if "tls" in pixit["transports"] and "tls" not in pixit["mediation"]:
            fail(["pixit", "mediation"], "kind 'external' with transport tls needs 'tls' (cert, key, ca: the "
                 "Mediation pool certificate and the CA the device trusts)")
    if "tls" in pixit["transports"] and not data["pics"].get("tls"):
        fail(["pixit", "transports"], "transport 'tls' listed but pics.tls is false")
