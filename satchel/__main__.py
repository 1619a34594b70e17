"""`python -m satchel` runs the CLI."""

from satchel.cli.main import main

main()
