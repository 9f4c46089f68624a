"""`python -m ddit_eval`: the command line (ddit_eval.cli)."""

import sys

from .cli import main

sys.exit(main())
