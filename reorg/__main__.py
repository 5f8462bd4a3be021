"""``python -m reorg`` runs the CLI."""

from reorg.cli import main

main()
