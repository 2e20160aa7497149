"""Use cases, shared by the CLI and the Slack handlers: no I/O besides the database."""
