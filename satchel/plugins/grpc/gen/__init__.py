"""Modules generated from proto/satchel/v1/records.proto by `python -m satchel.plugins.grpc.codegen`: do not edit."""
