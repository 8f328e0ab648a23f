"""`python -m lspilot` runs the command-line interface."""

from lspilot.cli import main

raise SystemExit(main())
