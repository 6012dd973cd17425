"""``python -m flows.cli``: the ``zhclean`` command."""

import sys

from flows.cli import main

sys.exit(main())
