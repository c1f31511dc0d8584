"""The `sundial` command's entry point. Its commands are Click commands (sundial.cli.root).

Only the standard library is imported before `main` catches SIGTERM: Sundial's own modules
(SQLAlchemy, Alembic, grpcio, cryptography) take seconds to import on a busy machine, and a
SIGTERM that arrived meanwhile killed `sundial serve` instead of stopping it."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns its exit code (README, "Exit codes")."""
    stop = _catch_stop_signals()
    from sundial.cli.root import run  # noqa: PLC0415

    return run(list(sys.argv[1:] if argv is None else argv), stop)


def _catch_stop_signals() -> threading.Event:
    """SIGTERM and SIGINT set the returned event (which `sundial serve` waits on)."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for number in _STOP_SIGNALS:
        signal.signal(number, request_stop)
    return stop


def restore_stop_signals(stop: threading.Event) -> None:
    """Other commands stop the default way, also for a signal caught while they started."""
    for number in _STOP_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    if stop.is_set():
        signal.raise_signal(signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
