"""What every browser test does to a page: check it with axe-core, and keep a picture of it."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.pages.conftest import SCREENSHOTS

AXE = Axe()
SERIOUS = {"serious", "critical"}


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation (WCAG 2.1 A and AA rules, and best practice)."""
    results = AXE.run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in SERIOUS]
    assert not serious, f"{page.url}:\n" + "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"])
        for v in serious
    )


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
