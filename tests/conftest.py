"""Test harness: every database test runs on SQLite and on a real PostgreSQL cluster that
the harness starts (and, in CI, must start: a missing PostgreSQL fails the run)."""

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sundial.store import migrate
from tests.support import postgres, screenshots

IN_CI = os.environ.get("CI", "") not in ("", "0", "false")
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[postgres.PostgresCluster]:
    if not postgres.available():
        message = f"PostgreSQL binaries not found in {postgres.PG_BIN}"
        if IN_CI:
            pytest.fail(message + " (CI must run the PostgreSQL tests)")
        pytest.skip(message)
    cluster = postgres.PostgresCluster()
    try:
        cluster.start()
        migrate.upgrade(cluster.create_database("sundial_template"))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "sundial.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    cluster: postgres.PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"test_{os.getpid()}_{next(_counter)}"
    return cluster.create_database(name, template="sundial_template")


def pytest_sessionstart(session: pytest.Session) -> None:
    # Once per run (in the controller, under pytest-xdist): the screenshots are this run's.
    if not hasattr(session.config, "workerinput"):
        screenshots.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Here, not in tests/browser: under pytest-xdist only this conftest reaches the summary.
    shots = screenshots.summary_line()
    if shots:
        terminalreporter.write_line(shots)
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in counts:
        for report in terminalreporter.stats.get(outcome, []):
            if "postgres" in getattr(report, "keywords", {}) and report.when in ("call", "setup"):
                if outcome == "passed" and report.when != "call":
                    continue
                counts[outcome] += 1
    terminalreporter.write_line(
        f"PostgreSQL tests: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped"
    )
    if IN_CI and (counts["skipped"] or counts["passed"] == 0):
        terminalreporter.write_line("CI requires the PostgreSQL tests to run: failing the run")
        terminalreporter._session.exitstatus = pytest.ExitCode.TESTS_FAILED  # type: ignore[attr-defined]


def _expected_seconds(item: pytest.Item) -> float:
    """A slow test's rough time (`@pytest.mark.slow(seconds=...)`), 0 for the others."""
    marker = item.get_closest_marker("slow")
    if marker is None:
        return 0.0
    return float(marker.kwargs.get("seconds", 1))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (crash tests, subprocess servers) first, the longest of them first
    (longest processing time first): under `-n 2 --dist worksteal` (the Makefile) one worker
    starts on them while the other takes the fast tests and then steals the shortest slow
    ones from the end of the first one's queue, so that the run does not end on one long
    test with the other worker idle. The sort is stable: the rest keep their order, so that a
    module's tests stay together and its module-scoped fixtures are set up once per worker."""
    items.sort(key=lambda item: -_expected_seconds(item))
