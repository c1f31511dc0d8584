"""Where the browser tests keep their screenshots (a CI artifact): $SUNDIAL_SCREENSHOTS,
by default build/screenshots/ of the checkout."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SUNDIAL_SCREENSHOTS", ROOT / "build" / "screenshots"))


def summary_line() -> str | None:
    """What the run's summary says of them, when there are any."""
    shots = sorted(SCREENSHOTS.glob("*.png")) if SCREENSHOTS.is_dir() else []
    return f"console screenshots ({len(shots)}): {SCREENSHOTS}" if shots else None


def clear() -> None:
    for shot in SCREENSHOTS.glob("*.png") if SCREENSHOTS.is_dir() else []:
        shot.unlink()
