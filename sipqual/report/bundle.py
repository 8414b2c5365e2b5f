"""Evidence bundle for self-certification: one ``.tar.gz`` of a run (report, results.json, JUnit, allure results,
captures, key logs, logs) with ``MANIFEST.sha256`` (``sha256sum -c`` format) listing every other file, and its
offline verification.

Secrets stay out unless asked for (``include_secrets``): private keys (``*.key``, any file holding a PEM private
key), everything under a ``pki/`` directory except certificates (``*.crt``), and unmasked secret-looking values in
results.json's ``profile``. The TLS key logs are included: they hold session secrets of the lab's own test
connections, which a reviewer needs to decrypt the captures. The manifest detects changed, missing and added files;
it is not a signature (whoever can rewrite the archive can rewrite the manifest).

Verification extracts into a temporary directory (removed afterwards, also on error) with tarfile's ``data``
filter (no absolute paths, no ``..``, no links leaving the tree, no devices), checks every digest and that no file
is missing or extra, then judges every case again from its capture (:func:`sipqual.replay.reverify_run`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import SipqualError, UsageError
from .rundata import mask

MANIFEST = "MANIFEST.sha256"
PEM_PRIVATE = b"PRIVATE KEY-----"


def is_secret(rel: PurePosixPath, path: Path) -> bool:
    """True for files that must not leave the lab without ``--include-secrets``."""
    if rel.suffix == ".key":
        return True
    if "pki" in rel.parts[:-1] and rel.suffix != ".crt":
        return True
    try:
        with path.open("rb") as f:
            return PEM_PRIVATE in f.read(1 << 20)
    except OSError:
        return True


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bundle_files(run_dir: Path, include_secrets: bool = False) -> tuple[list[PurePosixPath], int]:
    """Regular files of the run to bundle (sorted, relative) and how many secret files were left out. Symlinks are
    skipped: a bundle holds files, not pointers out of it."""
    files, withheld = [], 0
    for root, dirs, names in os.walk(run_dir):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            rel = PurePosixPath(path.relative_to(run_dir).as_posix())
            if path.is_symlink() or not path.is_file() or rel.name == MANIFEST or name.startswith(".report."):
                continue
            if not include_secrets and is_secret(rel, path):
                withheld += 1
                continue
            files.append(rel)
    return files, withheld


def masked_results(path: Path) -> bytes:
    """results.json as bundled: unchanged when its ``profile`` is already masked (sipqual writes it so), else with
    the profile masked (a hand-edited or foreign results.json must not carry a password out)."""
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(doc, dict) or mask(doc.get("profile")) == doc.get("profile"):
        return raw
    doc["profile"] = mask(doc["profile"])
    return json.dumps(doc, indent=2).encode()


def write_bundle(run_dir, out: Path | None = None, include_secrets: bool = False) -> tuple[Path, int, int]:
    """Write the archive; returns (path, files bundled, secret files withheld). The archive's top directory is the
    run directory's name."""
    run_dir = Path(run_dir)
    if not (run_dir / "results.json").is_file():
        raise UsageError(f"{run_dir}: no results.json (not a sipqual run directory)")
    top = run_dir.resolve().name
    out = Path(out) if out else run_dir.resolve().parent / f"{top}.sipqual-bundle.tar.gz"
    files, withheld = bundle_files(run_dir, include_secrets)
    content = {rel: (run_dir / rel).read_bytes() for rel in files}
    if not include_secrets:
        content[PurePosixPath("results.json")] = masked_results(run_dir / "results.json")
    manifest = "".join(f"{hashlib.sha256(data).hexdigest()}  {rel}\n" for rel, data in content.items()).encode()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for rel, data in content.items():
                info = tar.gettarinfo(str(run_dir / rel), arcname=f"{top}/{rel}")
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo(f"{top}/{MANIFEST}")
            info.size, info.mode = len(manifest), 0o644
            tar.addfile(info, io.BytesIO(manifest))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out.resolve(), len(files), withheld


@dataclass
class DigestCheck:
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.missing or self.extra)


def check_digests(run_dir: Path) -> DigestCheck:
    manifest = run_dir / MANIFEST
    listed: dict[str, str] = {}
    for n, line in enumerate(manifest.read_text().splitlines(), 1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64:
            raise UsageError(f"{MANIFEST}:{n}: not '<sha256>  <path>'")
        listed[rel] = digest
    present = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file() or p.is_symlink()}
    present.discard(MANIFEST)
    result = DigestCheck(missing=sorted(set(listed) - present), extra=sorted(present - set(listed)))
    for rel in sorted(set(listed) & present):
        result.checked += 1
        path = run_dir / rel
        if path.is_symlink() or sha256(path) != listed[rel]:
            result.mismatched.append(rel)
    return result


def extract(archive: Path, into: Path) -> Path:
    """Extract with the ``data`` filter and return the bundle's run directory (the one top-level directory)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tops = {PurePosixPath(m.name).parts[0] for m in tar.getmembers() if PurePosixPath(m.name).parts}
            if len(tops) != 1:
                raise UsageError(f"{archive}: not a sipqual bundle (expected one top directory, found {len(tops)})")
            tar.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, OSError) as e:
        raise UsageError(f"{archive}: cannot read the archive: {e}") from None
    run_dir = into / tops.pop()
    if not (run_dir / MANIFEST).is_file():
        raise UsageError(f"{archive}: not a sipqual bundle (no {MANIFEST})")
    return run_dir


def verify_bundle(archive, out=print) -> int:
    """Check digests and re-judge every case; print the outcome through ``out``. Exit status: 0 when every digest
    matches and no recomputed verdict differs from the recorded one, else 1."""
    archive = Path(archive)
    if not archive.is_file():
        raise UsageError(f"{archive}: no such bundle")
    from ..replay import reverify_run

    with tempfile.TemporaryDirectory(prefix="sipqual-verify-") as tmp:
        run_dir = extract(archive, Path(tmp))
        digests = check_digests(run_dir)
        out(f"digests: {digests.checked} checked, {len(digests.mismatched)} mismatched, "
            f"{len(digests.missing)} missing, {len(digests.extra)} extra")
        for kind, names in (("MISMATCH", digests.mismatched), ("MISSING", digests.missing),
                            ("EXTRA", digests.extra)):
            for name in names:
                out(f"  {kind} {name}")
        try:
            rows = reverify_run(run_dir)
        except SipqualError as e:
            out(f"verdicts: re-verification failed: {e}")
            out("bundle NOT VERIFIED")
            return 1
        differ = [r for r in rows if not r.agrees]
        out(f"verdicts: {len(rows)} case(s) re-judged offline from their captures")
        for r in rows:
            recomputed = r.recomputed if r.recomputed is not None else "(not re-verifiable)"
            flag = "DIFFERS" if not r.agrees else "same"
            note = f"  {r.note}" if r.note else ""
            out(f"  {r.id} [{(r.transport or '-').upper()}] recorded {r.recorded}, recomputed {recomputed}: "
                f"{flag}{note}")
        verdict_ok = not differ
        out(f"bundle {'VERIFIED' if digests.ok and verdict_ok else 'NOT VERIFIED'}: "
            f"{'digests match' if digests.ok else 'digests do not match'}; "
            f"{'no verdict differs' if verdict_ok else f'{len(differ)} verdict(s) differ'}")
        return 0 if digests.ok and verdict_ok else 1
