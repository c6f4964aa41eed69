"""Splitting a Markdown file into its YAML front matter and its body.

Kept apart from YAML parsing so the two failure modes get distinct messages: a
missing ``---`` fence is a layout mistake, a YAML error is a syntax mistake.
"""

from __future__ import annotations

_FENCE = "---"


class FrontMatterError(ValueError):
    """The file does not start with a ``---`` fenced block."""


def split_front_matter(text: str) -> tuple[str, str]:
    """Return ``(yaml_text, body)`` for a file whose first line is ``---``.

    The front matter ends at the next line that is exactly ``---`` (trailing
    spaces and Windows line endings allowed).  The body is returned unstripped.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != _FENCE:
        raise FrontMatterError("missing: the file must start with a '---' line")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == _FENCE:
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    raise FrontMatterError("not closed: add a '---' line after the fields")
