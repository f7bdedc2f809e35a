"""The ``condpdiff`` console script: ``condpdiff generate ...`` (see
``condpdiff.generate.command``).

Bad input ends with one line naming the file or option at fault (exit 2), not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from condpdiff.util import cli as cliutil


def parser() -> argparse.ArgumentParser:
    from condpdiff.generate import command

    p = argparse.ArgumentParser(
        prog="condpdiff", description="Cond P-Diff: LoRA weights from a condition."
    )
    sub = p.add_subparsers(dest="command", required=True)
    gen = sub.add_parser(
        "generate",
        help="a generator folder + your examples or images -> an adapter folder",
        description=command.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_arguments(gen)
    gen.set_defaults(func=command.main)
    return p


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    cliutil.setup_logging()
    try:
        return a.func(a)
    except (ValueError, KeyError, FileNotFoundError) as e:
        logging.getLogger("condpdiff").debug("failed", exc_info=True)
        print(f"condpdiff {a.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
