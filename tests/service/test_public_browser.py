"""The public pages as a person uses them, in a real headless Chromium against a real
``compat-diff serve`` process: two providers rated by real runs against a moto server, a third
whose runs ended 60 days ago (written with real signatures, since no test can wait that long),
a revoked mark. Checks what a reader needs (sorting, history chart, changes, badges linking to
status pages, expired and revoked marks) and accessibility basics on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from compat_diff.service.store import Service
from compat_diff.service.synthetic import seed_history
from compat_diff.testing import MotoServer
from tests.report.test_browser import browser  # noqa: F401 (the shared Chromium fixture)
from tests.service.conftest import ADMIN, make_suite, service_config, start_service

pytestmark = [pytest.mark.browser, pytest.mark.live]

# Screenshots for a person to look at (docs/images holds copies of them).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Run in the page: headings in order with one h1, every image with alt text, and text contrast
# of at least 4.5:1 (WCAG AA) against the nearest opaque background.
A11Y_CHECK = """
() => {
  const problems = [];
  const headings = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1]);
  if (headings.filter(l => l === 1).length !== 1) problems.push('one h1 per page');
  headings.forEach((level, i) => {
    if (i && level > headings[i - 1] + 1) problems.push('heading level skipped');
  });
  document.querySelectorAll('img').forEach(img => {
    if (!img.getAttribute('alt')) problems.push('img without alt');
  });
  document.querySelectorAll('svg[role=img]').forEach(svg => {
    if (!svg.querySelector('title')) problems.push('svg image without title');
  });
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el) || el.closest('svg')) continue;
    seen.add(el);
    const fg = rgb(getComputedStyle(el).color).slice(0, 3), bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)} for "${text}"`);
  }
  return problems;
}
"""


def _rate(server: Any, provider: str, moto_url: str, runs: int) -> list[int]:
    status, created = server.call("POST", "/api/v1/providers", {"name": provider}, ADMIN)
    assert status == 201, created
    endpoint = {"name": "main", "endpoint": moto_url, "access_key": "testing", "secret_key": "testing"}
    status, answer = server.call(
        "POST", f"/api/v1/providers/{provider}/endpoints", endpoint, created["token"]
    )
    assert status == 201, answer
    ids = []
    for _ in range(runs):
        status, started = server.call(
            "POST",
            "/api/v1/runs",
            {"provider": provider, "endpoint": "main", "suite": "mini"},
            created["token"],
        )
        assert status == 201, started
        assert server.wait_run(started["id"])["state"] == "finished"
        ids.append(started["id"])
    return ids


def test_the_public_pages_in_a_browser(tmp_path: Path, moto: MotoServer, browser: Any) -> None:  # noqa: F811
    data = tmp_path / "data"
    suite = make_suite(tmp_path / "suite")
    # The suite and the 60-day-old history are written before the service starts.
    seeding = Service(service_config(data))
    seeding.register_suite(suite)
    now = datetime.now(UTC)
    seed_history(
        seeding,
        suite="mini",
        providers=["oldcloud"],
        services=["sqs", "sts"],
        days=3,
        ended=now - timedelta(days=60),
    )
    seeding.engine.dispose()
    server = start_service(data, workers=1)
    try:
        acme_runs = _rate(server, "acme", moto.url, runs=2)
        _rate(server, "globex", moto.url, runs=1)
        status, _ = server.call(
            "POST",
            "/api/v1/admin/revocations",
            {"provider": "globex", "suite": "mini", "reason": "endpoint tuned"},
            ADMIN,
        )
        assert status == 201
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        outside: list[str] = []
        page.on(
            "request",
            lambda request: None if request.url.startswith(server.url) else outside.append(request.url),
        )

        page.goto(server.url + "/")
        assert page.url.endswith("/leaderboard")
        rows = page.locator("#leaderboard tbody tr")
        assert rows.count() == 3
        page.click("text=Provider / endpoint")
        assert [rows.nth(i).get_attribute("data-provider") for i in range(3)] == [
            "acme",
            "globex",
            "oldcloud",
        ]
        assert [rows.nth(i).locator(".state").inner_text() for i in range(3)] == [
            "valid",
            "revoked",
            "expired",
        ]
        page.click("text=Last run")
        assert rows.nth(2).get_attribute("data-provider") == "oldcloud"
        assert "stale" in rows.nth(2).inner_text()
        assert page.evaluate(A11Y_CHECK) == []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "service-leaderboard.png"), full_page=True)

        page.click("text=acme")
        page.wait_for_selector("figure.history svg polyline", state="attached")
        assert (page.locator("figure.history svg desc").text_content() or "").startswith("2 finished runs")
        assert "What changed since run" in page.content()
        badge = page.locator("img[src$='/badge/acme/mini.svg']")
        assert page.evaluate("img => img.complete && img.naturalWidth > 0", badge.element_handle())
        assert page.evaluate(A11Y_CHECK) == []
        page.screenshot(path=str(ARTIFACTS / "service-provider.png"), full_page=True)

        page.goto(server.url + "/badge/acme/mini.svg")
        page.click("svg a")
        page.wait_for_url("**/status/acme/mini")
        assert page.locator(".mark-state .state").inner_text() == "valid"
        assert page.evaluate(A11Y_CHECK) == []

        page.goto(server.url + "/status/oldcloud/mini")
        assert page.locator(".mark-state .state").inner_text() == "expired"
        page.goto(server.url + "/status/globex/mini")
        assert page.locator(".mark-state .state").inner_text() == "revoked"
        assert "endpoint tuned" in page.locator(".mark-state").inner_text()
        page.screenshot(path=str(ARTIFACTS / "service-status-revoked.png"), full_page=True)
        page.goto(server.url + "/badge/globex/mini.svg")
        assert "revoked" in page.content()

        page.goto(server.url + f"/runs/{acme_runs[-1]}")
        assert "Verify the attestation" in page.content()
        assert page.evaluate(A11Y_CHECK) == []
        context.close()
        assert errors == [] and outside == []
    finally:
        server.stop()
