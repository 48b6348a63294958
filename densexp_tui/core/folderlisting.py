"""One listing of the runs folder, shared by the steps of one lookup on a cold index.

``RunStore.get`` on an index without every folder's row first checks the ref as an id
prefix against the folder names, then looks it up as a name, which adds the new folders'
rows from the folder names again. Each listing of 100,000 folders cost 0.1-0.15 s under
load, and a Python pass over the names (``startswith`` per name, twice) another 0.1 s: so
the lookup lists once, here, and both steps read this one listing; the passes over every
name are ``str.find`` over the names joined by newlines (in C; a multi-line regular
expression was 3x slower, a Python ``startswith`` per name 5x).

Freshness: the runs folder's mtime is taken before the listing, as the index does for its
own listings, so a folder added or removed while the lookup runs leaves the index's names
"not current" and the next lookup lists again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FolderListing:
    """The runs folder's mtime just before it was listed, and its entries that are not
    hidden (runs being created are staged as ``.<id>.creating``; the index has its own
    hidden folder): every one may be a run folder, none is checked to be a directory.
    Nothing changes it once made (the index keeps ``visible`` as the names it last saw)."""

    root_mtime: int | None
    visible: set[str]
    # Every name listed, each between newlines ("\na\nb\n"); "" when a name holds a newline
    # itself (then the passes over the names are made in Python).
    text: str

    def starting_with(self, prefix: str) -> list[str]:
        """The visible names that start with ``prefix`` (any order)."""
        if not self.text or not prefix or "\n" in prefix:
            return [name for name in self.visible if name.startswith(prefix)]
        return [name for name in _lines_starting(self.text, prefix) if name in self.visible]


def list_folders(root: Path) -> FolderListing | None:
    """The runs folder listed once (names only: ``os.listdir``), or None when it cannot be."""
    root_mtime = _mtime_ns(root)
    try:
        names = os.listdir(root)
    except OSError:
        return None
    text = "\n" + "\n".join(names) + "\n"
    if text.count("\n") != len(names) + 1:  # a name with a newline in it
        return FolderListing(root_mtime, {name for name in names
                                          if not name.startswith(".")}, "")
    visible = set(names)
    visible.difference_update(_lines_starting(text, "."))
    return FolderListing(root_mtime, visible, text)


def _lines_starting(text: str, prefix: str) -> list[str]:
    """The lines of ``text`` (which starts and ends with a newline) that start with the
    non-empty ``prefix``: ``str.find`` skips the others in C, only the matches cost Python."""
    found: list[str] = []
    needle = "\n" + prefix
    at = text.find(needle)
    while at != -1:
        end = text.index("\n", at + 1)
        found.append(text[at + 1:end])
        at = text.find(needle, end)
    return found


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
