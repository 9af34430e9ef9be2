"""`python -m app.cli`: the `plaudit` command."""

import sys

from app.cli import main

sys.exit(main())
