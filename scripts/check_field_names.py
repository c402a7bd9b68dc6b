#!/usr/bin/env python3
"""Check that every field of every contract message is snake_case.

snake_case here is ``^[a-z][a-z0-9]*(_[a-z0-9]+)*$``.

Exit status 0 when all are, 1 otherwise, listing each offending ``Type.field``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

from pydantic import BaseModel

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def bad_field_names(models: Iterable[type[BaseModel]]) -> list[str]:
    """``Type.field`` for every field name that is not snake_case."""
    return [
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if not SNAKE_CASE.fullmatch(name)
    ]


def main() -> int:
    import sagellm_protocol  # noqa: F401  (defines and registers every message type)
    from sagellm_protocol._base import registered_models

    bad = bad_field_names(registered_models().values())
    for name in bad:
        print(f"check_field_names: {name} is not snake_case", file=sys.stderr)
    if not bad:
        print(f"check_field_names: ok ({len(registered_models())} message types)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
