"""Request and app logs in the auxiliary database (`_logs`), PocketBase's logs feature."""
