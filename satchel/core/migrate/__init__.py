"""Copying a whole instance (collections, records, settings, files) from one database to another.

`satchel migrate-data` drives it: from SQLite to PostgreSQL, between two SQLite files, or from a
PocketBase `pb_data` directory. Everything goes through the Database port and the one SQL compiler,
so any pair of backends the adapters support works; see docs/migrate.md.
"""
