"""Persistence: SQLModel tables, async sessions and Alembic migrations.

The database is the source of truth; SQLite by default, PostgreSQL in production.
"""
