"""sipqual: qualification suite for direct-SIP peers of a Lync Server 2013 / SfB Mediation Server."""

__version__ = "0.1.0"

import os as _os

# The lab's helper processes (TLS edge, Mediation front: python -m sipqual.<helper>, one per TLS case) skip the
# case API, which pulls in pytest and jsonschema (a third of a second per start): sipqual.procs.LEAN_ENV.
if _os.environ.get("SIPQUAL_LEAN") != "1":
    from .case import case  # noqa: E402  (the one thing a test-case author imports)

__all__ = ["case", "__version__"]
