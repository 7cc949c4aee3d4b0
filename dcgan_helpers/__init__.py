"""Helpers for the DCGAN tutorial notebooks: data, models, losses, training, pictures, evaluation.

Notebooks teach the ideas and call these for the plumbing; the same code trains from
the command line: `python -m dcgan_helpers --help`.
"""

__version__ = "0.1.0"
