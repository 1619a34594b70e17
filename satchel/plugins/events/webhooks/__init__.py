"""Webhooks: outbox sinks configured at run time through `/api/webhooks` (HMAC-signed HTTP POSTs)."""
