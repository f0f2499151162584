"""The README's screenshots of `starmill view` (docs/viewer/*.png), taken in headless Chromium.

    starmill run -w /tmp/demo && starmill run -w /tmp/demo --set selection.k=1
    starmill eval starmill/demo-teacher --on procedural:n=24,seed=9,difficulty=1 -n 8 \
        --strategy majority --strategy beam --search max_depth=3 -w /tmp/demo
    starmill view -w /tmp/demo &
    .venv/bin/python scripts/viewer_screenshots.py --url http://127.0.0.1:8765 --problem PROBLEM_ID

Needs selenium (the dev extra) and Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "viewer"
WIDTH = 1280


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--problem", required=True, help="the problem page to show")
    parser.add_argument("--a", default="samples@v1")
    parser.add_argument("--b", default="samples@v2")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    profile = tempfile.mkdtemp()
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    OUT.mkdir(parents=True, exist_ok=True)
    pages = [  # name, path, height of the window, the element to capture (None: the window)
        ("index", "/", 480, None),
        ("version", f"/datasets/{args.a.replace('@', '/')}", 1500, None),
        ("problem", f"/problems/{args.problem}", 1000, None),
        ("evals", "/datasets/evals", 1200, "#accuracy"),
        ("tree", "/datasets/evals_tree", 1600, "details.search"),
        ("diff", f"/diff?a={args.a}&b={args.b}", 900, None),
    ]
    try:
        for name, path, height, element in pages:
            driver.set_window_size(WIDTH, height)
            driver.get(args.url + path)
            target = OUT / f"{name}.png"
            if element:
                driver.find_element(By.CSS_SELECTOR, element).screenshot(str(target))
            else:
                driver.save_screenshot(str(target))
            print(target)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
