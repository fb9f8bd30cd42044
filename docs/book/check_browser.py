#!/usr/bin/env python3
"""Opens the built book in headless Chromium and checks what a reader sees on stage 03's page.

- the chapter's title, "Stage 03: a crossbeam pool with a bounded queue";
- the pool's code, with crossbeam_channel::bounded in it;
- every picture on the page loaded (complete, naturalWidth above 0), the timeline among them;
- the sidebar, visible, listing the six stages in order.

The book is served from 127.0.0.1 by a server in this process, and Chromium is driven through
ChromeDriver's WebDriver protocol (Debian's chromium and chromium-driver packages), with the
standard library only. It saves a screenshot of the page to book/screenshot-stage03.png, or to
the file given with --screenshot.

Usage: python3 check_browser.py [--screenshot FILE]. Exits 1 when a check fails.
"""

import base64
import functools
import http.server
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The WebDriver client that the explorer's check uses too, in docs/.
sys.path.insert(0, os.path.dirname(HERE))
from webdriver import missing_browser, report, session  # noqa: E402
BOOK = os.path.join(HERE, "book")
PAGE = "03-crossbeam-bounded/README.html"
TITLE = "Stage 03: a crossbeam pool with a bounded queue"
STAGES = [
    "Stage 01: one thread per task",
    "Stage 02: a fixed pool sharing Arc<Mutex<Receiver>>",
    "Stage 03: a crossbeam pool with a bounded queue",
    "Stage 04: results",
    "Stage 05: a pool that survives panics",
    "Stage 06: how many workers?",
]
# Wide enough that mdBook shows its sidebar instead of folding it away.
WINDOW_SIZE = "1280,1000"

# Scrolls the page so that stage 03's timeline sits at the bottom of the window, with what comes
# before it (the end of the code, the recorded output) above it.
SHOW_CODE_AND_TIMELINE = """
const timeline = document.querySelector('main img[src*="timeline-03"]');
if (timeline) timeline.scrollIntoView({block: 'end'});
"""

# What the reader sees, read in the page once it has loaded.
PROBE = """
const text = (e) => e.innerText.replace(/\\s+/g, ' ').trim();
const sidebar = document.querySelector('#mdbook-sidebar');
const main = document.querySelector('main');
return {
  readyState: document.readyState,
  title: main.querySelector('h1') ? text(main.querySelector('h1')) : null,
  code: Array.from(main.querySelectorAll('pre code')).map((e) => e.textContent),
  images: Array.from(main.querySelectorAll('img')).map((e) => ({
    src: e.getAttribute('src'), complete: e.complete, naturalWidth: e.naturalWidth})),
  sidebarVisible: !!sidebar && sidebar.getBoundingClientRect().width > 0
    && getComputedStyle(sidebar).display !== 'none',
  chapters: sidebar ? Array.from(sidebar.querySelectorAll('ol.chapter li.chapter-item > span > a, '
      + 'ol.chapter li.chapter-item > a, ol.chapter li.chapter-item > .chapter-link-wrapper > a'))
    .map(text) : [],
};
"""


def serve(directory):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check(seen):
    problems = []
    if seen["title"] != TITLE:
        problems.append(f"the chapter's title is {seen['title']!r}, not {TITLE!r}")
    if not any("crossbeam_channel::bounded" in code for code in seen["code"]):
        problems.append("no code on the page shows crossbeam_channel::bounded")
    timelines = [i for i in seen["images"] if "timeline-03" in (i["src"] or "")]
    if not timelines:
        problems.append("the page shows no stage 03 timeline")
    for image in seen["images"]:
        if not image["complete"] or image["naturalWidth"] <= 0:
            problems.append(f"the picture {image['src']} did not load (broken image)")
    if not seen["sidebarVisible"]:
        problems.append("the sidebar is not visible")
    stages = [c for c in seen["chapters"] if c.split(" ", 1)[-1].startswith("Stage ")]
    stages = [c.split(" ", 1)[1] if c[0].isdigit() else c for c in stages]
    if stages != STAGES:
        problems.append(f"the sidebar lists the stages as {stages}, not {STAGES}")
    return problems


def main():
    screenshot = os.path.join(BOOK, "screenshot-stage03.png")
    if sys.argv[1:2] == ["--screenshot"] and len(sys.argv) == 3:
        screenshot = os.path.abspath(sys.argv[2])
    elif len(sys.argv) > 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    if missing_browser():
        print(missing_browser(), file=sys.stderr)
        return 1
    if not os.path.isfile(os.path.join(BOOK, PAGE)):
        print(f"error: {PAGE} is not built (run mdbook build docs/book first)", file=sys.stderr)
        return 1

    server = serve(BOOK)
    try:
        with session(WINDOW_SIZE, "book-check-") as browser:
            url = f"http://127.0.0.1:{server.server_address[1]}/{PAGE}"
            browser.do("POST", "/url", {"url": url})
            deadline = time.monotonic() + 30
            while True:
                seen = browser.script(PROBE)
                loading = any(not i["complete"] for i in seen["images"])
                if seen["readyState"] == "complete" and not loading or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            # The picture a reader remembers: the end of the pool's code, the run's output and
            # its timeline, in one screen.
            browser.script(SHOW_CODE_AND_TIMELINE)
            png = base64.b64decode(browser.do("GET", "/screenshot"))
            os.makedirs(os.path.dirname(screenshot), exist_ok=True)
            with open(screenshot, "wb") as f:
                f.write(png)
    finally:
        server.shutdown()

    problems = check(seen)
    loaded = sum(1 for i in seen["images"] if i["complete"] and i["naturalWidth"] > 0)
    return report("stage 03 in the browser", problems,
                  f"book in Chromium: {url.rsplit('/', 2)[-2]}: title {seen['title']!r}, "
                  f"{len(seen['code'])} code blocks, {loaded} of {len(seen['images'])} pictures "
                  f"loaded, {len(seen['chapters'])} chapters in the sidebar; "
                  f"{len(problems)} problems; screenshot {os.path.relpath(screenshot)}")


if __name__ == "__main__":
    sys.exit(main())
