"""The console's browser tests drive Debian's headless Chromium (installed by `make browser`,
never downloaded at run time) through Selenium against a real `sundial serve`.

One server and one browser per module: a Chromium start costs seconds, and the pages under
test only read and steer what the server holds. The database is seeded before the server
starts (1,000 schedules through the service layer, in one process, rather than 1,000 RPCs);
a worker thread claims and completes the agent's objectives through the ObjectiveService
API, so a triggered run completes with an output the pages can show. Each page's screenshot
is kept as a test artifact under $SUNDIAL_SCREENSHOTS (default build/screenshots/).

Without the browser the tests skip on a developer's machine and fail in CI, like the
PostgreSQL tests: CI must run them."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from sundial.api.client import authorized_channel
from sundial.domain.agents import AgentSpec
from sundial.domain.clock import SystemClock
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import AgentScheduleSpec, ScheduleRules, ScheduleStatus
from sundial.service.agents import AgentService
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import TenancyService
from sundial.store import migrate
from sundial.store.database import Database
from sundial.v1 import objective_service_pb2, objective_service_pb2_grpc
from tests.conftest import IN_CI
from tests.e2e.test_serve import Process
from tests.support.auth import ADMIN_SECRET
from tests.support.screenshots import ROOT, SCREENSHOTS

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LOAD_SCHEDULES = 1000
LOAD_AGENT = "load"
WORK_AGENT = "assistant"
# What the worker's completed objectives carry, for the run page to pretty-print.
OUTPUT_SUMMARY = "the day, summarized"
FAILED = pytest.StashKey[bool]()
WORKER = "console-test"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Kept on the item, so a fixture's teardown can tell whether its test failed.
    report = yield
    item.stash.setdefault(FAILED, False)
    if report.failed:
        item.stash[FAILED] = True
    return report


def _require(path: Path, what: str) -> None:
    if path.exists():
        return
    message = f"{what} not found at {path} (run `make browser` / `npm ci`)"
    if IN_CI:
        pytest.fail(message + ": CI must run the browser tests")
    pytest.skip(message)


@dataclass
class Console:
    """The served console and what the seed put in its workspace."""

    process: Process
    rest_port: int
    grpc_address: str
    workspace_id: str
    agent_id: str  # the agent the worker serves, where the tests create schedules
    load_agent_id: str  # the agent holding the 1,000 seeded schedules
    seeded: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}/console/"


def _seed(url: str) -> tuple[str, str, str, list[str]]:
    """The bootstrap account (its admin key's secret is ADMIN_SECRET), an agent for the tests
    and one holding LOAD_SCHEDULES daily schedules, created paused so that none fires."""
    migrate.upgrade(url)
    database = Database(url)
    try:
        clock = SystemClock()
        bootstrap = TenancyService(database, clock).bootstrap(ADMIN_SECRET)
        principal, workspace = bootstrap.principal, bootstrap.default_workspace.id
        agents = AgentService(database, clock)
        work = agents.create(principal, workspace, MetadataInput(name=WORK_AGENT), AgentSpec())
        load = agents.create(principal, workspace, MetadataInput(name=LOAD_AGENT), AgentSpec())
        schedules = ScheduleService(database, clock, min_fire_interval=timedelta(seconds=1))
        spec = AgentScheduleSpec(
            initial_message="load",
            schedule=ScheduleRules(cron_expressions=("0 3 * * *",)),
            status=ScheduleStatus.PAUSED,
        )
        seeded = [
            schedules.create(
                principal,
                workspace,
                load.metadata.id,
                MetadataInput(name=f"load-{index:04d}"),
                spec,
            ).metadata.id
            for index in range(LOAD_SCHEDULES)
        ]
        return workspace, work.metadata.id, load.metadata.id, seeded
    finally:
        database.dispose()


class Worker:
    """Claims the agent's objectives and completes each with an output, on a thread."""

    def __init__(self, address: str, workspace_id: str, agent_id: str) -> None:
        self._ids = {"workspace_id": workspace_id, "agent_id": agent_id, "worker_id": WORKER}
        self._address = address
        self._stop = threading.Event()
        self.completed: list[str] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="console-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            with authorized_channel(self._address, ADMIN_SECRET) as channel:
                stub = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
                while not self._stop.is_set():
                    self._claim_and_complete(stub)
        except grpc.RpcError as error:
            if not self._stop.is_set():
                self.error = error

    def _claim_and_complete(self, stub: objective_service_pb2_grpc.ObjectiveServiceStub) -> None:
        # A short long-poll: stopping waits at most this long.
        claimed = stub.ClaimObjectives(
            objective_service_pb2.ClaimObjectivesRequest(
                **self._ids,
                max_objectives=10,
                wait=duration_pb2.Duration(seconds=1),
                lease_duration=duration_pb2.Duration(seconds=60),
            ),
            timeout=30,
        )
        for objective in claimed.objectives:
            output = struct_pb2.Value()
            output.struct_value.update(
                {"summary": OUTPUT_SUMMARY, "objective": objective.metadata.id, "items": [1, 2]}
            )
            stub.CompleteObjective(
                objective_service_pb2.CompleteObjectiveRequest(
                    **self._ids, objective_id=objective.metadata.id, output=output
                ),
                timeout=30,
            )
            self.completed.append(objective.metadata.id)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    _require(AXE, "axe-core")
    directory = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{directory / 'sundial.db'}"
    workspace, agent, load_agent, seeded = _seed(url)
    process = Process(
        "serve", "--database-url", url, "--grpc-address", "127.0.0.1:0",
        "--http-address", "127.0.0.1:0", "--drain-delay", "0",
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )  # fmt: skip
    worker: Worker | None = None
    try:
        grpc_port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        rest_port = int(process.wait_for_line(r"serving REST on 127\.0\.0\.1:(\d+)")[1])
        process.workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        assert process.workspace == workspace
        address = f"127.0.0.1:{grpc_port}"
        worker = Worker(address, workspace, agent)
        worker.start()
        yield Console(process, rest_port, address, workspace, agent, load_agent, seeded)
        assert worker.error is None, f"the worker failed: {worker.error}"
    finally:
        if worker is not None:
            worker.stop()
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    _require(CHROMIUM, "chromium")
    _require(CHROMEDRIVER, "chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        # As root (CI, containers) Chromium refuses to start sandboxed.
        "--no-sandbox",
        # A container's /dev/shm is often too small for a renderer.
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=en-US",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
    ):
        options.add_argument(argument)
    # The driver's path is given: Selenium Manager never looks for (or downloads) a browser.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    # Not emptied first: with pytest-xdist two workers may share it.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
