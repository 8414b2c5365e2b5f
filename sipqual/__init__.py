"""sipqual: qualification suite for direct-SIP peers of a Lync Server 2013 / SfB Mediation Server."""

__version__ = "0.1.0"
