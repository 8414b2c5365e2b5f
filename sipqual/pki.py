"""A fresh lab PKI per run, made with the ``openssl`` command line (no Python crypto dependency).

Layout of ``dir`` after :func:`create_pki`::

    ca.crt  ca.key                  Lab Test CA (the CA every lab peer trusts)
    ca-bundle.crt                   trust bundle to hand to peers: the lab CA only (never the rogue CA)
    rogue-ca.crt  rogue-ca.key      Rogue Test CA: unrelated, trusted by nobody (negative tests)
    <name>.crt  <name>.key          one leaf per host, signed by the lab CA
    .ca/<lab|rogue>/...             openssl ca bookkeeping (index, config, per-cert extension files)

Every certificate's notBefore is backdated by :data:`CLOCK_SKEW` so a DUT whose clock runs a little behind still
accepts it. Key files are created with mode 0600 before any key material is written to them.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

OPENSSL = "openssl"
RSA_BITS = 2048
CA_DAYS = 3650
CLOCK_SKEW = _dt.timedelta(hours=1)
_TIMEOUT = 60  # seconds for one openssl command (key generation is the slow one, ~0.1 s)

LAB_CA_CN = "Lab Test CA"
ROGUE_CA_CN = "Rogue Test CA"


class PkiError(RuntimeError):
    """An openssl command failed or its output could not be understood; ``str()`` is one line."""


@dataclass
class Cert:
    name: str
    cert: Path
    key: Path
    subject_cn: str
    san_dns: list[str] = field(default_factory=list)
    san_ip: list[str] = field(default_factory=list)
    issuer: str = ""  # issuer CN


@dataclass
class Pki:
    dir: Path
    ca: Cert
    rogue_ca: Cert
    certs: dict[str, Cert] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def issue(self, name: str, cn: str, dns=(), ips=(), *, ca: str = "lab", days: int = 30,
              not_before_days_ago: float = 0, expired: bool = False) -> Cert:
        """Issue a leaf ``<dir>/<name>.crt``/``.key`` and record it in :attr:`certs` (replacing one of that name).

        ``ca`` is ``"lab"`` or ``"rogue"``. Validity is ``days`` long and starts ``not_before_days_ago`` days ago
        (minus :data:`CLOCK_SKEW`); ``expired=True`` instead ends it one day ago (it started ``days`` before that).
        """
        if ca not in ("lab", "rogue"):
            raise PkiError(f"unknown CA {ca!r} (use 'lab' or 'rogue')")
        dns, ips = list(dns), list(ips)
        _check_leaf(name, cn, dns, ips)
        if days <= 0:
            raise PkiError(f"days must be positive, not {days}")
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
        if expired:
            end = now - _dt.timedelta(days=1)
            start = end - _dt.timedelta(days=days)
        else:
            start = now - _dt.timedelta(days=not_before_days_ago) - CLOCK_SKEW
            end = now + _dt.timedelta(days=days)
        issuer = self.ca if ca == "lab" else self.rogue_ca
        with self._lock:
            work = _ca_dir(self.dir, ca)
            _new_key_and_csr(work, self.dir / f"{name}.key", work / f"{name}.csr", cn)
            cert = _sign_leaf(self.dir, work, issuer, name, cn, dns, ips, start, end)
            self.certs[name] = cert
        return cert


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RESERVED = {"ca", "rogue-ca", "ca-bundle"}


def create_pki(dir: Path, hosts: dict[str, dict]) -> Pki:
    """Create both CAs and one leaf per entry of ``hosts`` (``{"name": {"cn": ..., "dns": [...], "ips": [...]}}``).

    Leaf files are ``<dir>/<name>.crt`` and ``<dir>/<name>.key``; ``cn`` defaults to the first DNS name.
    """
    dir = Path(dir).absolute()
    if set(str(dir)) & set("$#\"'\\\n"):
        raise PkiError(f"directory {dir} has a character an openssl config file cannot hold")
    leaves = []
    for name, spec in hosts.items():
        dns, ips = list(spec.get("dns", ())), list(spec.get("ips", ()))
        cn = spec.get("cn") or (dns[0] if dns else "")
        _check_leaf(name, cn, dns, ips)
        leaves.append((name, cn, dns, ips, int(spec.get("days", 30))))
    dir.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    start = now - CLOCK_SKEW
    lab, rogue = _prepare_ca(dir, "lab", "ca"), _prepare_ca(dir, "rogue", "rogue-ca")
    # RSA key generation dominates (0.1-0.4 s a key): all keys and requests at once, then sign.
    with ThreadPoolExecutor(max_workers=2 + len(leaves)) as pool:
        jobs = [pool.submit(_new_key_and_csr, lab, dir / "ca.key", lab / "ca.csr", LAB_CA_CN),
                pool.submit(_new_key_and_csr, rogue, dir / "rogue-ca.key", rogue / "ca.csr", ROGUE_CA_CN)]
        jobs += [pool.submit(_new_key_and_csr, lab, dir / f"{name}.key", lab / f"{name}.csr", cn)
                 for name, cn, *_ in leaves]
        for job in jobs:
            job.result()
        cas = [pool.submit(_sign_ca, dir, lab, "ca", LAB_CA_CN, start, now + _dt.timedelta(days=CA_DAYS)),
               pool.submit(_sign_ca, dir, rogue, "rogue-ca", ROGUE_CA_CN, start,
                           now + _dt.timedelta(days=CA_DAYS))]
        ca, rogue_ca = (job.result() for job in cas)
    _write_text(dir / "ca-bundle.crt", ca.cert.read_text())
    pki = Pki(dir=dir, ca=ca, rogue_ca=rogue_ca)
    for name, cn, dns, ips, days in leaves:  # one at a time: they share the CA's index file
        pki.certs[name] = _sign_leaf(dir, lab, ca, name, cn, dns, ips, start, now + _dt.timedelta(days=days))
    return pki


def cert_info(path) -> dict:
    """What the report shows about a certificate, read with ``openssl x509 -noout``.

    Keys: ``path``, ``subject`` (RFC 2253), ``subject_cn``, ``issuer`` (RFC 2253), ``issuer_cn``,
    ``san`` (e.g. ``["DNS:a.example", "IP:192.0.2.1"]``), ``san_dns``, ``san_ip``, ``not_before``, ``not_after``
    (ISO 8601 UTC, ``2025-01-31T12:00:00Z``), ``sha256`` (upper-case hex with colons, as openssl prints it).
    """
    try:
        Path(path).open("rb").close()
    except OSError as e:
        raise PkiError(f"cannot read certificate {path}: {e.strerror or e}") from None
    out = _openssl("x509", "-in", str(path), "-noout", "-nameopt", "RFC2253", "-subject", "-issuer",
                   "-startdate", "-enddate", "-fingerprint", "-sha256", "-ext", "subjectAltName")
    info: dict = {"path": str(path), "subject": "", "issuer": "", "san": [], "san_dns": [], "san_ip": []}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        if sep and key == "subject":
            info["subject"] = value.strip()
        elif sep and key == "issuer":
            info["issuer"] = value.strip()
        elif sep and key == "notbefore":
            info["not_before"] = _iso(value.strip())
        elif sep and key == "notafter":
            info["not_after"] = _iso(value.strip())
        elif sep and key.endswith("fingerprint"):
            info["sha256"] = value.strip().upper()
        elif "Subject Alternative Name" in line:
            for item in " ".join(x.strip() for x in lines[i + 1:]).split(","):
                item = item.strip()
                if item.startswith("DNS:"):
                    info["san_dns"].append(item[4:])
                    info["san"].append(item)
                elif item.startswith("IP Address:"):
                    ip = item[11:]
                    try:
                        ip = str(ipaddress.ip_address(ip))  # openssl prints IPv6 uncompressed, upper case
                    except ValueError:
                        pass
                    info["san_ip"].append(ip)
                    info["san"].append("IP:" + ip)
                elif item:
                    info["san"].append(item)
            break
    missing = [k for k in ("not_before", "not_after", "sha256") if k not in info]
    if missing or not info["subject"] and not info["issuer"]:
        raise PkiError(f"cannot understand 'openssl x509' output for {path} (missing {', '.join(missing)})")
    info["subject_cn"] = _cn(info["subject"])
    info["issuer_cn"] = _cn(info["issuer"])
    return info


# ---------------------------------------------------------------------------------------------------- internals

_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def _iso(openssl_date: str) -> str:
    """``Jan  2 03:04:05 2025 GMT`` -> ``2025-01-02T03:04:05Z`` (locale independent)."""
    m = re.fullmatch(r"(\w{3})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})\s+GMT", openssl_date)
    if not m or m.group(1) not in _MONTHS:
        raise PkiError(f"cannot parse openssl date {openssl_date!r}")
    mon, day, hh, mm, ss, year = m.groups()
    return f"{year}-{_MONTHS[mon]:02d}-{int(day):02d}T{hh}:{mm}:{ss}Z"


def _cn(rfc2253: str) -> str:
    # RFC 2253 puts the most specific RDN first; split on commas not escaped with a backslash.
    for rdn in re.split(r"(?<!\\)[,+]", rfc2253):
        k, sep, v = rdn.strip().partition("=")
        if sep and k.strip().upper() == "CN":
            return re.sub(r"\\(.)", r"\1", v.strip())
    return ""


def _openssl(*args: str) -> str:
    cmd = [OPENSSL, *args]
    try:
        res = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=_TIMEOUT,
                             stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise PkiError(f"'{OPENSSL}' is not installed (apt-get install openssl)") from None
    except subprocess.TimeoutExpired:
        raise PkiError(f"openssl {args[0]} did not finish within {_TIMEOUT} s") from None
    except subprocess.CalledProcessError as e:
        err = [ln.strip() for ln in (e.stderr or "").splitlines() if ln.strip()]
        raise PkiError(f"openssl {args[0]} failed (exit {e.returncode}): "
                       f"{err[-1] if err else 'no message'}") from None
    return res.stdout


def _write_text(path: Path, text: str, mode: int = 0o644) -> None:
    path.write_text(text)
    os.chmod(path, mode)


def _subj(cn: str) -> str:
    return "/CN=" + re.sub(r"([/+=\\])", r"\\\1", cn)


def _asn1_time(t: _dt.datetime) -> str:
    # UTCTime (YYMMDDHHMMSSZ) up to 2049, GeneralizedTime after, as RFC 5280 requires.
    return t.strftime("%y%m%d%H%M%SZ") if t.year < 2050 else t.strftime("%Y%m%d%H%M%SZ")


_CA_CONF = """\
[ ca ]
default_ca = lab_ca

[ lab_ca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = {cert}
private_key = {key}
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
rand_serial = yes
preserve = yes
default_days = 30

[ policy_any ]
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no
utf8 = yes
string_mask = utf8only

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

_LEAF_EXT = """\
[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
{san}
"""


def _ca_dir(root: Path, which: str) -> Path:
    return root / ".ca" / which


def _check_leaf(name: str, cn: str, dns: list[str], ips: list[str]) -> None:
    if not _SAFE_NAME.fullmatch(name) or name in _RESERVED:
        raise PkiError(f"bad certificate name {name!r} (letters, digits, '.', '_', '-'; not a CA file name)")
    if not cn:
        raise PkiError(f"certificate {name!r} needs a CN or at least one DNS name")
    for ip in ips:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise PkiError(f"certificate {name!r}: {ip!r} is not an IP address") from None
    for d in dns:
        if not d or any(c in d for c in ",\n\r \t"):
            raise PkiError(f"certificate {name!r}: bad DNS name {d!r}")


def _prepare_ca(root: Path, which: str, stem: str) -> Path:
    """The ``openssl ca`` working directory of one CA (config, empty index); returns it."""
    work = _ca_dir(root, which)
    (work / "newcerts").mkdir(parents=True, exist_ok=True)
    (work / "index.txt").write_text("")
    (work / "index.txt.attr").write_text("unique_subject = no\n")
    (work / "openssl.cnf").write_text(_CA_CONF.format(dir=work, cert=root / f"{stem}.crt", key=root / f"{stem}.key"))
    return work


#: the project's own tests only (tests/conftest.py): a directory of RSA keys that every lab of one test session
#: reuses by file name (ca.key, dut.key ...), because key generation is most of a lab's PKI time (1-3 s on a loaded
#: 2-core machine, ~50 labs a session). Certificates stay fresh per lab; a qualification run never sets it.
KEY_POOL_ENV = "SIPQUAL_KEY_POOL"


def _pooled_key(key: Path) -> Path | None:
    """The pool's copy of ``key`` (made now if missing), or None without a pool."""
    pool = os.environ.get(KEY_POOL_ENV)
    if not pool:
        return None
    pooled = Path(pool) / key.name
    if not pooled.exists():
        Path(pool).mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = pooled.with_name(f".{key.name}.{os.getpid()}.{threading.get_ident()}")
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{RSA_BITS}", "-out", str(tmp))
        os.chmod(tmp, 0o600)
        os.replace(tmp, pooled)   # atomic: a lab starting meanwhile reads a whole key or makes its own
    return pooled


def _new_key_and_csr(work: Path, key: Path, csr: Path, cn: str) -> None:
    """A new RSA key (file mode 0600 from the moment it exists) and a certificate request for ``CN=cn``."""
    try:
        key.unlink()
    except FileNotFoundError:
        pass
    os.close(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    pooled = _pooled_key(key)
    if pooled is not None:
        key.write_bytes(pooled.read_bytes())
        _openssl("req", "-config", str(work / "openssl.cnf"), "-new", "-key", str(key), "-subj", _subj(cn),
                 "-out", str(csr))
    else:
        _openssl("req", "-config", str(work / "openssl.cnf"), "-new", "-newkey", f"rsa:{RSA_BITS}", "-noenc",
                 "-keyout", str(key), "-subj", _subj(cn), "-out", str(csr))
    os.chmod(key, 0o600)  # whatever openssl did with the file
    if "PRIVATE KEY" not in key.read_text():
        raise PkiError(f"openssl req wrote no private key to {key}")


def _sign_ca(root: Path, work: Path, stem: str, cn: str, start: _dt.datetime, end: _dt.datetime) -> Cert:
    cert, key = root / f"{stem}.crt", root / f"{stem}.key"
    _openssl("ca", "-config", str(work / "openssl.cnf"), "-batch", "-notext", "-selfsign", "-keyfile", str(key),
             "-in", str(work / "ca.csr"), "-out", str(cert), "-extensions", "v3_ca",
             "-startdate", _asn1_time(start), "-enddate", _asn1_time(end))
    os.chmod(cert, 0o644)
    return Cert(name=stem, cert=cert, key=key, subject_cn=cn, issuer=cn)


def _sign_leaf(root: Path, work: Path, ca: Cert, name: str, cn: str, dns: list[str], ips: list[str],
               start: _dt.datetime, end: _dt.datetime) -> Cert:
    san = ", ".join([f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips])
    ext = work / f"{name}.ext"
    ext.write_text(_LEAF_EXT.format(san=f"subjectAltName = {san}" if san else ""))
    cert = root / f"{name}.crt"
    _openssl("ca", "-config", str(work / "openssl.cnf"), "-batch", "-notext", "-in", str(work / f"{name}.csr"),
             "-out", str(cert), "-extfile", str(ext), "-extensions", "v3_leaf",
             "-startdate", _asn1_time(start), "-enddate", _asn1_time(end))
    os.chmod(cert, 0o644)
    return Cert(name=name, cert=cert, key=root / f"{name}.key", subject_cn=cn, san_dns=list(dns),
                san_ip=list(ips), issuer=ca.subject_cn)
