"""The staff app's figures, measured in the real browser against the test back end (tests/staff_app):

- decision -> card: from the moment the decision to greet is taken (the visit claimed, just before the arrival
  publisher's call) to the card being on a signed-in tablet's screen (a MutationObserver's timestamp, same
  clock), over N arrivals: median and p90;
- first load: the bytes a tablet transfers to show the sign-in screen (as the test back end serves them, and
  gzip-compressed as CloudFront serves them with Compress: true).

`.venv/bin/python -m bench.staff_app` prints the figures and writes bench/results/staff_app.md.
"""

import gzip
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "staff_app"), str(ROOT / "tests"), str(ROOT)]
from staff_app_kit import Backend, arrival, astronaut_photo, register_by_file, sign_in  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ARRIVALS = 30
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
# Records when each arrival card enters the page, by visit id (Date.now(): the machine's clock, as time.time()).
OBSERVER = """
window.__cards = {};
new MutationObserver(() => {
  for (const card of document.querySelectorAll("li[data-visit]")) {
    if (!(card.dataset.visit in window.__cards)) window.__cards[card.dataset.visit] = Date.now();
  }
}).observe(document, { childList: true, subtree: true });
"""


def main() -> None:
    subprocess.run(["node", "build.mjs"], cwd=ROOT / "staff-app", check=True)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "staff_app" / "staff_app_backend.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        backend = Backend(json.loads(process.stdout.readline())["url"])
        backend.reset()
        backend.staff("bench@example.com")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            load = first_load(browser, backend)
            latencies = decision_to_card(browser, backend)
            browser.close()
    finally:
        process.terminate()
    report(load, latencies)


def first_load(browser, backend) -> dict:
    page = browser.new_context().new_page()
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(backend.url)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.wait_for_load_state("networkidle")
    served = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in responses)
    bodies = {r.url.rsplit("/", 1)[-1] or "index.html": r.response().body() for r in responses}
    compressed = sum(len(gzip.compress(body, 6)) for body in bodies.values())
    page.context.close()
    return {"requests": len(responses), "served_bytes": served, "gzip_bytes": compressed, "files": sorted(bodies)}


def decision_to_card(browser, backend) -> list[float]:
    page = browser.new_context().new_page()
    page.add_init_script(OBSERVER)
    sign_in(page, backend, "bench@example.com")
    register_by_file(page, "Maria Silva", astronaut_photo())
    page.get_by_role("link", name="Arrivals").click()
    page.get_by_role("status").filter(has_text="Live").wait_for()
    latencies = []
    for _ in range(ARRIVALS):
        decided = arrival(backend, "Maria Silva", new_visit=True)
        page.locator(f'li[data-visit="{decided["visit_id"]}"]').wait_for()
        shown_ms = page.evaluate(f"window.__cards[{json.dumps(decided['visit_id'])}]")
        latencies.append(shown_ms / 1000 - decided["decided_at"])
        time.sleep(0.2)  # the tablet settles (its catch-up call) before the next customer
    page.context.close()
    return latencies


def report(load: dict, latencies: list[float]) -> None:
    ms = sorted(latency * 1000 for latency in latencies)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    text = "\n".join(
        [
            "# Staff app",
            "",
            f"Decision -> card on a tablet's screen, {len(ms)} arrivals: median {statistics.median(ms):.0f} ms, "
            f"p90 {p90:.0f} ms, max {ms[-1]:.0f} ms (target: under 2000 ms).",
            "",
            f"First load (sign-in screen): {load['requests']} requests, "
            f"{load['served_bytes'] / 1024:.1f} KiB as served uncompressed, "
            f"{load['gzip_bytes'] / 1024:.1f} KiB gzip-compressed as CloudFront serves them "
            f"({', '.join(load['files'])}).",
            "",
        ]
    )
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "staff_app.md").write_text(text)


if __name__ == "__main__":
    main()
