"""``python -m condpdiff generate ...``: the same as the ``condpdiff`` console script."""

import sys

from condpdiff.cli import main

if __name__ == "__main__":
    sys.exit(main())
