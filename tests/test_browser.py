"""The built book in a real browser (Debian's Chromium, driven by Playwright), offline.

Every request that leaves localhost is aborted and recorded; the pages must still draw
every chart and typeset their formulas.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import chromium, serving

from compendium.build.pipeline import toc_documents
from compendium.build.profiles import BOOK, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

#: For each chart Altair placed on the page: whether it drew something visible.
CHARTS_DRAWN = """() => [...document.querySelectorAll('div[id^="altair-viz-"]')].map(div => {
  const canvas = div.querySelector('canvas');
  if (canvas && canvas.width > 0 && canvas.height > 0) {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) return true; }
    return false;
  }
  const svg = div.querySelector('svg.marks');
  return !!svg && svg.querySelectorAll('path, rect, text, line').length > 0;
})"""


@pytest.fixture(scope="module")
def book_url(smoke_book: Path) -> Iterator[str]:
    """The smoke book served over http on an ephemeral localhost port."""
    with serving(smoke_book) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def open_offline(browser, url: str, base: str) -> tuple[object, list[str]]:
    """Open `url` with every request outside `base` aborted; returns the page and those.

    It waits only for the page's `load` event. Each test then waits for what it checks
    (charts drawn, formulas typeset, a tooltip): Playwright's "networkidle" is no such
    condition, and on a busy 2-core machine a page sometimes never looks idle for the half
    second it needs (a CI run timed out on chapter 2 that way)."""
    outside: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def only_local(route) -> None:
        request_url = route.request.url
        if request_url.startswith((base, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(request_url)
            route.abort()

    page.route("**/*", only_local)
    # Generous limits: a page with thousands of chart points renders slowly on a busy
    # 2-core machine; correctness, not speed, is what these tests check.
    page.set_default_timeout(120_000)
    page.goto(url, wait_until="load")
    return page, outside


@pytest.mark.parametrize("name", ["intro", "generated/01_measures", "generated/02_alexnet_results"])
def test_page_renders_offline(browser, book_url, tmp_path, name):
    page, outside = open_offline(browser, f"{book_url}/{name}.html", book_url)
    _charts_done(page)
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    drawn = page.evaluate(CHARTS_DRAWN)
    errors = page.locator('div[id^="altair-viz-"] .error').all_inner_texts()
    page.close()
    assert outside == [], f"requests left the machine: {outside}"
    assert errors == []
    assert all(drawn), f"blank charts: {drawn}"
    assert (tmp_path / "page.png").stat().st_size > 10_000
    if name == "generated/01_measures":
        assert len(drawn) >= 6


def test_formulas_are_typeset_offline(browser, book_url):
    page, outside = open_offline(browser, f"{book_url}/generated/01_measures.html", book_url)
    page.wait_for_selector("mjx-container", state="attached", timeout=120_000)
    typeset = page.locator("mjx-container").count()
    raw = page.locator(".math").evaluate_all(
        "nodes => nodes.filter(n => !n.querySelector('mjx-container')).length"
    )
    page.close()
    assert outside == []
    assert typeset > 20 and raw == 0


def test_tooltip_shows_class_and_activation(browser, book_url):
    page, _ = open_offline(browser, f"{book_url}/generated/01_measures.html", book_url)
    _charts_done(page)  # the other charts drawn: the layout no longer moves the point
    page.wait_for_timeout(500)
    point = page.locator('div[id^="altair-viz-"] .mark-symbol path').first
    point.scroll_into_view_if_needed()
    point.hover(force=True)
    page.wait_for_selector("#vg-tooltip-element.visible", timeout=30_000)
    text = page.locator("#vg-tooltip-element").inner_text()
    page.close()
    assert "class" in text and "activation" in text


#: Every page of the book, from its table of contents (root first).
PAGES = toc_documents(BOOK / "_toc.yml")
#: The page width the book is read at on a laptop or a projector.
WIDTH = 1280
#: Set this to a folder to keep the full-page screenshots of `test_every_page_fits_and_draws`.
SCREENSHOTS_ENV = "COMPENDIUM_SCREENSHOTS"

#: Options of `checkVisibility` under which hidden, transparent and folded content is unseen.
_SHOWN = "const SHOWN = {visibilityProperty: true, opacityProperty: true};"

#: Charts and tables wider than the content column: each as "kind #n: right edge > column".
OVERFLOWING = (
    "() => {"
    + _SHOWN
    + """
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const box = article.getBoundingClientRect();
  const style = getComputedStyle(article);
  const right = box.right - parseFloat(style.paddingRight) + 1;
  const left = box.left + parseFloat(style.paddingLeft) - 1;
  const found = [];
  const check = (kind, nodes) => nodes.forEach((node, i) => {
    const r = node.getBoundingClientRect();
    if (r.width === 0 || !node.checkVisibility(SHOWN)) return;
    if (r.right > right || r.left < left) {
      found.push(`${kind} #${i}: ${Math.round(r.left)}-${Math.round(r.right)} px, ` +
                 `column ${Math.round(left)}-${Math.round(right)} px`);
    }
  });
  check('chart', [...document.querySelectorAll(
    'div[id^="altair-viz-"] canvas, div[id^="altair-viz-"] svg.marks')]);
  check('table', [...article.querySelectorAll('table')]);
  return found;
}"""
)

#: Code cells whose source a reader sees without opening a toggle.
VISIBLE_CODE = (
    "() => {"
    + _SHOWN
    + """ return [...document.querySelectorAll(
  '.cell_input, .cell .highlight-ipython3')].filter(node => node.checkVisibility(SHOWN)).length; }"""
)

#: For each exercise solution: is its content visible (before any click)?
SOLUTIONS_SHOWN = (
    "() => {"
    + _SHOWN
    + """ return [
  ...document.querySelectorAll('.solution.dropdown')].map(node => {
  const parts = [...node.children].filter(c => !c.classList.contains('admonition-title'));
  return parts.some(part => part.checkVisibility(SHOWN));
}); }"""
)


def _charts_done(page) -> None:
    """Wait until every chart has drawn something visible (`CHARTS_DRAWN`) or shows an
    error, so that what a test reads next is the finished page."""
    page.wait_for_function(
        f"() => ({CHARTS_DRAWN})().every(Boolean) || "
        "document.querySelector('div[id^=\"altair-viz-\"] .error') !== null",
        timeout=120_000,
    )


def _screenshot(page, path: Path) -> None:
    """The whole page at the test's width. (A `full_page` screenshot shifts this theme's
    layout sideways, so the viewport is made as tall as the page instead.)"""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": min(height, 32_000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))


def _screenshot_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("name", PAGES)
def test_every_page_fits_and_draws(browser, book_url, tmp_path, name):
    """Each page at 1280 px, offline: every chart drawn, no chart or table wider than the
    content column, no code shown until its toggle is opened, exercise solutions folded,
    and no path of the machine that built the book in its text."""
    page, outside = open_offline(browser, f"{book_url}/{name}.html", book_url)
    page.set_viewport_size({"width": WIDTH, "height": 900})
    _charts_done(page)
    page.wait_for_timeout(500)  # the theme's and the toggles' scripts settle the layout
    drawn = page.evaluate(CHARTS_DRAWN)
    overflowing = page.evaluate(OVERFLOWING)
    code = page.evaluate(VISIBLE_CODE)
    solutions = page.evaluate(SOLUTIONS_SHOWN)
    text = page.locator("article").inner_text()
    _screenshot(page, _screenshot_folder(tmp_path) / f"{name.replace('/', '__')}.png")
    page.close()
    assert outside == [], f"requests left the machine: {outside}"
    assert all(drawn), f"blank charts: {drawn}"
    assert overflowing == [], f"wider than the content column: {overflowing}"
    assert code == 0, f"{code} code cells shown without opening their toggle"
    assert not any(solutions), f"solutions shown before a click: {solutions}"
    assert str(ROOT) not in text and "/tmp/" not in text, "a build-machine path on the page"
    assert not re.search(r"\b\w+\(s\)", text), "a '(s)' plural: write the number's own form"


def test_a_solution_opens_on_a_click(browser, book_url):
    """The first exercise of chapter 1: its solution is folded, and a click shows it."""
    page, _ = open_offline(browser, f"{book_url}/generated/01_measures.html", book_url)
    solution = page.locator(".solution.dropdown").first
    content = solution.locator("section").first
    assert not content.is_visible()
    solution.locator("button.toggle-button, .admonition-title").first.click()
    content.wait_for(state="visible", timeout=10_000)
    assert "informedness" in content.inner_text()
    page.close()
