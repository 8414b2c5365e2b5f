"""Every managed DUT profile's Kamailio configuration parses (``kamailio -c``) with that profile's switches: variants
are #!ifdef blocks of one file, and two variants' blocks can clash (a module loaded twice, a modparam before its
module) only when a profile combines them, which a lab would show as "kamailio exited before listening"."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from sipqual.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
MANAGED = sorted(p.name for p in (ROOT / "lab" / "duts").glob("*.yaml")
                 if load_profile(p).data.get("kind") == "managed")


def _argv(profile: Path, tmp: Path) -> list[str]:
    data = load_profile(profile).data["managed"]
    cmd = next(p["command"] for p in data["processes"] if p["name"] == "kamailio")
    def value(name: str) -> str:
        fixed = {"lab_dir": str(ROOT / "lab"), "run_dir": str(tmp), "kamailio_ipv6": "", "defines": ""}
        return fixed.get(name) or ("tcp" if "transport" in name else "5066" if name.endswith("port") else
                                   "sip:192.0.2.10:5068" if name.endswith("uri") else "192.0.2.1")
    filled = re.sub(r"\{(\w+)\}", lambda m: value(m[1]), cmd)
    argv = shlex.split(filled)
    return [argv[0], "-c", *argv[1:], *[a for d in data.get("defines", []) for a in ("-A", d)]]


@pytest.mark.skipif(not shutil.which("kamailio"), reason="kamailio not installed (scripts/bootstrap.sh)")
@pytest.mark.parametrize("name", MANAGED)
def test_profile_config_parses(name, tmp_path):
    cp = subprocess.run(_argv(ROOT / "lab" / "duts" / name, tmp_path), capture_output=True, text=True, timeout=60)
    errors = [ln for ln in cp.stderr.splitlines() if "CRITICAL" in ln or "ERROR" in ln]
    assert cp.returncode == 0 and not errors, "\n".join(errors[-5:])


def test_a_clash_is_caught(tmp_path):
    """The check fails for the right reason: a module loaded twice (what the pool-pinging variant once did)."""
    cfg = tmp_path / "k.cfg"
    cfg.write_text((ROOT / "lab/kamailio/kamailio.cfg").read_text().replace(
        'loadmodule "ctl.so"\n', 'loadmodule "ctl.so"\nloadmodule "ctl.so"\n', 1))
    argv = [a if not a.endswith("kamailio/kamailio.cfg") else str(cfg)
            for a in _argv(ROOT / "lab/duts/reference-sbc.yaml", tmp_path)]
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert cp.returncode != 0 and "failed to load module" in cp.stderr
