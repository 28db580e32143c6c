"""``python -m aifinops`` runs the command line."""

from aifinops.cli import main

main()
