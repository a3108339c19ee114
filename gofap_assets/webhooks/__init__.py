"""Signed GitHub and Linear webhooks: a receiver that commits each delivery before it answers,
and the processing (sensor and `gofap-import webhooks process`) that turns deliveries into
targeted syncs and direct deletions. Polling stays the source of truth; webhooks only make the
warehouse fresher.
"""
