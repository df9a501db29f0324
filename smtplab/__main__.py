"""``python -m smtplab`` runs the command-line interface."""

from smtplab.cli import main

raise SystemExit(main())
