"""Tests of bot.store, run on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""
