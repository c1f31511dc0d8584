"""Schema migrations: Alembic is the only way tables are created, in tests too."""

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from sundial.store.database import Database


def migrations_dir() -> Path:
    """The Alembic scripts: packaged beside the code in a wheel, at the repo root otherwise."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "_migrations", here.parents[3] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("Sundial's migrations directory was not found")


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # Alembic's config is an INI parser: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Brings the database at `url` to the newest schema (safe to run from many processes)."""
    with _sqlite_file_lock(url):
        command.upgrade(_config(url), "head")


def is_up_to_date(database: Database) -> bool:
    """Whether every migration has been applied."""
    head = ScriptDirectory.from_config(_config(database.url)).get_current_head()
    with database.reader.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current == head


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    """SQLite has no advisory locks; processes migrating one file queue on a lock file."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        yield
        return
    lock_path = Path(parsed.database).with_name(Path(parsed.database).name + ".migrate-lock")
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
