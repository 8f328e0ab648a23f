"""Write an edit's files to disk, all of them or none (the CLI's `--apply`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lspilot.edits.task import EditError


@dataclass(frozen=True)
class Write:
    """One file's new text; `old` is what it must still hold (None: it must not exist)."""

    path: Path
    old: str | None
    new: str


def write_all(writes: Sequence[Write]) -> None:
    """Replace every file, or, if any step fails, leave every file as it was.

    Each new text goes to a temporary file beside its target first; only when all are written
    are they renamed into place, and a failed rename puts back the files already replaced.
    """
    for write in writes:
        current = _read(write.path)
        if current != write.old:
            what = "was created" if write.old is None else "changed"
            raise EditError(f"{write.path} {what} since the edit read it; nothing was written")
    staged: list[tuple[Write, str]] = []
    try:
        for write in writes:
            write.path.parent.mkdir(parents=True, exist_ok=True)
            mode = write.path.stat().st_mode & 0o7777 if write.old is not None else None
            fd, temp = tempfile.mkstemp(dir=write.path.parent, prefix=f".{write.path.name}.")
            staged.append((write, temp))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                file.write(write.new)
            if mode is not None:
                os.chmod(temp, mode)
    except OSError as exc:
        _discard(staged)
        raise EditError(f"could not write {exc.filename or 'a file'}: {exc.strerror}; "
                        "nothing was written") from None
    done: list[Write] = []
    try:
        for write, temp in staged:
            os.replace(temp, write.path)
            done.append(write)
    except OSError as exc:
        for write in reversed(done):
            if write.old is None:
                write.path.unlink(missing_ok=True)
            else:
                write.path.write_text(write.old, encoding="utf-8", newline="")
        _discard(staged[len(done):])
        raise EditError(f"could not replace {exc.filename or 'a file'}: {exc.strerror}; "
                        "every file was put back as it was") from None


def _read(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as file:
            return file.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise EditError(f"could not read {path}: {exc}; nothing was written") from None


def _discard(staged: list[tuple[Write, str]]) -> None:
    for _, temp in staged:
        Path(temp).unlink(missing_ok=True)
