"""The files an edit reads from disk: inside the workspace, not secret or ignored, text."""

from __future__ import annotations

import os
from pathlib import Path

from lspilot.context.ignore import Exclusions, is_binary, is_secret
from lspilot.context.languages import language_id_for
from lspilot.edits.paths import safe_path
from lspilot.edits.task import EditError, SourceFile

MAX_FILE_BYTES = 1 << 20
"""Larger files are not edited whole: select the code to change instead."""


def relative_path(root: Path, path: Path) -> str:
    """`path` relative to the workspace root, `/`-separated; EditError when outside it."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(real_root):
        raise EditError(f"{path} is outside the workspace ({root})")
    return real.relative_to(real_root).as_posix()


def read_file(root: Path, path: str, exclusions: Exclusions | None) -> SourceFile:
    """A workspace file as the edit's source; EditError saying why it cannot be one."""
    problem = safe_path(path)
    if problem is not None:
        raise EditError(problem)
    if is_secret(path) or (exclusions is not None and exclusions.excluded(path)):
        raise EditError(f"{path} is a secret or ignored file: lspilot never reads it")
    full = root / path
    if not Path(os.path.realpath(full)).is_relative_to(Path(os.path.realpath(root))):
        raise EditError(f"{path} leads out of the workspace through a symbolic link")
    try:
        with open(full, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_FILE_BYTES:
                raise EditError(f"{path} is larger than {MAX_FILE_BYTES >> 20} MB: select the "
                                "code to change instead")
            data = file.read()
    except FileNotFoundError:
        raise EditError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise EditError(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise EditError(f"{path} cannot be read: {exc.strerror}") from None
    if is_binary(data):
        raise EditError(f"{path} is a binary file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EditError(f"{path} is not UTF-8 text") from None
    return SourceFile(path=path, text=text, version=None, language_id=language_id_for(path))
