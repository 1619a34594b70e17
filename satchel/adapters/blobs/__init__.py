"""BlobStore adapters: a local directory and S3-compatible object storage."""
