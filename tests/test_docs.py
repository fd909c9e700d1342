"""The README stays a front door, and the docs' pictures stay in step with the files.

Screenshots are remade by docs/make_screenshots.py; a renamed or deleted PNG
must not leave a broken image in the README or the guide, nor an unused
PNG behind.
"""

import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)")


def markdown_files():
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def test_readme_is_at_most_300_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, len(lines)


def test_every_image_in_the_docs_exists_and_every_png_is_shown():
    shown = set()
    missing = []
    for page in markdown_files():
        for target in IMAGE.findall(page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            if path.is_file():
                shown.add(path)
            else:
                missing.append("%s: %s" % (page.relative_to(REPO), target))
    assert not missing, missing
    unused = sorted(str(p.relative_to(REPO)) for p in DOCS.rglob("*.png") if p.resolve() not in shown)
    assert not unused, unused
