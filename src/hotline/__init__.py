"""Hotline: a direct, end-to-end encrypted, post-quantum line between fixed stations."""

__version__ = "0.1.0"
