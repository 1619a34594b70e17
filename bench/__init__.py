"""Side-by-side load benchmark of Satchel and the real PocketBase (`python -m bench`)."""
