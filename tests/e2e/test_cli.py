"""The README's CLI walk-through against a real `sundial serve`, each command a real
`sundial` process: a context, an agent, a schedule that fires by itself, a worker that runs
the fired run, and the run listed with its output. Nothing but the CLI is used."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e import test_serve
from tests.e2e.test_serve import SUNDIAL, Process
from tests.support.auth import ADMIN_SECRET

served = test_serve.served  # a `sundial serve` process with the known admin key

pytestmark = pytest.mark.slow(seconds=25)
FIRE_TIMEOUT = 60
# The worker's command: the run arrives as ProtoJSON on stdin; stdout becomes its output.
PRINT_MESSAGE = "import json, sys; print(json.load(sys.stdin)['spec']['initialMessage'])"


def test_from_serve_to_a_fired_listed_run_with_the_cli_alone(
    served: tuple[Process, str], tmp_path: Path
):
    process, address = served
    env = {"SUNDIAL_CONFIG": str(tmp_path / "config.yaml"), "PATH": str(Path(SUNDIAL).parent)}

    def sundial(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [SUNDIAL, *args], capture_output=True, text=True, timeout=120, env=env, check=False
        )
        if check:
            assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    key_file = tmp_path / "admin.key"
    key_file.write_text(ADMIN_SECRET + "\n")
    sundial(
        "config", "set-context", "local", "--address", address, "--api-key-file", str(key_file),
        "--workspace", process.workspace, "--account", process.account,
    )  # fmt: skip
    agent = json.loads(sundial("agents", "create", "greeter", "-o", "json").stdout)["metadata"][
        "id"
    ]
    created = sundial(
        "schedules", "create", agent, "--name", "hello", "--every", "1s", "--message", "say hello"
    )
    assert "every 1s" in created.stdout
    schedule = created.stdout.splitlines()[2].split()[0]

    deadline = time.monotonic() + FIRE_TIMEOUT
    while not json.loads(sundial("runs", "list", "--schedule", schedule, "-o", "json").stdout):
        assert time.monotonic() < deadline, "the schedule never fired"
        time.sleep(0.2)

    worked = sundial(
        "worker", "--workspace", process.workspace, "--agent", agent, "--grpc-address", address,
        "--api-key-file", str(key_file), "--once", "--",
        sys.executable, "-c", PRINT_MESSAGE,
    )  # fmt: skip
    assert worked.stdout == "ran 1 objective(s)\n"
    runs = sundial("runs", "list", "--schedule", schedule, "--status", "succeeded").stdout
    run_id = runs.splitlines()[2].split()[0]
    assert runs.splitlines()[2].split()[3:5] == ["SUCCEEDED", "SCHEDULED"]
    assert sundial("runs", "output", run_id).stdout == "say hello\n"
    described = sundial("schedules", "describe", schedule).stdout
    assert run_id in described
    missing = sundial("schedules", "get", "sched_nope", check=False)
    assert missing.returncode == 3
    assert missing.stderr.strip().startswith("sundial schedules get: NOT_FOUND: ")
