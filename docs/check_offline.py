"""Fail if a built page would fetch anything from the network when it is opened.

Usage: ``python docs/check_offline.py docs/_build/html`` (``make docs`` runs it).

Looks at what a browser loads by itself: in every HTML file, the ``src`` of scripts, images,
frames and media, ``srcset``, the ``href`` of ``<link>`` elements that load something
(stylesheets, icons, preloads, manifests) and ``url(...)``/``@import`` in inline styles; in
every CSS file, ``url(...)`` and ``@import``. Links a reader clicks (``<a href>``) are allowed.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.I)
# <link rel=...> values that make the browser fetch the target
FETCHING_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "prefetch",
                 "modulepreload", "manifest", "dns-prefetch", "preconnect", "mask-icon"}
SOURCE_ATTRIBUTES = {"script": ["src"], "img": ["src", "srcset"], "iframe": ["src"],
                     "source": ["src", "srcset"], "video": ["src", "poster"], "audio": ["src"],
                     "embed": ["src"], "object": ["data"], "track": ["src"], "input": ["src"]}


def css_remote(text):
    """Remote addresses that CSS text loads."""
    return [url for match in CSS_URL.finditer(text) for url in match.groups()
            if url and REMOTE.match(url)]


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.remote = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        urls = []
        for name in SOURCE_ATTRIBUTES.get(tag, []):
            value = attrs.get(name) or ""
            urls += [part.split()[0] for part in value.split(",") if part.strip()] \
                if name == "srcset" else [value]
        if tag == "link" and FETCHING_RELS & set((attrs.get("rel") or "").lower().split()):
            urls.append(attrs.get("href") or "")
        self.remote += [url for url in urls if REMOTE.match(url)]
        self.remote += css_remote(attrs.get("style") or "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.remote += css_remote(data)


def remote_assets(root):
    """``{file: [remote addresses]}`` for every HTML and CSS file under ``root``."""
    found = {}
    for path in sorted(Path(root).rglob("*")):
        if path.suffix == ".html":
            parser = _Assets()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            urls = parser.remote
        elif path.suffix == ".css":
            urls = css_remote(path.read_text(encoding="utf-8", errors="replace"))
        else:
            continue
        if urls:
            found[str(path.relative_to(root))] = sorted(set(urls))
    return found


def main(argv):
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        print("usage: python docs/check_offline.py BUILT_HTML_DIR (e.g. docs/_build/html)")
        return 2
    root = Path(argv[1])
    pages = sum(1 for _ in root.rglob("*.html"))
    if pages == 0:
        print(f"{root} holds no HTML page: build the site first (make docs).")
        return 2
    found = remote_assets(root)
    for path, urls in found.items():
        print(f"{path}: loads {', '.join(urls)}")
    if found:
        print(f"{len(found)} file(s) load remote assets: serve them from docs/_static instead.")
        return 1
    print(f"{pages} pages checked: no remote asset.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
