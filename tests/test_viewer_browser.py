"""`starmill view` in a real browser: headless Chromium driven by Selenium through the system
chromedriver. Follows links from the index, filters rows, opens a problem, and checks what a reader
sees: a rationale, a verdict, a drop reason, the thinking folded, LaTeX typeset, code highlighted, and
an HTML-injection rationale shown as text (its script never runs). Screenshots go to the test's tmp
folder."""

import shutil
import tempfile
import urllib.parse

import pytest

from tests.fixtures_viewer import INJECTION, THOUGHT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs chromium and chromedriver (apt-get install chromium chromium-driver)"
)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="viewer-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def follow(driver, element, arrived):
    """Click a link or a submit button and wait until the new page has loaded: `arrived(url)` holds
    and the document is complete. A click returns before the navigation it starts has finished, so
    reading current_url straight after it races the browser (seen once in CI on the filter form)."""
    from selenium.webdriver.support.ui import WebDriverWait

    before = driver.current_url
    element.click()
    WebDriverWait(driver, 15).until(
        lambda d: (
            d.current_url != before
            and arrived(d.current_url)
            and d.execute_script("return document.readyState") == "complete"
        )
    )
    return driver.current_url


def shot(driver, tmp_path, name):
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 1000
    return path


def test_index_to_version_to_filtered_rows(browser, viewer, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(viewer + "/")
    shot(browser, tmp_path, "index")
    assert browser.title == "starmill · starmill"
    damaged = by_css(browser, "tr.damaged")
    assert len(damaged) == 1 and "broken" in damaged[0].text and "v1 damaged" in damaged[0].text
    follow(browser, browser.find_element(By.LINK_TEXT, "samples"), lambda u: "/datasets/samples" in u)
    assert browser.current_url == viewer + "/datasets/samples"
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("samples@v2")
    follow(browser, browser.find_element(By.LINK_TEXT, "v1"), lambda u: u.endswith("/v1"))
    assert browser.current_url.endswith("/datasets/samples/v1")
    assert len(by_css(browser, "#rows tbody tr")) == 12
    shot(browser, tmp_path, "version")

    Select(browser.find_element(By.NAME, "verdict")).select_by_visible_text("wrong")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button"), lambda u: "verdict=" in u)
    assert "verdict=wrong" in browser.current_url
    rows = by_css(browser, "#rows tbody tr")
    assert len(rows) == 5 and all("wrong" in r.text and "wrong_answer" in r.text for r in rows)
    shot(browser, tmp_path, "filtered")

    browser.get(viewer + "/datasets/samples/v1?reason=bad_step")
    [row] = by_css(browser, "#rows tbody tr")
    assert "bad_step" in row.text and "correct" in row.text
    assert row.find_elements(By.CSS_SELECTOR, ".katex") and "frac" not in row.text  # typeset, not source
    # the sample id: to its problem, at that sample
    follow(browser, row.find_element(By.CSS_SELECTOR, "a.id"), lambda u: "/problems/" in u)
    assert "/problems/" in browser.current_url and "#s-" in browser.current_url


def test_problem_page_shows_samples_safely(browser, viewer, viewer_warehouse, tmp_path):
    from selenium.webdriver.common.by import By

    _, refs = viewer_warehouse
    browser.get(viewer + f"/problems/{refs['problem_id']}")
    shot(browser, tmp_path, "problem")
    assert "Compute 2 + 3." in browser.find_element(By.CSS_SELECTOR, "section.question").text
    columns = by_css(browser, "section.samples .column")
    assert [c.find_element(By.CSS_SELECTOR, "h3 a").text for c in columns] == refs["samples"]
    cards = by_css(columns[1], "article.sample")
    assert len(cards) == 4
    texts = [c.text for c in cards]
    assert sum("kept" in t for t in texts) == 1 and sum("over_k" in t for t in texts) == 2
    assert sum("bad_step" in t for t in texts) == 1 and all("correct" in t for t in texts)

    # the injection shows as its own text; its script and onerror never ran
    injected = [c for c in cards if "<script>" in c.text]
    assert len(injected) == 1 and INJECTION.split("\n")[0][:60] in injected[0].text
    assert browser.title.startswith("problem") and browser.title != "pwned"
    assert browser.execute_script("return document.querySelectorAll('main script, main img').length") == 0

    # thinking folded, then opened
    think = cards[1].find_element(By.CSS_SELECTOR, "details.think")
    assert think.get_attribute("open") is None and THOUGHT not in cards[1].text
    think.find_element(By.TAG_NAME, "summary").click()
    assert THOUGHT in cards[1].text

    assert cards[2].find_elements(By.CSS_SELECTOR, "pre.code span.nb")  # print, highlighted
    assert cards[3].find_elements(By.CSS_SELECTOR, ".katex")  # \frac typeset by the vendored KaTeX
    assert cards[3].find_elements(By.CSS_SELECTOR, "mark.step.wrong")  # 2 + 3 = 6
    answer = cards[0].find_element(By.CSS_SELECTOR, "mark.ans.right")
    assert answer.text == "5"
    shot(browser, tmp_path, "problem-opened")

    tree = browser.find_element(By.CSS_SELECTOR, "section.trees ul.tree")
    assert "2 + 3 = 6" in tree.text and "selected" in tree.text


def test_evals_tree_and_diff_pages(browser, viewer, viewer_warehouse, tmp_path):
    from selenium.webdriver.common.by import By

    _, refs = viewer_warehouse
    browser.get(viewer + "/datasets/evals")
    chart = browser.find_element(By.CSS_SELECTOR, "section.evals svg.chart")
    assert len(chart.find_elements(By.TAG_NAME, "polyline")) == 2  # pass and maj against N
    shot(browser, tmp_path, "evals")
    browser.get(viewer + "/datasets/tree")
    assert len(by_css(browser, "ul.tree li")) == 3
    a, b = refs["samples"]
    browser.get(viewer + "/datasets/samples")
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "diff with v1"), lambda u: "a=" in u)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(browser.current_url).query) == {"a": [a], "b": [b]}
    summary = browser.find_element(By.ID, "diff-summary").text
    assert "changed 2" in summary and "added 0" in summary
    shot(browser, tmp_path, "diff")
