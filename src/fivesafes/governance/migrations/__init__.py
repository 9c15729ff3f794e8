"""Alembic migrations of the control-plane schema, run by :func:`..database.open_engine`."""
