"""A run found by its name without reading every summary: the run folder's name holds it.

Every run folder densexp makes is named by ``runstore.new_run_id``:
``<YYYYmmdd>-<HHMMSS>-<slug>-<6 hex>``, the slug being ``name_slug(run.name)`` (the rule is
unchanged since the first commit), and nothing rewrites a run's name afterwards
(``update_summary`` is never given one; resume, detach and the GPU queue make the id from
the same config's name). So on an index without every folder's row (deleted, a first use,
a schema change), the only folders that can hold a name are:

- folders of that shape whose slug is the name's slug (a name with characters the slug
  drops, or longer than 40, has the same slug as its folder: the same function made both);
- folders of any other shape: copied in or renamed by hand (``cp -r run best-run``), or made
  through the hidden ``run --run-id``. Their name says nothing, so every one is read.

Only these are read (newest first, stopping once the newest of that name is known), so a
typo is answered "no run matches" after one listing of the folders. Slugs are compared
with non-ASCII characters folded to ``-`` after NFC: a filesystem that stores names
decomposed (macOS) or another Python's idea of which letters are alphanumeric cannot hide
a folder. What it assumes: a folder renamed by hand to another id-shaped name of another
run's slug, or a summary.json whose ``name`` is edited in place, is found by that name only
once the index has its row (``densexp runs --all`` or the runs screen builds it); the warm
index, which never re-reads a finished run for a name lookup, has the same limit for the
edited name.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from densexp_tui.core.folderlisting import FolderListing, list_folders

if TYPE_CHECKING:
    from densexp_tui.core.runindex import RunIndex
    from densexp_tui.core.runstore import RunSummary

_STAMP = "[0-9]{8}-[0-9]{6}-"
_SUFFIX = "-[0-9a-f]{6}"
RUN_ID_SHAPE = re.compile(f"{_STAMP}(.+){_SUFFIX}")
NAME_SLUG_LENGTH = 40
# A lookup that finds at most this many folders without rows reads them all (~0.2 s), so the
# index is complete again; past it (a cold index) only the folders that can hold the name.
READ_ALL_UP_TO = 1000


class ReadProgress(Protocol):
    """How far a lookup that reads many summaries is (cli_runs.IndexProgress on stderr)."""

    def __call__(self, read: int, to_read: int) -> None: ...

    def finish(self) -> None:
        """The lookup is over, whether or not it read all it planned to."""


def name_slug(name: str) -> str:
    """The part of a run id that comes from the run's name."""
    return "".join(c if c.isalnum() or c in "-_." else "-"
                   for c in name)[:NAME_SLUG_LENGTH] or "run"


def comparable_slug(slug: str) -> str:
    """A slug as folder names are compared: NFC, non-ASCII characters as ``-``."""
    if slug.isascii():
        return slug
    return "".join(c if c.isascii() else "-" for c in unicodedata.normalize("NFC", slug))


def folder_could_hold(folder: str, slug: str) -> bool:
    """Whether the run folder ``folder`` can hold a run whose name has this comparable slug:
    an id-shaped folder only when its slug is that one; any other folder always."""
    shape = RUN_ID_SHAPE.fullmatch(folder)
    return shape is None or comparable_slug(shape.group(1)) == slug


def folders_for_name(name: str) -> Callable[[list[str]], list[str]]:
    """What a name lookup reads of the folders without rows: all of a few, else those
    that can hold ``name`` (in the order given)."""
    slug = comparable_slug(name_slug(name))

    def choose(folders: list[str]) -> list[str]:
        if len(folders) <= READ_ALL_UP_TO:
            return folders
        return [folder for folder in _maybe_holding(folders, slug)
                if folder_could_hold(folder, slug)]
    return choose


def _maybe_holding(folders: list[str], slug: str) -> list[str]:
    """A superset of the folders that can hold a name of this slug (those of that slug, of
    another shape, or not ASCII), in one pass of a regular expression over all the names
    (in C, line after line: a Python test per name took 0.25-0.35 s of a 100,000-run lookup
    under load, this 40-75 ms). The first branch consumes an ASCII id-shaped line of
    another slug; every other line is captured by the second."""
    text = "\n".join(folders) + "\n"
    if text.count("\n") != len(folders):  # a folder name with a newline in it
        return folders
    other_slug = (f"{_STAMP}(?!{re.escape(slug)}{_SUFFIX}\n)"
                  f"[\x00-\x09\x0b-\x7f]+{_SUFFIX}\n")
    return list(filter(None, re.findall(f"{other_slug}|([^\n]*)\n", text)))


def folders_starting_with(root: Path, prefix: str,
                          listing: FolderListing | None = None) -> list[str]:
    """The run folders whose name starts with ``prefix``, newest first: from ``listing``
    (the lookup's one listing, core/folderlisting.py) or names only (``os.listdir``, 2.5x
    faster than a scandir at 100,000), a type check for the few."""
    if listing is None:
        listing = list_folders(root)
    if listing is None:
        return []
    return sorted((name for name in listing.starting_with(prefix)
                   if os.path.isdir(os.path.join(root, name))), reverse=True)


def find_by_name(index: RunIndex, name: str, read: Callable[[str], RunSummary],
                 progress: ReadProgress | None = None,
                 listing: FolderListing | None = None) -> RunSummary | None:
    """The newest run named ``name``, or None. The folders without rows that can hold it
    get their rows, newest first, until a row of that name is newer than every one left;
    then each row of that name is confirmed by ``read`` (its own summary.json). A
    ``listing`` the caller already made is the one the index compares its rows with."""
    index.update(full=False, progress=progress, choose=folders_for_name(name),
                 until=lambda unread: _named_newer(index, name, unread), listing=listing)
    for run_id in index.dirnames_where("name = ?", [name]):
        summary = read(run_id)
        if summary.name == name:  # the row is a cache: the file has the last word
            return summary
    return None


def _named_newer(index: RunIndex, name: str, unread: str | None) -> bool:
    """Whether a row named ``name`` is newer than the folder ``unread``."""
    named = index.dirnames_where("name = ?", [name])
    return bool(named) and (unread is None or named[0] > unread)
