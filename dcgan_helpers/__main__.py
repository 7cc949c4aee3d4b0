"""`python -m dcgan_helpers ...` runs the command line (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
