"""`python -m poetgen …`: the command line (poetgen.app.cli)."""

import sys

from .app.cli import main

sys.exit(main())
