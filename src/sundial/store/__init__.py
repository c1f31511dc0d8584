"""Persistence: SQLAlchemy models, repositories and the unit of work. All SQL lives here."""
