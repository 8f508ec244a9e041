"""The version of sim: rows of a branch depend on it, so manifests and workers record it.

This is the one place the version is written: ``pyproject.toml`` reads it from here, and
``CHANGELOG.md`` must begin with it (``tests/test_docs.py``).
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
