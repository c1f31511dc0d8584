"""What the console tests do to a page, by what a person sees: a field by its label, a
button by its text, a table row by its name. Every wait is WebDriverWait on a condition (an
element present, a text shown), bounded, never a sleep."""

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import AXE, Console
from tests.support.auth import ADMIN_SECRET

# A bound for what a page waits on (the server answering, a worker completing a run), so a
# broken page fails the test instead of hanging it; nothing asserts how long it took.
WAIT_SECONDS = 30
MAX_KEY_PRESSES = 40
MAX_SHOT_HEIGHT = 6000
SERIOUS = frozenset({"serious", "critical"})
T = TypeVar("T")


def _literal(text: str) -> str:
    """`text` as an XPath string literal (XPath 1.0 has no escape for quotes)."""
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ", '\"', ".join(f'"{part}"' for part in text.split('"')) + ")"


class ConsolePage:
    def __init__(self, driver: WebDriver, console: Console, screenshots: Path) -> None:
        self.driver = driver
        self.console = console
        self.screenshots = screenshots

    # Navigation and sign-in.

    def open(self, route: str) -> None:
        """Goes to `#/route`; a change of hash alone re-renders without a reload."""
        self.driver.get(f"{self.console.url}#/{route}")

    def sign_in(self, secret: str = ADMIN_SECRET) -> None:
        self.open("sign-in")
        self.heading("Sign in to Sundial")
        self.fill("API key", secret)
        self.fill("Workspace", self.console.workspace_id)
        self.click("Sign in")

    def signed_in(self) -> None:
        """Signed in and on the schedules page, whatever this tab held before."""
        self.sign_in()
        self.heading("Schedules")

    # Finding things.

    def wait(self, what: str, condition: Callable[[WebDriver], T]) -> T:
        def attempt(driver: WebDriver) -> T | bool:
            try:
                return condition(driver)
            except StaleElementReferenceException:
                return False  # the page re-rendered under the lookup: look again

        return WebDriverWait(self.driver, WAIT_SECONDS).until(attempt, f"waiting for {what}")

    def heading(self, text: str) -> WebElement:
        """Waits for the page's <h1> to say `text` (a page renders after its data arrives)."""
        xpath = f"//main//h1[normalize-space()={_literal(text)}]"
        return self.wait(
            f"the heading {text!r}", lambda d: _visible(d.find_elements(By.XPATH, xpath))
        )

    def control(self, label: str) -> WebElement:
        """The form control a <label> names (by its `for`, or the one it wraps)."""
        xpath = f"//label[normalize-space()={_literal(label)}]"

        def find(driver: WebDriver) -> WebElement | None:
            for element in driver.find_elements(By.XPATH, xpath):
                target = element.get_attribute("for")
                if target:
                    found = driver.find_elements(By.ID, target)
                    if found:
                        return found[0]
                wrapped = element.find_elements(By.XPATH, ".//input|.//select|.//textarea")
                if wrapped:
                    return wrapped[0]
            return None

        return self.wait(f"the field labelled {label!r}", find)

    def fill(self, label: str, text: str) -> WebElement:
        element = self.control(label)
        element.clear()
        element.send_keys(text)
        return element

    def choose(self, label: str, visible_text: str) -> None:
        Select(self.control(label)).select_by_visible_text(visible_text)

    def button(self, text: str, within: WebElement | None = None) -> WebElement:
        xpath = f".//button[normalize-space()={_literal(text)}]"
        scope: Any = within if within is not None else self.driver

        def find(_: WebDriver) -> WebElement | None:
            found = _visible(scope.find_elements(By.XPATH, xpath))
            return found if found is not None and found.is_enabled() else None

        return self.wait(f"an enabled button {text!r}", find)

    def click(self, text: str, within: WebElement | None = None) -> None:
        self.button(text, within).click()

    def link(self, text: str) -> WebElement:
        xpath = f"//a[normalize-space()={_literal(text)}]"
        return self.wait(f"the link {text!r}", lambda d: _visible(d.find_elements(By.XPATH, xpath)))

    def testid(self, testid: str) -> WebElement:
        selector = f'[data-testid="{testid}"]'
        return self.wait(
            f"[data-testid={testid}]",
            lambda d: _visible(d.find_elements(By.CSS_SELECTOR, selector)),
        )

    def shows(self, text: str, within: WebElement | None = None) -> None:
        """Waits until `text` is part of what the page (or `within`) shows."""

        def shown(driver: WebDriver) -> bool:
            scope = within if within is not None else driver.find_element(By.TAG_NAME, "body")
            return text in scope.text

        self.wait(f"the text {text!r}", shown)

    def status(self, text: str) -> None:
        """Waits for the shell's live region (role=status) to announce `text`."""
        self.wait(
            f"the status {text!r}",
            lambda d: any(
                text in e.text for e in d.find_elements(By.CSS_SELECTOR, "[role=status]")
            ),
        )

    def row(self, name: str) -> WebElement:
        """The table row whose link says `name`."""
        xpath = f"//tbody/tr[.//a[normalize-space()={_literal(name)}]]"
        return self.wait(
            f"the row of {name!r}", lambda d: _visible(d.find_elements(By.XPATH, xpath))
        )

    def cells(self, row: WebElement) -> dict[str, str]:
        """A row's cells by the column headers of its table."""
        table = row.find_element(By.XPATH, "./ancestor::table[1]")
        headers = [th.text.strip() for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        values = [td.text.strip() for td in row.find_elements(By.XPATH, "./td")]
        return dict(zip(headers, values, strict=True))

    def column(self, header: str) -> list[str]:
        """The texts of one column of the page's table, top to bottom, read in one script
        (a page of 100 rows read cell by cell would be a thousand round trips)."""
        texts: list[str] = self.driver.execute_script(
            "const table = document.querySelector('main table');"
            "if (!table) return [];"
            "const index = [...table.querySelectorAll('thead th')]"
            "  .findIndex((th) => th.textContent.trim() === arguments[0]);"
            "if (index < 0) return [];"
            "return [...table.querySelectorAll('tbody tr')]"
            "  .map((tr) => tr.children[index].innerText.trim());",
            header,
        )
        return texts

    def focused(self) -> WebElement:
        return self.driver.switch_to.active_element

    def press_until(self, key: str, what: str, *, testid: str) -> None:
        """Presses `key` (Tab, Shift+Tab) until the element `[data-testid=testid]` has the
        focus; a page whose order never gets there fails after MAX_KEY_PRESSES."""
        for _ in range(MAX_KEY_PRESSES):
            if self.focused().get_attribute("data-testid") == testid:
                return
            ActionChains(self.driver).send_keys(key).perform()
        raise AssertionError(f"{key!r} never reached {what} in {MAX_KEY_PRESSES} presses")

    def rows(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")

    def field_error(self, label: str) -> str:
        """The error shown at a field: the text of what the control is described by, beyond
        its hint, once the control is marked invalid."""
        control = self.control(label)
        self.wait(
            f"the field {label!r} marked invalid",
            lambda _: control.get_attribute("aria-invalid") == "true",
        )
        described = (control.get_attribute("aria-describedby") or "").split()
        texts = []
        for ident in described:
            for element in self.driver.find_elements(By.ID, ident):
                if "hint" not in (element.get_attribute("class") or ""):
                    texts.append(element.text.strip())
        return " ".join(text for text in texts if text)

    # Artifacts and checks.

    def shoot(self, name: str) -> Path:
        """The whole page (the window stretched to its height for the shot), as name.png."""
        path = self.screenshots / f"{name}.png"
        size = self.driver.get_window_size()
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        chrome = size["height"] - self.driver.execute_script("return window.innerHeight")
        tall = min(max(int(height) + chrome, size["height"]), MAX_SHOT_HEIGHT)
        self.driver.set_window_size(size["width"], tall)
        try:
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(size["width"], size["height"])
        print(f"screenshot: {path}")
        return path

    def serious_violations(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        if not self.driver.execute_script("return typeof window.axe === 'object'"):
            self.driver.execute_script(AXE.read_text())
        violations: list[dict[str, Any]] = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            "  .then((result) => done(result.violations), (error) => done([{id: 'axe-error',"
            "    impact: 'critical', help: String(error), nodes: []}]));"
        )
        return [
            {
                "id": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "targets": [node["target"] for node in violation["nodes"]][:5],
            }
            for violation in violations
            if violation["impact"] in SERIOUS
        ]

    def first_load_gzipped_bytes(self) -> dict[str, int]:
        """Each same-origin URL the page loaded (the document and every resource it fetched,
        by the browser's resource timing), fetched again from the server, with its gzipped
        size: what a first visit costs on the wire with compression."""
        urls: list[str] = self.driver.execute_script(
            "return [location.href.split('#')[0],"
            " ...performance.getEntriesByType('resource').map((entry) => entry.name)];"
        )
        origin = urlsplit(self.console.url).netloc
        sizes: dict[str, int] = {}
        with httpx.Client(timeout=WAIT_SECONDS) as client:
            for url in dict.fromkeys(urls):
                if urlsplit(url).netloc != origin or "/console/" not in urlsplit(url).path:
                    continue  # API calls are data, not the page's weight
                reply = client.get(url, headers={"Accept-Encoding": "identity"})
                reply.raise_for_status()
                sizes[urlsplit(url).path] = len(gzip.compress(reply.content, compresslevel=6))
        return sizes


def _visible(elements: list[WebElement]) -> WebElement | None:
    for element in elements:
        if element.is_displayed():
            return element
    return None
