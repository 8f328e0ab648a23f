"""Secrets stay out of an edit's prompt and come back in its answer.

Each secret in the files (and in the read-only context) is replaced by a placeholder numbered
for this edit, `<aws-secret-access-key-1>`; the model sees that a key is there and keeps the
placeholder where the code keeps the key. The answer's placeholders are put back to the
values before anything is checked or written, so a rewritten file keeps its keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from lspilot.context.secrets import find_secrets
from lspilot.edits.task import EditTask, FileChange


@dataclass
class Vault:
    """The secrets of one edit, by placeholder."""

    values: dict[str, str] = field(default_factory=dict)
    _by_value: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def hide(self, text: str, taken: str) -> str:
        """`text` with each secret replaced by its placeholder (the same value, the same
        placeholder); `taken` is text a new placeholder must not already occur in."""
        findings = find_secrets(text)
        if not findings:
            return text
        parts: list[str] = []
        at = 0
        for finding in findings:
            value = text[finding.start:finding.end]
            name = self._by_value.get(value)
            if name is None:
                while True:
                    self._counts[finding.kind] = self._counts.get(finding.kind, 0) + 1
                    name = f"<{finding.kind}-{self._counts[finding.kind]}>"
                    if name not in taken:
                        break
                self._by_value[value] = name
                self.values[name] = value
            parts += [text[at:finding.start], name]
            at = finding.end
        parts.append(text[at:])
        return "".join(parts)

    def reveal(self, text: str) -> str:
        """`text` with this edit's placeholders put back to their values."""
        for name, value in self.values.items():
            text = text.replace(name, value)
        return text


def hidden(task: EditTask) -> tuple[EditTask, Vault]:
    """The task as the model may see it, and the vault to read its answer with."""
    vault = Vault()
    taken = "\n".join([task.instruction, *(f.text for f in task.files),
                       *(s.text for s in task.context)])
    files = tuple(dataclasses.replace(f, text=vault.hide(f.text, taken)) for f in task.files)
    context = tuple(dataclasses.replace(s, text=vault.hide(s.text, taken))
                    for s in task.context)
    return dataclasses.replace(task, files=files, context=context), vault


def revealed(changes: list[FileChange], vault: Vault) -> list[FileChange]:
    """The answer's changes with the secrets back in place."""
    if not vault.values:
        return changes
    return [dataclasses.replace(c, new_text=vault.reveal(c.new_text)) for c in changes]
