"""Headless Chromium driven through ChromeDriver's WebDriver protocol, with the standard library
only: what the book's and the explorer's browser checks share.

    with webdriver.session(window_size="1280,900", profile_prefix="book-check-") as browser:
        browser.do("POST", "/url", {"url": url})
        seen = browser.script("return document.title;")

Needs Debian's chromium and chromium-driver packages (`apt-get install chromium chromium-driver`);
`missing_browser()` says so when they are not installed.
"""

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# Headless, and quiet on a machine whose only network is the loopback: without the
# background-networking flags, Chromium keeps trying to reach its update and sync hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def free_port():
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_browser():
    """An error message if chromium or chromedriver is not installed, else None."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return None
    return "error: needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)"


class WebDriver:
    """One ChromeDriver on 127.0.0.1, and at most one browser session in it."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None
        # Loopback only: never through a proxy that the environment may name.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return json.load(response)["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.read().decode(errors='replace')}") from e

    def wait_ready(self, deadline):
        while True:
            try:
                if self.call("GET", "/status", timeout=2).get("ready"):
                    return
            except (OSError, RuntimeError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ChromeDriver did not start")
            time.sleep(0.1)

    def start(self, binary, args):
        caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": binary, "args": args}}
        self.session = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})[
            "sessionId"]

    def do(self, method, path, body=None):
        """A command of the current session: `do("POST", "/url", {"url": ...})`."""
        return self.call(method, f"/session/{self.session}{path}", body)

    def script(self, script, *args):
        return self.do("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, selector):
        self.do("POST", f"/element/{self.find(selector)}/click", {})

    def type_into(self, selector, text):
        element = self.find(selector)
        self.do("POST", f"/element/{element}/clear", {})
        self.do("POST", f"/element/{element}/value", {"text": text})

    def find(self, selector):
        """The WebDriver id of the first element that `selector` matches."""
        found = self.do("POST", "/element", {"using": "css selector", "value": selector})
        return next(iter(found.values()))


@contextlib.contextmanager
def session(window_size, profile_prefix):
    """Starts ChromeDriver and a headless Chromium with a fresh profile of its own, yields the
    WebDriver, and stops both and removes the profile however the block ends."""
    port = free_port()
    profile = tempfile.mkdtemp(prefix=profile_prefix)
    chromedriver = subprocess.Popen(
        [shutil.which("chromedriver"), f"--port={port}", "--allowed-ips=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = WebDriver(port)
    try:
        browser.wait_ready(time.monotonic() + 30)
        args = CHROMIUM_ARGS + [f"--window-size={window_size}", f"--user-data-dir={profile}"]
        browser.start(shutil.which("chromium"), args)
        yield browser
        browser.do("DELETE", "")
    finally:
        chromedriver.terminate()
        chromedriver.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


def report(what, problems, summary):
    """Prints each problem as an error about `what`, then the one-line summary; returns the exit
    status: 1 if there was a problem."""
    for problem in problems:
        print(f"error: {what}: {problem}", file=sys.stderr)
    print(summary)
    return 1 if problems else 0
