"""Sinks: where classified replies, hooks and dead letters are stored for reports (ClickHouse)."""
