"""Telling people outside OpsConductor that something waits for them (approval webhooks)."""
