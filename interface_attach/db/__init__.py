"""Persistence: tables, engine and migrations; no HTTP and no policy here."""
