"""The limits the contract enforces on input, in one place (see SECURITY.md).

Each is checked before the work it bounds, and breaking it is a ``ProtocolError``
(``invalid_argument``) that names the limit.
"""

from ._fields import MAX_IDENTIFIER_LENGTH, MAX_METADATA_DEPTH
from .errors import MAX_PARAM_LENGTH

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "MAX_MESSAGE_SIZE",
    "MAX_METADATA_DEPTH",
    "MAX_PARAM_LENGTH",
]

MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""Largest JSON text ``decode`` accepts by default, in bytes (16 MiB); pass ``max_size`` to
raise it. Also the largest frame ``SSEDecoder`` buffers."""
