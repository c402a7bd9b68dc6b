#!/usr/bin/env python3
"""Check that every field of every contract message is snake_case.

snake_case here is ``^[a-z][a-z0-9]*(_[a-z0-9]+)*$``.

Exit status 0 when all are, 1 otherwise, listing each offending ``Type.field``.
"""

from __future__ import annotations

import sys

from pydantic import BaseModel

import sagellm_protocol.registry  # noqa: F401  (defines every message type)
from sagellm_protocol._base import ProtocolModel
from sagellm_protocol._naming import bad_field_names


def contract_models() -> list[type[BaseModel]]:
    """Every class derived from the contract's base model, nested types such as
    ``Distribution`` included."""
    found: list[type[BaseModel]] = []
    pending = [ProtocolModel]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in found:
                found.append(subclass)
                pending.append(subclass)
    return found


def main() -> int:
    models = contract_models()
    bad = bad_field_names(models)
    for name in bad:
        print(f"check_field_names: {name} is not snake_case", file=sys.stderr)
    if not bad:
        print(f"check_field_names: ok ({len(models)} message types)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
