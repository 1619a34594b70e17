"""Satchel: a PocketBase-compatible backend in Python."""

__version__ = "0.1.0"
