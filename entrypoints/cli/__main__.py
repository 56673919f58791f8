"""`python -m entrypoints.cli`: the same as the `checkout-engine` script."""

from entrypoints.cli import main

main()
