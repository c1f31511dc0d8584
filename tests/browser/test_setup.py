"""Without its browser the console's tests cannot run: on a developer's machine they skip
with what to install, and in CI they fail, so a CI that lost its browser is never green."""

from pathlib import Path

import pytest

from tests.browser import conftest


def test_a_missing_browser_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(conftest, "IN_CI", True)

    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        conftest._require(tmp_path / "chromium", "chromium")


def test_a_missing_browser_skips_elsewhere_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(conftest, "IN_CI", False)

    with pytest.raises(pytest.skip.Exception, match="make browser"):
        conftest._require(tmp_path / "chromium", "chromium")


def test_a_present_browser_is_required_silently(tmp_path: Path):
    (tmp_path / "chromium").touch()

    conftest._require(tmp_path / "chromium", "chromium")
