"""Sentry-compatible ingestion: the wire protocol (auth, bodies, envelopes, events),
grouping, and the views. The write itself is tracking.services.occurrences."""
