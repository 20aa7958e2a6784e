"""The staff app's figures, measured in the real browser against the local runtime (`make local`'s, with its
test routes), through the real pipeline:

- decision -> card: from the match function's publish reaching the arrivals channel (the AppSync Events
  stand-in stamps it; the publish is the match function's last step after deciding to greet and sending the
  email) to the card being on a signed-in tablet's screen (a MutationObserver's timestamp, same clock), over N
  arrivals: median and p90. Beside it, crop -> card: from a face crop stored where the camera puts it (frame
  search, the detection queue, the match function, the channel) to the card;
- first load: the bytes a tablet transfers to show the sign-in screen (as the local runtime serves them, and
  gzip-compressed as CloudFront serves them with Compress: true).

Each arrival is a new customer's first visit: the runtime is reset and the customer registered again through
the API, so the match function's visit cooldown never hides one.

`.venv/bin/python -m bench.staff_app` prints the figures and writes bench/results/staff_app.md.
"""

import base64
import gzip
import json
import statistics
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "staff_app"), str(ROOT / "tests"), str(ROOT / "pi"), str(ROOT)]
from staff_app_kit import Backend, arrival, astronaut_photo, sign_in  # noqa: E402

from local import start_local  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ARRIVALS = 20
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
    with start_local(test_routes=True) as greeter:
        backend = Backend(greeter.url, greeter.aws_url)
        backend.reset()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            load = first_load(browser, backend)
            latencies = decision_to_card(browser, backend, greeter)
            browser.close()
    report(load, latencies)


def register(greeter, token: str, name: str) -> None:
    """A customer registered through the staff API (what the Register screen sends)."""
    body = {
        "name": name,
        "consent": {"given_by": name, "given_at": "2026-12-01T10:00:00+00:00", "wording_version": "bench"},
        "photo": base64.b64encode(astronaut_photo()).decode(),
    }
    request = urllib.request.Request(
        f"{greeter.api_url}/people",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": token, "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1
        assert response.status == 201


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


def decision_to_card(browser, backend, greeter) -> dict[str, list[float]]:
    """The runtime's own staff account on a tablet; each round a new customer walks in."""
    staff = greeter.staff
    if staff["totp_secret"]:
        backend.authenticators[staff["email"]] = staff["totp_secret"]
    page = browser.new_context().new_page()
    page.add_init_script(OBSERVER)
    sign_in(page, backend, staff["email"], staff["password"])
    page.get_by_role("link", name="Arrivals").click()
    page.get_by_role("status").filter(has_text="Live").wait_for()
    token = greeter.id_token()
    latencies: dict[str, list[float]] = {"decision": [], "crop": []}
    for _ in range(ARRIVALS):
        backend.reset()
        register(greeter, token, "Maria Silva")
        greeted = arrival(backend, "Maria Silva")
        page.locator(f'li[data-visit="{greeted["visit_id"]}"]').wait_for()
        shown = page.evaluate(f"window.__cards[{json.dumps(greeted['visit_id'])}]") / 1000
        latencies["decision"].append(shown - greeted["received_at"])
        latencies["crop"].append(shown - greeted["uploaded_at"])
    page.context.close()
    return latencies


def _figures(seconds: list[float]) -> str:
    ms = sorted(latency * 1000 for latency in seconds)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    return f"median {statistics.median(ms):.0f} ms, p90 {p90:.0f} ms, max {ms[-1]:.0f} ms"


def report(load: dict, latencies: dict[str, list[float]]) -> None:
    text = "\n".join(
        [
            "# Staff app",
            "",
            f"Decision (the match function's publish reaching the arrivals channel) -> card on a tablet's screen, "
            f"{len(latencies['decision'])} arrivals: "
            f"{_figures(latencies['decision'])} (target: under 2000 ms).",
            f"Crop stored by the camera -> card (frame search, detection queue, match function, channel): "
            f"{_figures(latencies['crop'])}.",
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
