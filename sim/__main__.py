"""``python -m sim`` works like the ``sim`` command."""

from sim.cli import main

main()
