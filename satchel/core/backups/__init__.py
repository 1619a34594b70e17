"""Backups of the data directory (database and local files) and their restore, PocketBase-style."""
