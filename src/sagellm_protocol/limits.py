"""The limits the contract enforces on input, in one place (see SECURITY.md).

Each is checked before (or while) doing the work it bounds, and breaking one is a
``ProtocolError`` (``invalid_argument``) that names the limit. This module imports nothing,
so every other module can take its limits from here.
"""

__all__ = [
    "MAX_DETAILED_SIZE",
    "MAX_IDENTIFIER_LENGTH",
    "MAX_MESSAGE_SIZE",
    "MAX_METADATA_DEPTH",
    "MAX_METADATA_VALUES",
    "MAX_PARAM_LENGTH",
    "MAX_REPORTED_ERRORS",
]

MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""Largest JSON text ``decode`` accepts by default, in bytes (16 MiB); pass ``max_size`` to
raise it. Also the largest frame ``SSEDecoder`` buffers."""

MAX_IDENTIFIER_LENGTH = 256
"""Longest identifier accepted, in characters (Unicode code points)."""

MAX_METADATA_DEPTH = 32
"""Deepest nesting accepted in ``metadata``; the metadata object itself is depth 1."""

MAX_METADATA_VALUES = 100_000
"""Most values ``metadata`` may hold, counted at every level (a container and each value in
it count one each). Metadata is context passed through, not bulk data; the count bounds the
work and memory its check takes."""

MAX_PARAM_LENGTH = 1024
"""Longest ``Error.param`` written; a longer path (a huge key) is cut and ends with "…"."""

MAX_REPORTED_ERRORS = 20
"""Most problems one ``ProtocolError`` lists (and one HTTP error reply, and the ``ignored``
list of ``decode``); the rest are counted, not listed ("and N more problems")."""

MAX_DETAILED_SIZE = 64 * 1024
"""Largest JSON text, in bytes, for which ``decode`` checks every item of a list that has a
wrong one (each counts toward ``ProtocolError.more``); in a longer text a list stops at its
first wrong item, so the work and the error count stay bounded whatever the text holds. The
verdict is the same either way."""
