"""The process entry point: ``python -m reorg`` and the ``reorg`` console script.

It only makes Ctrl-C clean from the first moment: importing ``reorg.cli`` (typer, click) takes a
while, and a Ctrl-C then would print a ``KeyboardInterrupt`` traceback. Everything else, and
every other line printed, is ``reorg.cli``'s.
"""

from __future__ import annotations

import signal
import sys


def main() -> None:
    try:
        from reorg.cli import main as run

        run()
    except KeyboardInterrupt:
        # reorg.cli.aborted() once it is imported; the same line and code before.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("error: aborted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
