"""README.md stays a README, and the docs' relative links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README_MAX_CHARS = 10_000

# Fenced blocks and inline code hold examples, not links.
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INDENTED = re.compile(r"^(?: {4}|\t).*$", re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
# [text](target "title") and ![alt](target); reference definitions `[id]: target`.
_INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def relative_links(text: str) -> list[str]:
    """Link targets that point into the repository (not URLs, not in-page anchors)."""
    prose = _CODE_SPAN.sub("", _INDENTED.sub("", _FENCE.sub("", text)))
    targets = _INLINE.findall(prose) + _REFERENCE.findall(prose)
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:|^#|^//", t, re.IGNORECASE)]


def test_readme_is_under_10000_characters() -> None:
    size = len((ROOT / "README.md").read_text(encoding="utf-8"))
    assert size < README_MAX_CHARS, (
        f"README.md has {size} characters (limit {README_MAX_CHARS}): move reference material to docs/"
    )


def test_every_relative_link_points_to_an_existing_file() -> None:
    broken: list[str] = []
    for doc in markdown_files():
        for target in relative_links(doc.read_text(encoding="utf-8")):
            path = target.split("#", 1)[0].split("?", 1)[0]
            if not (doc.parent / path).exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == [], "broken relative links:\n" + "\n".join(broken)


def test_link_finder_skips_code_and_urls() -> None:
    text = (
        'See [a](docs/a.md#part), ![chart](img.png "Chart") and [site](https://example.com).\n'
        "[ref]: other.md\n"
        "[top](#top) `[not](code.md)`\n"
        "```\n[not](fenced.md)\n```\n"
        "    [not](indented.md)\n"
    )
    assert relative_links(text) == ["docs/a.md#part", "img.png", "other.md"]
