"""The ``sagellm-protocol`` command line (also ``python -m sagellm_protocol``).

Subcommands:

* ``schema --out DIR`` writes the JSON Schema bundle; ``schema --check DIR`` reports drift
  between a bundle and the models (exit 1 on drift).
* ``compat OLD_DIR NEW_DIR [--json] [--strict]`` compares two bundles; exit 1 when a change
  breaks old sender -> new receiver (with ``--strict``, also on new sender -> old receiver
  warnings).
* ``version`` prints the package and protocol versions.

Usage errors and unreadable input end with a one-line message and exit status 2. Not imported
by ``import sagellm_protocol``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ._version import PROTOCOL_VERSION, __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    """A problem with the command line or its input files: one line, exit status 2."""


def _cmd_schema(args: argparse.Namespace) -> int:
    from .schema import check_bundle, write_bundle

    if args.out is not None:
        written = write_bundle(args.out)
        print(f"wrote {len(written)} files to {args.out}")
        return EXIT_OK
    if not Path(args.check).is_dir():
        raise _UsageError(f"{args.check}: no such directory")
    problems = check_bundle(args.check)
    for problem in problems:
        print(f"{args.check}/{problem}")
    if problems:
        print(f"schema bundle in {args.check} is out of date: {len(problems)} problem(s)")
        return EXIT_FAILED
    print(f"schema bundle in {args.check} matches the models")
    return EXIT_OK


def _cmd_compat(args: argparse.Namespace) -> int:
    from .compat import compare_bundles

    for directory in (args.old, args.new):
        if not Path(directory).is_dir():
            raise _UsageError(f"{directory}: no such directory")
    try:
        report = compare_bundles(args.old, args.new)
    except (OSError, ValueError, KeyError) as exc:
        raise _UsageError(f"cannot read the bundles: {exc}") from None
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for line in report.lines():
            print(line)
    return report.exit_status(strict=args.strict)


def _cmd_version(args: argparse.Namespace) -> int:
    del args
    print(f"sagellm-protocol {__version__} (protocol {PROTOCOL_VERSION})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="sagellm-protocol",
        description="Tools for the sageLLM Protocol v0.1 contract.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    schema = commands.add_parser(
        "schema",
        help="write or check the JSON Schema bundle",
        description="Write or check the JSON Schema bundle.",
    )
    target = schema.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", metavar="DIR", help="write the bundle into DIR")
    target.add_argument(
        "--check", metavar="DIR", help="exit 1 if the bundle in DIR differs from the models"
    )
    schema.set_defaults(handler=_cmd_schema)

    compat = commands.add_parser(
        "compat",
        help="compare two schema bundles for breaking changes",
        description=(
            "Compare two schema bundles. Exit 1 when a message valid under OLD is invalid under "
            "NEW (old sender -> new receiver); new sender -> old receiver problems are warnings."
        ),
    )
    compat.add_argument("old", metavar="OLD_DIR", help="the older bundle")
    compat.add_argument("new", metavar="NEW_DIR", help="the newer bundle")
    compat.add_argument("--json", action="store_true", help="print the report as JSON")
    compat.add_argument("--strict", action="store_true", help="let warnings fail too")
    compat.set_defaults(handler=_cmd_compat)

    version = commands.add_parser(
        "version", help="print the package and protocol versions", description="Print the versions."
    )
    version.set_defaults(handler=_cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except _UsageError as exc:
        print(f"sagellm-protocol: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return status
