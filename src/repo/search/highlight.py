"""Snippet markup: backends mark matches with private-use characters, the service renders HTML.

Backends wrap matches in U+E000…U+E001 (the documents strip both from indexed text; they are
printable, so no highlighter trims them at a fragment's edge as it may trim whitespace).
:func:`render` HTML-escapes everything and only then turns the markers into ``<mark>`` and
``</mark>``, so a title like ``<script>`` comes out inert.
"""

from __future__ import annotations

import html

START, END = "\ue000", "\ue001"


def render(snippet: str) -> str:
    """Escape ``snippet`` and turn the markers into ``<mark>``/``</mark>`` (unbalanced ones dropped)."""
    out: list[str] = []
    open_ = False
    buffer: list[str] = []
    for char in snippet:
        if char == START and not open_:
            out.append(html.escape("".join(buffer), quote=False))
            buffer = []
            out.append("<mark>")
            open_ = True
        elif char == END and open_:
            out.append(html.escape("".join(buffer), quote=False))
            buffer = []
            out.append("</mark>")
            open_ = False
        elif char not in (START, END):
            buffer.append(char)
    out.append(html.escape("".join(buffer), quote=False))
    if open_:
        out.append("</mark>")
    return "".join(out).replace("<mark></mark>", "")


def marked(snippet: str) -> bool:
    return START in snippet
