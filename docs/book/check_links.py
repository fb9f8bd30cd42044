#!/usr/bin/env python3
"""Checks the built book (docs/book/book) the way a reader would meet it, without a browser.

- Every relative link and image (href and src of every page) resolves to a file of the built book,
  and a link to a page's #fragment finds an element with that id on the page. A link to a folder
  whose README is a chapter names the README: the book has no page for the folder itself.
- No include was left unexpanded: mdBook logs a missing {{#include}} file and carries on, so the
  directive would otherwise reach the reader as text.
- Every heading of each included README reaches its chapter: an include by anchor whose marker
  was renamed or lost would otherwise leave a part of the README out, silently.
- Every stage's chapter has what the book promises for it: each .rs file of the stage's src/ and
  its output.txt included whole, and each of its timelines (docs/charts/timeline-NN*.svg) shown.

Usage: python3 check_links.py [BOOK_DIR] (default: the book/ folder beside this script).
Exits 1 and lists every problem when there is any.
"""

import html.parser
import os
import re
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

# Chapter of the built book -> the README whose every heading it must show.
INCLUDED = {
    "README.html": "README.md",
    "01-unbounded-spawn/README.html": "01-unbounded-spawn/README.md",
    "02-mutex-receiver-pool/README.html": "02-mutex-receiver-pool/README.md",
    "03-crossbeam-bounded/README.html": "03-crossbeam-bounded/README.md",
    "04-results/README.html": "04-results/README.md",
    "05-panic-resilient/README.html": "05-panic-resilient/README.md",
    "06-sizing/README.html": "06-sizing/README.md",
    "docs/README.html": "docs/README.md",
    "docs/claims.html": "docs/claims.md",
    "docs/book/README.html": "docs/book/README.md",
    "docs/explorer/README.html": "docs/explorer/README.md",
    "docs/reference.html": "docs/reference.md",
    "docs/workshop.html": "docs/workshop.md",
    "docs/workshop/README.html": "docs/workshop/README.md",
    "docs/workshop/block-1.html": "docs/workshop/block-1.md",
    "docs/workshop/block-2.html": "docs/workshop/block-2.md",
    "docs/workshop/block-3.html": "docs/workshop/block-3.md",
    "docs/workshop/block-4.html": "docs/workshop/block-4.md",
}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []  # (tag, attribute, value)
        self.ids = set()
        self.headings = []
        self._heading = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append((tag, name, value))
            if name in ("id", "name") and value:
                self.ids.add(value)
        if tag in ("h1", "h2", "h3", "h4"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4") and self._heading is not None:
            self.headings.append(plain("".join(self._heading)))
            self._heading = None

    def handle_data(self, data):
        if self._heading is not None:
            self._heading.append(data)


def plain(text):
    """Headings as compared: mdBook's smart punctuation curls the quotes that the README types."""
    for curly, straight in (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2026", "...")):
        text = text.replace(curly, straight)
    return " ".join(text.split())


def parse(path):
    page = Page()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    page.feed(text)
    return page, text


def markdown_headings(path):
    """The text of each ATX heading outside code fences, as a reader sees it."""
    headings, fence = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            m = re.match(r"^(`{3,}|~{3,})", stripped)
            if m:
                if fence is None:
                    fence = m.group(1)
                elif stripped.startswith(fence):
                    fence = None
                continue
            if fence is None:
                m = re.match(r"^#{1,4}\s+(.*?)\s*#*\s*$", line)
                if m:
                    text = m.group(1).replace("`", "")
                    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
                    headings.append(plain(text))
    return headings


def stage_pieces(pages):
    """What each stage's chapter promises: every source file of the stage's src/, included whole
    in its chapter's Markdown; its recorded output.txt; and each of its timelines in docs/charts/
    (timeline-NN*.svg), shown as a picture on the chapter's page."""
    problems = []
    charts = sorted(os.listdir(os.path.join(REPO, "docs", "charts")))
    for stage in sorted(d for d in os.listdir(REPO) if re.match(r"^0\d-", d)):
        chapter = f"{stage}/README.html"
        source = os.path.join(HERE, "src", stage, "README.md")
        if not os.path.isfile(source) or chapter not in pages:
            problems.append(f"{chapter}: stage {stage} has no chapter")
            continue
        with open(source, encoding="utf-8") as f:
            markdown = f.read()
        wanted = [
            os.path.relpath(os.path.join(root, name), REPO).replace(os.sep, "/")
            for root, _, files in os.walk(os.path.join(REPO, stage, "src"))
            for name in files
            if name.endswith(".rs")
        ]
        for path in sorted(wanted) + [f"{stage}/output.txt"]:
            if "{{#include ../../../../%s}}" % path not in markdown:
                problems.append(f"{chapter}: {path} is not included whole in its chapter")
        shown = {
            os.path.basename(value)
            for tag, attr, value in pages[chapter][0].links
            if tag == "img" and attr == "src"
        }
        for chart in charts:
            if chart.startswith(f"timeline-{stage[:2]}") and chart not in shown:
                problems.append(f"{chapter}: the timeline docs/charts/{chart} is not shown")
    return problems


def main():
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(__doc__.strip())
        return 0
    book = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "book"))
    if not os.path.isfile(os.path.join(book, "index.html")):
        print(f"error: no built book in {book} (run mdbook build first)", file=sys.stderr)
        return 1

    pages, problems, checked = {}, [], 0
    for root, _, files in os.walk(book):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(root, name)
                pages[os.path.relpath(path, book)] = parse(path)

    for rel, (page, text) in sorted(pages.items()):
        if "{{#" in text:
            line = next(l for l in text.splitlines() if "{{#" in l).strip()
            problems.append(f"{rel}: an mdBook directive was left unexpanded: {line[:120]}")
        for tag, attr, value in page.links:
            if tag == "base":
                continue
            url = urllib.parse.urlsplit(value)
            if url.scheme or url.netloc or value.startswith(("mailto:", "data:", "javascript:")):
                continue
            checked += 1
            target = rel
            if url.path:
                target = os.path.normpath(
                    os.path.join(os.path.dirname(rel), urllib.parse.unquote(url.path))
                )
                full = os.path.join(book, target)
                if target.startswith(".."):
                    problems.append(f"{rel}: <{tag} {attr}={value!r}> leaves the book")
                    continue
                if os.path.isdir(full):
                    # A folder whose README is a chapter: GitHub shows that README under the
                    # folder's files, the book only a folder with no page in it. Link the README.
                    if os.path.isfile(os.path.join(full, "README.html")):
                        problems.append(
                            f"{rel}: <{tag} {attr}={value!r}> is a folder whose README is a "
                            f"chapter: link {os.path.join(url.path, 'README.md')!r} instead"
                        )
                    # Any other folder is one of sources, as GitHub shows one: a listing on a
                    # local server.
                    continue
                if not os.path.isfile(full):
                    problems.append(f"{rel}: <{tag} {attr}={value!r}> is missing ({target})")
                    continue
            fragment = urllib.parse.unquote(url.fragment)
            if fragment and target.endswith(".html") and target != "print.html":
                if target in pages and fragment not in pages[target][0].ids:
                    problems.append(f"{rel}: <{tag} {attr}={value!r}>: no #{fragment} on {target}")

    for chapter, source in INCLUDED.items():
        if chapter not in pages:
            problems.append(f"{chapter}: the chapter for {source} was not built")
            continue
        shown = set(pages[chapter][0].headings)
        for heading in markdown_headings(os.path.join(REPO, source)):
            if heading not in shown:
                problems.append(f"{chapter}: the heading {heading!r} of {source} is not shown")

    problems.extend(stage_pieces(pages))

    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"book links: {len(pages)} pages, {checked} relative links and images, "
          f"{len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
