"""``python -m sipqual.mediaagent WORKDIR``: run the media agent described by WORKDIR/config.json (see
:mod:`sipqual.mediaagent.agent` for the control file, signals and report)."""

import sys
from pathlib import Path

from .agent import main

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m sipqual.mediaagent WORKDIR")
    sys.exit(main(Path(sys.argv[1])))
