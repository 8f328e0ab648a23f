"""Which workspace files may reach a prompt: the rules, as data, and the checks that apply them.

Every context source (the workspace index, git diffs, open files) asks one `Exclusions` object
before a file's text goes anywhere near a prompt. A path is excluded when any of these holds:

1. **Secrets** (`SECRET_PATTERNS`): `.env` files, private keys and certificates, key stores,
   credential and token files (`.netrc`, `.npmrc`, `.pypirc`, cloud CLI folders such as `.aws/`
   and `.ssh/`), password databases, Terraform state. Nothing re-includes them: not a `!`
   rule, not an open editor tab. The list leans towards caution (a `credentials.py` or
   `secrets.py` is excluded too); `Exclusions(secrets=...)` replaces it.
2. **Vendored, build and tool folders** (`SKIPPED_DIRS`): `.git`, `node_modules`,
   `__pycache__`, `.venv`/`venv`, `dist`, `build`, `target`, `vendor`, caches; at any depth.
3. **Generated files by name** (`GENERATED_PATTERNS`): minified code, source maps, lock files.
4. **Ignore files**, with git's semantics: `.git/info/exclude`, then a `.gitignore` and a
   `.lspilotignore` (same syntax, read after the `.gitignore` of its folder so that it can
   override it, `!` included) in every folder. Rules in a deeper folder win over shallower
   ones, the last matching rule in a file wins, `!pattern` re-includes, `dir/` matches
   folders only, a pattern with a `/` before its end is anchored to its file's folder, and a
   file inside an excluded folder cannot be re-included (git does not look inside it).
   `core.excludesFile` (the user's global ignore file) is not read.

Files that pass those rules are still skipped when their content says so (`read_source`):
larger than `MAX_BYTES` (a parameter), binary (a NUL byte in the first 8 KiB, as git decides,
or not valid UTF-8), or generated (`@generated` or `DO NOT EDIT` in the first
`GENERATED_MARKER_LINES` lines: Go's `Code generated ... DO NOT EDIT.`, protobuf, Meta's
convention). Symbolic links are never followed, so that a link cannot pull in a file from
outside the workspace (`~/.ssh/id_rsa`).
"""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from pathspec import GitIgnoreSpec

SECRET_PATTERNS: tuple[str, ...] = (
    # environment files
    ".env", ".env.*", "*.env", ".envrc",
    # private keys, certificates and key stores
    "*.pem", "*.key", "*.p8", "*.p12", "*.pfx", "*.ppk", "*.keystore", "*.jks", "*.truststore",
    "*.asc", "*.gpg", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.ovpn",
    # credential and token files
    "credentials*", "*.credentials", "secrets.*", "*.secrets", "*.secret", ".netrc", "_netrc",
    ".npmrc", ".yarnrc.yml", ".pypirc", ".pgpass", ".git-credentials", ".htpasswd",
    ".dockercfg", "service-account*.json", "kubeconfig", "*.kubeconfig",
    # password databases, infrastructure state
    "*.kdbx", "*.tfstate", "*.tfstate.*", "*.tfvars",
    # folders of credentials
    ".aws/", ".ssh/", ".gnupg/", ".azure/", ".kube/", ".docker/", ".gcloud/",
)
"""Files that may hold secrets (gitignore syntax, matched without regard to case). After
gitleaks' path rules, GitHub secret scanning, Continue's security ignores and Copilot content
exclusion examples."""

SKIPPED_DIRS: tuple[str, ...] = (
    ".git", ".hg", ".svn", "node_modules", "bower_components", "__pycache__", ".venv", "venv",
    "site-packages", ".tox", ".nox", ".eggs", "*.egg-info", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".cache", "dist", "build", "target", "vendor", ".gradle", ".next",
    ".nuxt", ".svelte-kit", ".dart_tool", ".terraform", ".direnv", "Pods", "DerivedData",
    "coverage", "htmlcov", ".idea", ".vscode",
)
"""Folder names (at any depth) of dependencies, build output, caches and tool state."""

GENERATED_PATTERNS: tuple[str, ...] = (
    "*.min.js", "*.min.css", "*.map", "*.lock", "*.lockb", "package-lock.json",
    "npm-shrinkwrap.json", "pnpm-lock.yaml", "go.sum",
)
"""Generated files recognised by name (gitignore syntax)."""

IGNORE_FILES: tuple[str, ...] = (".gitignore", ".lspilotignore")
"""Ignore files read in every folder, in this order (a later one overrides an earlier one)."""

GIT_EXCLUDE = ".git/info/exclude"
"""The repository's own ignore rules that are not committed; they apply from the root."""

MAX_BYTES = 1 << 20
"""Files larger than this are skipped: they are data or generated more often than code."""

BINARY_PROBE = 8 * 1024
"""How much of a file is searched for a NUL byte (git's own heuristic looks at 8000 bytes)."""

GENERATED_MARKER_LINES = 10
GENERATED_MARKER = re.compile(r"@generated|DO NOT EDIT")


def _spec(patterns: Iterable[str]) -> GitIgnoreSpec:
    return GitIgnoreSpec.from_lines(list(patterns))


_SECRETS = _spec(p.lower() for p in SECRET_PATTERNS)


def is_secret(rel_path: str) -> bool:
    """Whether a (`/`-separated) path names a file that may hold secrets (`SECRET_PATTERNS`)."""
    return _matches_secret(_SECRETS, rel_path)


def _matches_secret(secrets: GitIgnoreSpec, rel_path: str) -> bool:
    return bool(secrets.match_file(rel_path.lower()))


def is_binary(data: bytes) -> bool:
    """Whether the start of a file looks binary: a NUL byte in the first 8 KiB."""
    return b"\0" in data[:BINARY_PROBE]


def is_generated(text: str) -> bool:
    """Whether a file's first lines mark it as generated (`@generated`, `DO NOT EDIT`)."""
    head = text.split("\n", GENERATED_MARKER_LINES)[:GENERATED_MARKER_LINES]
    return GENERATED_MARKER.search("\n".join(head)) is not None


def read_source(path: Path, max_bytes: int = MAX_BYTES) -> str | None:
    """The file's text, or None when it is missing, too large, binary, not UTF-8 or generated."""
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size > max_bytes:
                return None
            data = file.read(max_bytes + 1)
    except OSError:
        return None
    if len(data) > max_bytes or is_binary(data):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if is_generated(text) else text


class Exclusions:
    """The workspace's exclusion rules; ignore files are read on first use and cached.

    Thread-safe. Call `forget(folder)` when an ignore file in `folder` changed.
    """

    def __init__(self, root: Path, *, secrets: Iterable[str] = SECRET_PATTERNS,
                 skipped_dirs: Iterable[str] = SKIPPED_DIRS,
                 generated: Iterable[str] = GENERATED_PATTERNS) -> None:
        self.root = root
        self._secrets = _spec(p.lower() for p in secrets)
        self._skipped = _spec(f"{name}/" for name in skipped_dirs)
        self._generated = _spec(generated)
        self._lock = threading.Lock()
        self._rules: dict[str, GitIgnoreSpec | None] = {}
        self._folders: dict[str, bool] = {}

    def excluded(self, rel_path: str, is_dir: bool = False) -> bool:
        """Whether a workspace-relative, `/`-separated path must stay out of every prompt.

        A path outside the workspace (absolute, or starting with `..`) is checked against the
        secret and generated-file names only.
        """
        if rel_path.startswith(("/", "../")) or rel_path == ".." or os.path.isabs(rel_path):
            return _matches_secret(self._secrets, rel_path) or (
                not is_dir and bool(self._generated.match_file(rel_path)))
        folder, _, _ = rel_path.rpartition("/")
        return self._folder_excluded(folder) or self.excluded_here(rel_path, is_dir)

    def excluded_here(self, rel_path: str, is_dir: bool) -> bool:
        """Whether the entry itself is excluded, its folder being known to be included."""
        probe = rel_path + "/" if is_dir else rel_path
        if _matches_secret(self._secrets, probe) or self._skipped.match_file(probe):
            return True
        if not is_dir and self._generated.match_file(rel_path):
            return True
        return self._ignored(rel_path, is_dir)

    def forget(self, folder: str = "") -> None:
        """Drop the cached rules of `folder` ("" for the root) and of the folders inside it."""
        with self._lock:
            for cached in [f for f in self._rules
                           if not folder or f == folder or f.startswith(folder + "/")]:
                del self._rules[cached]
            self._folders.clear()

    def _folder_excluded(self, folder: str) -> bool:
        if not folder:
            return False
        with self._lock:
            known = self._folders.get(folder)
        if known is not None:
            return known
        parent, _, _ = folder.rpartition("/")
        verdict = self._folder_excluded(parent) or self.excluded_here(folder, is_dir=True)
        with self._lock:
            self._folders[folder] = verdict
        return verdict

    def _ignored(self, rel_path: str, is_dir: bool) -> bool:
        """Git's verdict from the ignore files of the path's folders, deepest first."""
        suffix = "/" if is_dir else ""
        parts = rel_path.split("/")
        for depth in range(len(parts) - 1, -1, -1):
            rules = self._folder_rules("/".join(parts[:depth]))
            if rules is not None:
                verdict = rules.check_file("/".join(parts[depth:]) + suffix).include
                if verdict is not None:
                    return verdict
        return False

    def _folder_rules(self, folder: str) -> GitIgnoreSpec | None:
        with self._lock:
            if folder in self._rules:
                return self._rules[folder]
        names = ((GIT_EXCLUDE,) if not folder else ()) + IGNORE_FILES
        lines: list[str] = []
        for name in names:
            try:
                text = (self.root / folder / name).read_text("utf-8", errors="replace")
            except OSError:
                continue
            lines.extend(text.splitlines())
        rules = _spec(lines) if lines else None
        with self._lock:
            self._rules[folder] = rules
        return rules


def walk(root: Path, exclusions: Exclusions, folder: str = "") -> Iterator[
        tuple[str, os.stat_result]]:
    """Included regular files under `folder` (workspace-relative), with their `lstat`.

    Does not follow symbolic links; skips excluded folders without entering them.
    """
    if folder and exclusions.excluded(folder, is_dir=True):
        return
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(root / current) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in listed:
            rel = f"{current}/{entry.name}" if current else entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if not exclusions.excluded_here(rel, is_dir=True):
                    pending.append(rel)
            elif stat.S_ISREG(info.st_mode) and not exclusions.excluded_here(rel, is_dir=False):
                yield rel, info
