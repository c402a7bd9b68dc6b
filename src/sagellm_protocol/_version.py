"""Package and contract versions."""

__all__ = ["PROTOCOL_VERSION", "__version__"]

__version__ = "0.1.1"
"""Version of the ``isagellm-protocol`` distribution."""

PROTOCOL_VERSION = "0.1"
"""Version of the wire contract this package implements."""
