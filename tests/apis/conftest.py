"""Fixtures of this test folder: the S3 server (moto) for the blob store tests."""

from s3_service import s3_config, s3_endpoint

__all__ = ["s3_config", "s3_endpoint"]
