"""``python -m resilinet_cli`` runs the CLI."""

from resilinet_cli.cli import main

main()
