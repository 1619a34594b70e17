"""Realtime: PocketBase's subscription protocol over Server-Sent Events (broker, topics, visibility)."""
