"""`python -m symnet`: the command line."""

from .cli import run

run()
