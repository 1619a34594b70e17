"""Broker adapters: in-process (tests), local unix-socket mesh (workers), Redis and NATS (nodes)."""
