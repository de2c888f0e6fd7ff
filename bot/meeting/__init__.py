"""The Tencent Meeting edge: request signing, the HTTP client, its models and errors, webhooks."""
