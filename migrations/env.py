"""Alembic environment: runs Sundial's migrations against the URL `store.migrate` passes in."""

from alembic import context
from sqlalchemy import text

from sundial.store.database import Database
from sundial.store.models import Base

# Serializes concurrent `sundial serve` replicas migrating one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x53554E4449414C  # "SUNDIAL"


def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no database URL given to the migrations")
    database = Database(url)
    try:
        with database.writer.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=database.is_sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                if database.dialect == "postgresql":
                    connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
                context.run_migrations()
    finally:
        database.dispose()


run_migrations()
