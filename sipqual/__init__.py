"""sipqual: qualification suite for direct-SIP peers of a Lync Server 2013 / SfB Mediation Server."""

__version__ = "0.1.0"

from .case import case  # noqa: E402  (the one thing a test-case author imports)

__all__ = ["case", "__version__"]
