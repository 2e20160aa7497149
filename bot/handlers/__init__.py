"""Slack handlers, one module per surface (filled in by the Slack issue)."""
