#!/usr/bin/env python3
"""Opens the explorer in headless Chromium and checks what the room sees during a run of stage 03.

- each field of the form has a name of its own for a screen reader, whatever the stage;
- the time axis writes no label past the canvas's right edge, where it would be cut off;
- a bad value is refused on the page with the demo's own error line;
- a run of stage 03 at the page's defaults (40 tasks of sleep:100ms, 4 workers, a queue of 4,
  block when full) draws a lane per worker and the submitter's, every task, the queue's gauge
  and depth (which fills up), and counts 40 completed tasks, on the page and in its counters;
- the canvas really has the tasks' colour in it, and the run ends with the command line and a
  trace to download;
- for a screen reader, the canvas is an image whose name says the run and, at its end, its
  counts; and the counters, which change many times a second, are in no live region (the status
  line says when a run starts and ends);
- side by side, the same job under block and under caller-runs is drawn on one time axis, and
  the submitter runs tasks itself under caller-runs;
- a long run cancelled from its page says so at its end, and gives no share of the ideal time,
  which a run stopped early says nothing about;
- a long run whose page goes away (the tab navigates elsewhere) ends, and its threads with it
  (counted in /proc, on Linux);
- after a run of stage 04 whose task 3 panics, the canvas draws a task, a panic, the submitter's
  wait, a dead worker and the queue's depth in the legend's own colours, and each colour of the
  legend stands out from the white panel by at least 3:1 (WCAG's minimum for graphics), as a
  projector needs; the legend keeps each colour beside its words at a projector's width and
  narrower.

It starts the explorer binary given with --explorer (default: target/debug/explorer, built by
`cargo build -p explorer`) on a free port of 127.0.0.1, and drives Chromium through ChromeDriver's
WebDriver protocol (Debian's chromium and chromium-driver packages), with the standard library
only. It saves a screenshot of the page after the run to target/explorer-screenshot.png, or to
the file given with --screenshot (docs/explorer/screenshot.png is the one the README shows).

Usage: python3 check_browser.py [--explorer BINARY] [--screenshot FILE]. Exits 1 when a check
fails.
"""

import argparse
import base64
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The WebDriver client that the book's check uses too, in docs/.
sys.path.insert(0, os.path.dirname(HERE))
from webdriver import missing_browser, report, session  # noqa: E402
TASKS = 40
WORKERS = 4
WINDOW_SIZE = "1000,800"

# The task colour of the page's canvas (COLORS.task in explorer.js), counted in its pixels.
COUNT_TASK_PIXELS = """
const canvas = document.querySelector('canvas[data-role=lanes]');
if (!canvas) return 0;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let count = 0;
for (let i = 0; i < data.length; i += 4) {
  if (data[i] === 0x2f && data[i + 1] === 0x6f && data[i + 2] === 0xdb) count += 1;
}
return count;
"""


# For each swatch of the legend, whether the words that follow it start on the swatch's line: a
# swatch left at the end of one line names the words of the next, the wrong colour.
LEGEND_SPLIT = """
const split = [];
for (const swatch of document.querySelectorAll('.legend .swatch')) {
  const words = swatch.nextSibling;
  const first = words.textContent.search(/\\S/);
  const range = document.createRange();
  range.setStart(words, first);
  range.setEnd(words, first + 1);
  const [box, char] = [swatch.getBoundingClientRect(), range.getBoundingClientRect()];
  if (char.top >= box.bottom || char.bottom <= box.top) split.push(words.textContent.trim());
}
return split;
"""

# Each swatch of the legend: its class, its colour as [r, g, b], and how many of the canvas's
# pixels have exactly that colour.
LEGEND_COLOURS = """
const canvas = document.querySelector('canvas[data-role=lanes]');
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
const counts = new Map();
for (let i = 0; i < data.length; i += 4) {
  if (data[i + 3] !== 255) continue;
  const key = `${data[i]},${data[i + 1]},${data[i + 2]}`;
  counts.set(key, (counts.get(key) || 0) + 1);
}
return [...document.querySelectorAll('.legend .swatch')].map((swatch) => {
  const rgb = getComputedStyle(swatch).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number);
  return [swatch.classList[1], rgb, counts.get(rgb.join(',')) || 0];
});
"""

# What a run of stage 04 with a panicking task draws, by the legend's names.
DRAWN_BY_STAGE_04 = ["task", "panic", "wait", "dead", "depth"]

# The widths, in CSS pixels, at which the legend is checked: a projector's 1024 and narrower.
LEGEND_WIDTHS = [1024, 1000, 900, 800, 700, 600]


# What a screen reader is given: the canvas's role and name, and whether any counter is inside a
# live region, which would read out each of its changes.
SCREEN_READER = """
const canvas = document.querySelector('canvas[data-role=lanes]');
const counter = document.querySelector('[data-counter=completed]');
return {
  role: canvas.getAttribute('role'),
  name: canvas.getAttribute('aria-label') || '',
  liveCounters: counter.closest('[aria-live], [role=status], [role=log], [role=alert]') !== null,
};
"""


# The name a screen reader gives each field of the first run's form, by the field's name: each
# says what it sets on its own, without the words beside it ("for", "after").
FIELD_NAMES = {
    "stage": "Stage", "tasks": "Tasks", "kind": "Task", "duration": "Task duration",
    "workers": "Workers", "queue": "Queue", "policy": "When full",
    "timeout": "Timeout when full", "panic_task": "Panicking task",
    "panic_every": "Panic every Nth task",
}

# Shows the fields of stage `arguments[0]`, with the timeout of stage 03's policy.
SHOW_STAGE = """
const form = document.querySelector("[data-run='0']");
form.querySelector('[name=stage]').value = arguments[0];
form.querySelector('[name=policy]').value = 'timeout';
form.dispatchEvent(new Event('change'));
"""


def field_names(webdriver):
    """The name a screen reader gives each field of the first run's form that some stage shows."""
    names = {}
    for stage in ["03", "04", "05"]:
        webdriver.script(SHOW_STAGE, stage)
        for field in FIELD_NAMES:
            element = webdriver.find(f".run-form[data-run='0'] [name={field}]")
            if webdriver.do("GET", f"/element/{element}/displayed"):
                names[field] = webdriver.do("GET", f"/element/{element}/computedlabel")
    return names


def check_field_names(names):
    return [f"the field '{field}' is named {names.get(field)!r} for a screen reader, not "
            f"{name!r}" for field, name in FIELD_NAMES.items() if names.get(field) != name]


# The page's own drawAxis, on a canvas of its own, over a span whose last tick is its end: how
# many pixels of ink the last column of the labels' row has (a label cut off there has some).
AXIS_CUT = """
const [width, height] = [600, 60];
const canvas = document.createElement('canvas');
[canvas.width, canvas.height] = [width, height];
const g = canvas.getContext('2d');
const span = 1e6;
const plot = width - GUTTER - 8;
const x = (us) => GUTTER + (Math.min(us, span) / span) * plot;
drawAxis(g, span, x, height, width);
let ink = 0;
for (let column = width - 8; column < width; column++) {
  const data = g.getImageData(column, 0, 1, AXIS - 4).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink += 1;
}
return ink;
"""


def start_explorer(binary):
    """Starts the explorer on a free port, and returns the process and its address."""
    process = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not found:
        process.kill()
        raise RuntimeError(f"the explorer did not say where it serves: {line!r}")
    return process, found.group(0)


def wait_for(webdriver, condition, seconds):
    deadline = time.monotonic() + seconds
    while True:
        probe = webdriver.script("return window.explorerProbe ? window.explorerProbe() : [];")
        if condition(probe) or time.monotonic() > deadline:
            return probe
        time.sleep(0.1)


def explorer_threads(process):
    """How many threads the explorer has, or None where /proc does not say."""
    try:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def threads_back_to(process, before, seconds=10):
    """The explorer's thread count once it is down to `before` again, or after `seconds`: ended
    threads may take the system a moment to stop counting. None where /proc does not say."""
    deadline = time.monotonic() + seconds
    now = explorer_threads(process)
    while now is not None and now > (before or 0) and time.monotonic() < deadline:
        time.sleep(0.1)
        now = explorer_threads(process)
    return now


def check_compared(runs):
    problems = []
    if len(runs) != 2 or not all(run["ended"] for run in runs):
        return [f"expected two runs side by side, both ended: {runs}"]
    if any(run["tasksDrawn"] != TASKS or run["counters"]["completed"] != TASKS for run in runs):
        problems.append("side by side, not every task of both runs was drawn and completed")
    if runs[0]["axisSpan"] != runs[1]["axisSpan"]:
        problems.append(f"the two runs are not on one time axis: {runs[0]['axisSpan']} and "
                        f"{runs[1]['axisSpan']}")
    if runs[1]["counters"]["ran_in_caller"] < 1:
        problems.append("under caller-runs, the submitter ran no task itself")
    return problems


def check_closed(before, during, after):
    if before is None:
        return []
    if during is None or during < before + WORKERS:
        return [f"the long run did not start its workers: {before} threads, then {during}"]
    if after is None or after > before:
        return [f"a closed page left its run's threads behind: {before} threads before the run, "
                f"{during} during, {after} after"]
    return []


def contrast(rgb, background=(255, 255, 255)):
    """WCAG's contrast ratio of two sRGB colours, from 1 to 21."""
    def luminance(colour):
        linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4
                  for c in colour]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted([luminance(rgb), luminance(background)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def check_legend(split, colours):
    problems = [f"at {width} px wide, the legend's swatch for '{words}' ends a line and its "
                f"words start the next" for width, words in split]
    for name, rgb, pixels in colours:
        if contrast(rgb) < 3:
            problems.append(f"the legend's '{name}' colour {rgb} has a contrast of "
                            f"{contrast(rgb):.2f}:1 on white, under the 3:1 a projector needs")
        if name in DRAWN_BY_STAGE_04 and pixels < 50:
            problems.append(f"after a run of stage 04 with a panic, the canvas has {pixels} "
                            f"pixels of the legend's '{name}' colour {rgb}: it draws another one")
    return problems


def check_screen_reader(seen):
    problems = []
    if seen["role"] != "img" or not seen["name"].startswith("Stage 03"):
        problems.append(f"the canvas is not an image named after its run: role {seen['role']!r}, "
                        f"name {seen['name']!r}")
    elif f"{TASKS} completed" not in seen["name"]:
        problems.append(f"the canvas's name does not give the run's counts: {seen['name']!r}")
    if seen["liveCounters"]:
        problems.append("the counters are inside a live region, which reads out every change")
    return problems


def check_cancelled(timing):
    if "(cancelled: cancelled from the page)" not in timing or "of the ideal" in timing:
        return [f"a run cancelled from its page ends with {timing!r}: not said to be cancelled, "
                f"or given a share of the ideal time"]
    return []


def check(refused, runs, task_pixels, saw_running):
    problems = []
    if "invalid value '0' for '--tasks <N>': must be at least 1" not in refused:
        problems.append(f"a bad --tasks was not refused with the demo's error line: {refused!r}")
    if not saw_running:
        problems.append("no task was seen running before the run ended: nothing was live")
    if len(runs) != 1:
        return problems + [f"expected one run on the page, found {len(runs)}"]
    run = runs[0]
    if not run["ended"]:
        problems.append("the run did not end within 30 s")
    if run["stage"] != "03":
        problems.append(f"the run is of stage {run['stage']}, not 03")
    if run["lanes"] != WORKERS + 1 or run["lanesDrawn"] < WORKERS:
        problems.append(f"expected {WORKERS} worker lanes and the submitter's drawn, found "
                        f"{run['lanesDrawn']} drawn of {run['lanes']}")
    if run["tasksDrawn"] != TASKS:
        problems.append(f"{run['tasksDrawn']} tasks drawn, not {TASKS}")
    if not run["gaugeShown"] or run["gaugeMaxDepth"] < 1 or run["maxDepth"] > run["capacity"]:
        problems.append(f"the queue's gauge was not drawn as filling up to its capacity of "
                        f"{run['capacity']}: deepest {run['gaugeMaxDepth']}")
    if run["counters"]["completed"] != TASKS or run["shownCompleted"] != TASKS:
        problems.append(f"the counters show {run['shownCompleted']} completed, not {TASKS}")
    if "--bin 03-crossbeam-bounded" not in (run["command"] or ""):
        problems.append(f"no command line for stage 03: {run['command']!r}")
    if not (run["traceLink"] or "").startswith("blob:"):
        problems.append("no trace to download")
    if task_pixels < 1000:
        problems.append(f"the canvas has only {task_pixels} pixels of the tasks' colour")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--explorer", default=os.path.join(ROOT, "target", "debug", "explorer"))
    parser.add_argument("--screenshot",
                        default=os.path.join(ROOT, "target", "explorer-screenshot.png"))
    args = parser.parse_args()
    if missing_browser():
        print(missing_browser(), file=sys.stderr)
        return 1
    if not os.path.isfile(args.explorer):
        print(f"error: no explorer at {args.explorer} (cargo build -p explorer)", file=sys.stderr)
        return 1

    explorer, url = start_explorer(args.explorer)
    try:
        with session(WINDOW_SIZE, "explorer-check-") as webdriver:
            webdriver.do("POST", "/url", {"url": url})
            names = field_names(webdriver)
            axis_cut = webdriver.script(AXIS_CUT)
            webdriver.do("POST", "/url", {"url": url})

            # A bad value: refused by the server, with the line the demo prints.
            webdriver.type_into(".run-form[data-run='0'] [name=tasks]", "0")
            webdriver.click("#run")
            deadline = time.monotonic() + 10
            refused = ""
            while not refused and time.monotonic() < deadline:
                refused = webdriver.script("const e = document.getElementById('error'); "
                                           "return e.hidden ? '' : e.textContent;")
                time.sleep(0.1)

            # The run itself, at the page's defaults.
            webdriver.type_into(".run-form[data-run='0'] [name=tasks]", str(TASKS))
            webdriver.click("#run")
            running = wait_for(webdriver, lambda runs: any(
                0 < r["tasksDrawn"] and not r["ended"] for r in runs), 10)
            saw_running = any(0 < r["tasksDrawn"] and not r["ended"] for r in running)
            runs = wait_for(webdriver, lambda runs: runs and all(r["ended"] for r in runs), 30)
            # One more frame, so that the screenshot shows the final drawing.
            time.sleep(0.3)
            runs = webdriver.script("return window.explorerProbe();")
            task_pixels = webdriver.script(COUNT_TASK_PIXELS)
            screen_reader = webdriver.script(SCREEN_READER)
            png = base64.b64decode(webdriver.do("GET", "/screenshot"))
            os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
            with open(args.screenshot, "wb") as f:
                f.write(png)

            # Side by side: the second run is the same job under caller-runs, the page's default.
            webdriver.click("#compare")
            webdriver.click("#run")
            compared = wait_for(webdriver, lambda runs: len(runs) == 2 and all(
                r["ended"] for r in runs), 30)

            # A long run (400 tasks of 100 ms on 4 workers: 10 s), cancelled from the page.
            webdriver.click("#compare")
            before = explorer_threads(explorer)
            webdriver.type_into(".run-form[data-run='0'] [name=tasks]", "400")
            webdriver.click("#run")
            wait_for(webdriver, lambda runs: any(r["tasksDrawn"] > 0 for r in runs), 10)
            webdriver.click("#cancel")
            wait_for(webdriver, lambda runs: runs and all(r["ended"] for r in runs), 10)
            timing = webdriver.script("return document.querySelector('.timing').textContent;")
            threads_back_to(explorer, before)

            # The same long run, and then the tab goes elsewhere.
            webdriver.click("#run")
            wait_for(webdriver, lambda runs: any(r["tasksDrawn"] > 0 for r in runs), 10)
            during = explorer_threads(explorer)
            webdriver.do("POST", "/url", {"url": "about:blank"})
            after = threads_back_to(explorer, before)

            # The legend: its colours as stage 04 draws them, and its lines at a projector's width
            # and narrower, on a page long enough to scroll.
            webdriver.do("POST", "/url", {"url": url})
            webdriver.script(SHOW_STAGE, "04")
            webdriver.type_into(".run-form[data-run='0'] [name=panic_task]", "3")
            webdriver.click("#run")
            wait_for(webdriver, lambda runs: runs and all(r["ended"] for r in runs), 30)
            time.sleep(0.3)
            colours = webdriver.script(LEGEND_COLOURS)
            split = []
            for width in LEGEND_WIDTHS:
                webdriver.do("POST", "/window/rect", {"width": width, "height": 800})
                split += [(width, words) for words in webdriver.script(LEGEND_SPLIT)]
    finally:
        explorer.terminate()
        explorer.wait(timeout=30)

    problems = check_field_names(names)
    if axis_cut:
        problems.append(f"the time axis writes a label past the canvas's right edge ({axis_cut} "
                        f"pixels of it in the last 8 columns): it is cut off")
    problems += check(refused, runs, task_pixels, saw_running)
    problems += check_screen_reader(screen_reader)
    problems += check_compared(compared)
    problems += check_cancelled(timing)
    problems += check_closed(before, during, after)
    problems += check_legend(split, colours)
    run = runs[0] if runs else {}
    return report(
        "the explorer in the browser", problems,
        f"explorer in Chromium: stage {run.get('stage')}, {run.get('tasksDrawn')} tasks drawn "
        f"on {run.get('lanesDrawn')} of {run.get('lanes')} lanes, queue at most "
        f"{run.get('gaugeMaxDepth')} of {run.get('capacity')}, "
        f"{run.get('shownCompleted')} completed in {run.get('elapsedMs') or 0:.0f} ms; side by "
        f"side, {sum(r['counters']['ran_in_caller'] for r in compared)} ran in the caller; "
        f"threads {before} before a closed page's run, {during} during, {after} after; "
        f"{len(problems)} problems; screenshot {os.path.relpath(args.screenshot)}")


if __name__ == "__main__":
    sys.exit(main())
