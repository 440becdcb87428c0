"""The `digitrec` command line: argparse (parser.py), and each command a few lines calling the library
(commands.py, recognize.py). Every import is lazy: `digitrec --help` imports neither torch nor numpy.

A `DigitrecError` is printed as one line and exits with status 2 (1 for inputs that failed while
others were recognised); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import DigitrecError
from .parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A file name that is not valid UTF-8 prints escaped rather than crashing a strict-UTF-8 stream.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except DigitrecError as err:
        print(f"digitrec {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"digitrec {args.command}: interrupted", file=sys.stderr)
        return 130
