"""How `sundial worker` runs its command: a subprocess fed the objective on stdin, whose
exit, stdout and stderr are the result (sundial.api.worker decides what they mean)."""

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# How long a command stopped at the end of the grace gets between SIGTERM and SIGKILL.
KILL_GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Finished:
    """What a command did."""

    returncode: int
    stdout: str
    stderr: str


class RunningCommand(Protocol):
    def wait(self, timeout: float) -> Finished | None:
        """Waits up to `timeout` seconds for the command to end; what it did, once it has."""

    def kill(self) -> None:
        """Ends the command (SIGTERM, then SIGKILL) and waits for it."""


class _Subprocess:
    def __init__(
        self, argv: Sequence[str], stdin_text: str, environment: Mapping[str, str]
    ) -> None:
        self._process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **environment} if environment else None,
        )
        self._input: str | None = stdin_text

    def wait(self, timeout: float) -> Finished | None:
        # communicate() may be called again after a timeout without losing output.
        try:
            stdout, stderr = self._process.communicate(self._input, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            self._input = None
        return Finished(self._process.returncode, stdout, stderr)

    def kill(self) -> None:
        self._process.terminate()
        try:
            self._process.communicate(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()


def start_subprocess(
    argv: Sequence[str], stdin_text: str, environment: Mapping[str, str]
) -> RunningCommand:
    """Starts `argv` with the worker's environment plus `environment`."""
    return _Subprocess(argv, stdin_text, environment)
