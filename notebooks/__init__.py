"""Not a Python package to import: this file only gives notebooks/conftest.py its own module
name (notebooks.conftest) under pytest, so it does not shadow tests/conftest.py, whose
helpers the tests import with `from conftest import ...`."""
