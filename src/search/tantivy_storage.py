"""Where the embedded index lives on disk: the search folder, the generation `CURRENT` names
after a reindex, and setting aside an index of an older schema."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import tantivy

from search.tantivy_schema import analyzers, build_schema

#: In the search folder: the name of the generation searches use, once a reindex made one.
POINTER = "CURRENT"
GENERATIONS = "generations"


def active_folder(root: Path) -> Path:
    """The index searches use: the generation CURRENT names, else the folder itself."""
    try:
        name = (root / POINTER).read_text().strip()
    except FileNotFoundError:
        return root
    return root / GENERATIONS / name


class CurrentPointer:
    """The folder CURRENT names, read again only when CURRENT itself changed: a `stat` per
    search instead of an open and a read (a cached search's largest cost after parsing)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: tuple[int, int, int] | None = None
        self._folder = root

    def folder(self) -> Path:
        try:
            pointer = os.stat(self.root / POINTER)
        except FileNotFoundError:
            return self.root
        seen = (pointer.st_ino, pointer.st_mtime_ns, pointer.st_size)
        if seen != self._seen:
            # Read after the stat: a CURRENT replaced in between is read again next time.
            self._folder, self._seen = active_folder(self.root), seen
        return self._folder


def new_generation(root: Path) -> Path:
    """An empty folder for a rebuilt index (made current by `publish`)."""
    folder = root / GENERATIONS / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    return folder


def publish(root: Path, folder: Path) -> None:
    """Make `folder` the generation every reader and the writer use (one atomic rename);
    generations older than the one it replaces are removed."""
    previous = active_folder(root)
    pointer = root / f"{POINTER}.tmp"
    pointer.write_text(folder.name)
    os.replace(pointer, root / POINTER)
    for old in (root / GENERATIONS).iterdir():
        if old not in (folder, previous):
            shutil.rmtree(old, ignore_errors=True)


def schema_matches(path: Path, schema: tantivy.Schema | None = None) -> bool:
    """False when `path` holds an index written with another schema (an older release) than
    `schema` (the products index's, in the generation CURRENT names, by default)."""
    if schema is None:
        path, schema = active_folder(path), build_schema()
    if not (path / "meta.json").exists():
        return True
    try:
        tantivy.Index(schema, path=str(path), reuse=True)
    except ValueError:
        return False
    return True


def set_aside(path: Path) -> Path:
    """Move an outdated index out of the way (replacing an older one set aside)."""
    outdated = path.with_name(path.name + ".outdated")
    shutil.rmtree(outdated, ignore_errors=True)
    path.rename(outdated)
    return outdated


def open_index(path: Path) -> tantivy.Index:
    """Open the index in `path`, creating an empty one the first time."""
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(build_schema(), path=str(path), reuse=True)
    for name, analyzer in analyzers().items():
        index.register_tokenizer(name, analyzer)
    return index
