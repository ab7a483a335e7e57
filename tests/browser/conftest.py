"""Real JupyterLab in headless Chromium: a lab server started per test module on loopback, and a
Playwright page. Screenshots go to test-artifacts/screenshots/ (printed at the start)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_servers import JupyterServer
from labtools import SHOTS

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


class Lab(JupyterServer):
    """JupyterLab with its own folder, settings and tracking database."""

    def __init__(self, folder: Path) -> None:
        self.db = folder / "mlops.db"
        settings = folder / ".settings"
        news = settings / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True)
        (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
        env = {
            **os.environ,
            "JUPYTER_MLOPS_URL": f"sqlite:///{self.db}",
            "JUPYTER_MLOPS_ARTIFACTS": str(folder / "artifacts"),
        }
        args = ["--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}"]
        super().__init__(folder, env, "jupyterlab", args)

    def open(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make system-deps` installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed browser test leaves a screenshot of its page: test-artifacts/screenshots/TEST-failed.png."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None:
        with contextlib.suppress(Exception):  # the page may be what broke
            page.screenshot(path=str(SHOTS / f"{item.name}-failed.png"), full_page=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots in {SHOTS}")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()
