"""The web console in a real headless Chromium against a real `sundial serve`: what issue 18
says an operator does there, done by label and button text as a person would (sign in,
create a schedule from words, pause, resume, trigger, watch the run complete, read its
output, the heatmap and calendar, bulk pause, a field error at its field), axe-core on every
page, the first load's weight, and 1,000 schedules paged rather than all in the DOM.

Each test signs in and makes what it needs, so pytest-xdist may split the module; what
tests set up that is not the console's own doing (schedules to bulk-pause, a run to open)
goes through the gRPC API, and what a test checks happened goes to the API too."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from sundial.api.client import authorized_channel
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from sundial.v1 import (
    agent_schedule_service_pb2_grpc,
    metadata_pb2,
    objective_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
    webhook_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from tests.api.schedule_requests import create_request, schedule_spec
from tests.browser.conftest import FAILED, LOAD_SCHEDULES, OUTPUT_SUMMARY, Console
from tests.browser.pages import ConsolePage
from tests.support.auth import ADMIN_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The schedules table's page: at most this many rows are ever in the DOM.
MAX_ROWS = 100
# What the first load may weigh, gzipped (issue 18).
MAX_FIRST_LOAD_BYTES = 300 * 1024


class Api:
    """The gRPC API, for what a test sets up or checks outside the console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._channel = authorized_channel(console.grpc_address, ADMIN_SECRET)
        self.schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(self._channel)
        self.objectives = objective_service_pb2_grpc.ObjectiveServiceStub(self._channel)
        self.webhooks = webhook_service_pb2_grpc.WebhookServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def ids(self, agent_id: str = "") -> dict[str, str]:
        return {
            "workspace_id": self.console.workspace_id,
            "agent_id": agent_id or self.console.agent_id,
        }

    def create(self, name: str, **labels: str) -> sp.AgentSchedule:
        return self.schedules.CreateAgentSchedule(
            create_request(**self.ids(), name=name, labels=labels, spec=schedule_spec()),
            timeout=10,
        )

    def schedule(self, schedule_id: str) -> sp.AgentSchedule:
        return self.schedules.GetAgentSchedule(
            pb.GetAgentScheduleRequest(**self.ids(), schedule_id=schedule_id), timeout=10
        )

    def find(self, name: str) -> sp.AgentSchedule:
        listed = self.schedules.ListAgentSchedules(
            pb.ListAgentSchedulesRequest(**self.ids(), page_size=1000), timeout=10
        )
        return next(s for s in listed.agent_schedules if s.metadata.name == name)

    def runs(self, schedule_id: str) -> list[objective_pb2.Objective]:
        request = objective_service_pb2.ListObjectivesRequest(
            **self.ids(), page_size=100, filter=f'schedule_id = "{schedule_id}"'
        )
        return list(self.objectives.ListObjectives(request, timeout=10).objectives)


@pytest.fixture(scope="module")
def api(console: Console) -> Iterator[Api]:
    client = Api(console)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def page(
    request: pytest.FixtureRequest, browser: WebDriver, console: Console, screenshots: Path
) -> Iterator[ConsolePage]:
    browser.set_window_size(1280, 900)
    # A fresh document for each test: nothing announced or rendered by the one before.
    browser.get("about:blank")
    console_page = ConsolePage(browser, console, screenshots)
    yield console_page
    if request.node.stash.get(FAILED, False):
        # What the page showed when the test gave up: the first thing to look at.
        console_page.shoot(f"failed-{request.node.name}")


def _status(schedule: sp.AgentSchedule) -> int:
    return schedule.spec.status


def test_sign_in_refuses_a_wrong_key_then_lands_on_the_schedules(page: ConsolePage):
    page.sign_in("sdl_not-a-key")
    page.shows("not accepted")
    page.shoot("sign-in")

    page.sign_in()

    page.heading("Schedules")
    page.status("Signed in")
    # The credential is the tab's only: session storage, never local storage.
    kept = page.driver.execute_script("return JSON.stringify(sessionStorage)")
    assert ADMIN_SECRET in kept
    assert ADMIN_SECRET not in page.driver.execute_script("return JSON.stringify(localStorage)")


def test_a_schedule_made_from_words_is_listed_with_its_description_and_next_fire(
    page: ConsolePage, api: Api, console: Console
):
    page.signed_in()
    page.link("New schedule").click()
    page.heading("New schedule")
    page.choose("Agent", "assistant")
    page.fill("Name", "weekday digest")
    page.fill("Schedule in words", "every weekday at 9am")
    page.fill("Time zone", "Europe/Paris")
    page.fill("Message", "summarize the day")
    preview = page.testid("schedule-preview")
    # The preview follows what is typed: the words first, then the zone.
    description = page.wait(
        "the live preview's description in the zone typed",
        lambda _: (
            (text := page.testid("preview-description").text.strip()).endswith("Europe/Paris")
            and text
        ),
    )
    page.wait("five next fires", lambda _: len(preview.find_elements(By.TAG_NAME, "li")) == 5)
    page.shoot("new-schedule")

    page.click("Create schedule")

    page.status("Created schedule weekday digest")
    created = api.find("weekday digest")
    assert list(created.spec.schedule.cron_expressions) or list(created.spec.schedule.calendars)
    assert created.spec.schedule.timezone == "Europe/Paris"
    page.open(f"schedules?agent={console.agent_id}")
    row = page.cells(page.row("weekday digest"))
    assert row["Description"] == description == created.info.description
    assert row["Status"] == "Active"
    assert row["Next fire"] not in ("", "—")
    page.shoot("schedules")


def test_a_schedule_is_paused_resumed_and_triggered_and_its_run_completes_with_output(
    page: ConsolePage, api: Api, console: Console
):
    schedule = api.create("steered")
    page.signed_in()
    page.open(f"schedules/{schedule.metadata.id}?agent={console.agent_id}")
    page.heading("steered")

    page.fill("Pause reason", "maintenance window")
    page.click("Pause")
    page.status("Paused steered")
    page.button("Resume")
    paused = api.schedule(schedule.metadata.id)
    assert _status(paused) == sp.AGENT_SCHEDULE_STATUS_PAUSED
    assert paused.spec.notes == "maintenance window"

    page.click("Resume")
    page.status("Resumed steered")
    page.button("Pause")
    assert _status(api.schedule(schedule.metadata.id)) == sp.AGENT_SCHEDULE_STATUS_ACTIVE

    page.click("Trigger")
    page.status("Triggered steered")
    # The worker thread completes the run; the page shows it once it reloads its runs.
    runs = page.wait("the triggered run", lambda _: api.runs(schedule.metadata.id) or None)
    run_id = runs[0].metadata.id
    page.wait(
        "the run to succeed",
        lambda _: (
            api.runs(schedule.metadata.id)[0].info.status
            == objective_pb2.OBJECTIVE_STATUS_SUCCEEDED
        ),
    )
    page.open(f"schedules/{schedule.metadata.id}?agent={console.agent_id}")
    page.row(run_id)
    page.shows("Succeeded", within=page.row(run_id))
    page.shoot("schedule")

    page.driver.find_element(By.XPATH, f"//a[normalize-space()='{run_id}']").click()

    page.heading(f"Run {run_id}")
    output = page.testid("run-output")
    page.shows(OUTPUT_SUMMARY, within=output)
    # Pretty-printed: one key a line, indented.
    assert f'  "summary": "{OUTPUT_SUMMARY}"' in output.text
    page.shoot("run")


def test_a_schedule_page_draws_the_heatmap_and_the_calendar(
    page: ConsolePage, api: Api, console: Console
):
    schedule = api.create("drawn")
    page.signed_in()
    page.open(f"schedules/{schedule.metadata.id}?agent={console.agent_id}")
    page.heading("drawn")

    heatmap = page.testid("schedule-heatmap")
    # 7 days by 24 hours, each cell a count of the next fires; an hourly schedule (in UTC)
    # fires in every hour of every weekday.
    cells = heatmap.find_elements(By.CSS_SELECTOR, "tbody td")
    assert len(cells) == 7 * 24
    assert all(int(cell.text) > 0 for cell in cells)
    calendar = page.testid("schedule-calendar")
    page.wait("this month's fires", lambda _: calendar.find_elements(By.CSS_SELECTOR, ".count"))

    # Next month is all future: every one of its days has its 24 fires.
    page.click("Next")

    page.wait("next month's full days", lambda _: _full_days(page) >= 28)
    page.shoot("schedule-heatmap-calendar")

    page.click("Week")

    page.wait(
        "the week view",
        lambda _: (
            len(page.testid("schedule-calendar").find_elements(By.CSS_SELECTOR, "[data-day]")) == 7
        ),
    )


def _full_days(page: ConsolePage) -> int:
    counts = page.testid("schedule-calendar").find_elements(By.CSS_SELECTOR, "[data-day] .count")
    return sum(1 for count in counts if count.text == "24 fires")


def test_three_schedules_are_paused_at_once_from_the_list(
    page: ConsolePage, api: Api, console: Console
):
    made = [api.create(f"bulk-{index}", batch="three") for index in range(3)]
    page.signed_in()
    page.open(f"schedules?agent={console.agent_id}&label=batch%3Dthree")
    page.wait("the three schedules", lambda _: len(page.rows()) == 3)
    for schedule in made:
        page.testid(f"select-{schedule.metadata.id}").click()
    page.shows("3 selected")

    page.testid("bulk-pause").click()

    page.status("Paused 3 schedules")
    for schedule in made:
        assert _status(api.schedule(schedule.metadata.id)) == sp.AGENT_SCHEDULE_STATUS_PAUSED
    page.wait(
        "the rows to say paused",
        lambda _: page.column("Status") == ["Paused"] * 3,
    )
    page.shoot("bulk-paused")


def test_the_keyboard_alone_skips_to_the_content_selects_a_schedule_and_pauses_it(
    page: ConsolePage, api: Api, console: Console
):
    schedule = api.create("keyed", batch="keys")
    page.signed_in()
    page.open(f"schedules?agent={console.agent_id}&label=batch%3Dkeys")
    page.wait("the schedule", lambda _: page.column("Name") == ["keyed"])
    page.driver.refresh()  # a first load: focus starts at the top of the document
    page.wait("the schedule again", lambda _: page.column("Name") == ["keyed"])
    keys = ActionChains(page.driver)

    keys.send_keys(Keys.TAB).perform()
    assert page.focused().text == "Skip to content"
    keys.send_keys(Keys.ENTER).perform()
    page.wait("focus in main", lambda _: page.focused().get_attribute("id") == "main")
    box = f"select-{schedule.metadata.id}"
    page.press_until(Keys.TAB, f"the checkbox of {schedule.metadata.name}", testid=box)
    # Focus is visible where it is.
    assert page.driver.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle"
    ) not in ("", "none")
    keys.send_keys(Keys.SPACE).perform()
    page.shows("1 selected")
    page.press_until(Keys.SHIFT + Keys.TAB, "the bulk Pause button", testid="bulk-pause")
    keys.send_keys(Keys.ENTER).perform()

    page.status("Paused 1 schedule")
    assert _status(api.schedule(schedule.metadata.id)) == sp.AGENT_SCHEDULE_STATUS_PAUSED


def test_words_the_parser_refuses_and_an_unknown_zone_are_shown_at_their_fields(
    page: ConsolePage,
):
    page.signed_in()
    page.open("schedules/new")
    page.heading("New schedule")

    page.fill("Schedule in words", "every blursday at noon")

    assert page.field_error("Schedule in words")
    assert page.driver.find_elements(By.CSS_SELECTOR, '[data-testid="preview-description"]') == []

    page.fill("Schedule in words", "every day at 9am")
    page.fill("Time zone", "Mars/Olympus_Mons")

    assert "Mars/Olympus_Mons" in page.field_error("Time zone")
    page.shoot("field-error")


PAGES = [
    "sign-in",
    "schedules",
    "schedules/new",
    "schedule",
    "runs",
    "run",
    "overview",
    "webhooks",
    "webhook",
]


@pytest.mark.parametrize("which", PAGES)
def test_each_page_has_no_serious_or_critical_accessibility_violation(
    page: ConsolePage, api: Api, console: Console, which: str
):
    page.signed_in()
    route, heading = which, None
    if which == "schedule":
        schedule = api.create("inspected")
        route, heading = f"schedules/{schedule.metadata.id}?agent={console.agent_id}", "inspected"
    elif which == "run":
        schedule = api.create("run inspected")
        objective = api.schedules.TriggerAgentSchedule(
            pb.TriggerAgentScheduleRequest(**api.ids(), schedule_id=schedule.metadata.id),
            timeout=10,
        )
        run_id = objective.metadata.id
        route, heading = f"runs/{run_id}?agent={console.agent_id}", f"Run {run_id}"
    elif which == "webhook":
        webhook = api.webhooks.CreateWebhook(
            webhook_service_pb2.CreateWebhookRequest(
                workspace_id=console.workspace_id,
                metadata=metadata_pb2.CreateResourceMetadata(name="results"),
                spec=webhook_pb2.WebhookSpec(url="https://hooks.example.com/sundial"),
            ),
            timeout=10,
        )
        route, heading = f"webhooks/{webhook.metadata.id}", "results"
    elif which == "sign-in":
        page.click("Sign out")
    if which != "sign-in":
        page.open(route)
    page.wait("the page to render", lambda d: d.find_elements(By.CSS_SELECTOR, "main h1") or None)
    if heading:
        page.heading(heading)
    page.wait(
        "the page to finish loading", lambda d: not d.find_elements(By.CSS_SELECTOR, ".loading")
    )

    violations = page.serious_violations()

    page.shoot(f"axe-{which.replace('/', '-')}")
    assert violations == [], violations


def test_the_first_load_weighs_under_300_kb_gzipped(browser: WebDriver, console: Console):
    # A first visit: nothing kept from the module's other tests.
    browser.get(console.url)
    browser.execute_script("sessionStorage.clear(); localStorage.clear()")
    browser.get(console.url)
    page = ConsolePage(browser, console, Path())
    page.heading("Sign in to Sundial")

    sizes = page.first_load_gzipped_bytes()

    # The document and at least its script.
    assert any(path.endswith(".js") for path in sizes), sizes
    assert sum(sizes.values()) < MAX_FIRST_LOAD_BYTES, sizes


def test_a_thousand_schedules_are_paged_not_all_in_the_dom(page: ConsolePage, console: Console):
    page.signed_in()
    page.open(f"schedules?agent={console.load_agent_id}")
    first = page.wait("a page of rows", lambda _: page.column("Name"))
    assert len(first) <= MAX_ROWS < LOAD_SCHEDULES
    page.shoot("schedules-thousand")

    page.click("Next page")

    second = page.wait(
        "the second page", lambda _: (names := page.column("Name")) != first and names
    )
    assert 0 < len(second) <= MAX_ROWS
    assert set(first).isdisjoint(second)
    assert all(name.startswith("load-") for name in first + second)


def test_the_schedules_page_fits_a_phone_width(page: ConsolePage):
    page.driver.set_window_size(375, 800)
    page.signed_in()
    page.wait("the table", lambda _: page.column("Name"))

    # The table may scroll within its own box; the page itself never scrolls sideways.
    overflow = page.driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.shoot("schedules-phone")
    # What spills: an element wider inside than its box that does not scroll itself.
    spilling = page.driver.execute_script(
        "return [...document.querySelectorAll('body *')]"
        "  .filter((e) => e.scrollWidth > e.clientWidth"
        "    && getComputedStyle(e).overflowX === 'visible')"
        "  .map((e) => `${e.tagName.toLowerCase()}.${e.className} (${e.textContent.slice(0, 60)})`)"
    )
    assert overflow <= 0, f"{overflow} px wider than the window: {spilling}"
