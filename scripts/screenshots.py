"""The README's report screenshots, taken from a report in headless Chromium (after `make demo`).

    python scripts/screenshots.py [--report demo-out/report] [--out docs/images]

Writes ``report-overview.png`` (the page as it opens) and ``report-exchange.png`` (the first
target's most severe exchange, opened through the report's own link syntax).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--report", type=Path, default=ROOT / "demo-out" / "report", help="a report folder")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="where the PNGs go")
    args = parser.parse_args()
    page_file = args.report / "index.html"
    if not page_file.exists():
        print(f"screenshots: {page_file} does not exist; run `make demo` first", file=sys.stderr)
        return 2
    executable = shutil.which("chromium")
    if executable is None:
        print("screenshots: Chromium is needed (scripts/install-browser.sh installs it)", file=sys.stderr)
        return 3
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    url = page_file.resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(url)
        page.wait_for_selector("html[data-ready='1']", state="attached")
        page.screenshot(path=str(args.out / "report-overview.png"), full_page=True)
        page.goto(url + "#tab=exchanges&target=0&sort=severity")
        page.reload()
        page.wait_for_selector("html[data-ready='1']", state="attached")
        page.locator("#table tbody tr").first.click()
        page.locator("#exchange .divergence").first.wait_for()
        page.screenshot(path=str(args.out / "report-exchange.png"), full_page=True)
        browser.close()
    print(f"screenshots: wrote report-overview.png and report-exchange.png to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
