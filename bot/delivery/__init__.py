"""Delivering outbox rows: the channel interface, Slack and e-mail, and the worker."""
