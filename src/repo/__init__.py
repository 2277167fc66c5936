"""repo: an open-access digital repository service."""

__version__ = "0.1.0"
