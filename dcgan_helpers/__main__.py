"""`python -m dcgan_helpers ...` runs the command line (see cli.py)."""

import logging
import os
import sys

from .cli import main

code = main()
# Everything the command writes is saved, closed and renamed into place by now. Tearing
# TensorFlow down (its thread pools, graphs and C++ statics) would keep the user waiting
# about a second more for nothing, so flush what is buffered and leave at once.
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(0 if code is None else int(code))
