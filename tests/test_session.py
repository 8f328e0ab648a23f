"""The session's policy, below LSP: settings precedence and messages told once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lspilot.models.roles import with_role
from lspilot.models.store import ModelStore
from lspilot.session import Preferences, Session
from lspilot.settings import Settings

BASE = with_role(Settings(), "autocomplete", "from-role-file")


def test_precedence_select_over_forced_over_editor_over_role_file() -> None:
    prefs = Preferences(BASE)
    assert prefs.effective().models.autocomplete == "from-role-file"
    prefs.configure(with_role(BASE, "autocomplete", "from-editor"))
    assert prefs.effective().models.autocomplete == "from-editor"
    prefs.forced_model = "from-flag"
    assert prefs.effective().models.autocomplete == "from-flag"
    prefs.selected["autocomplete"] = "selected"
    assert prefs.effective().models.autocomplete == "selected"


def test_a_selection_lasts_until_the_user_changes_that_setting() -> None:
    prefs = Preferences(BASE)
    prefs.configure(with_role(BASE, "autocomplete", "from-editor"))
    prefs.selected["autocomplete"] = "selected"
    prefs.selected["edit"] = "edit-selected"
    prefs.configure(with_role(BASE, "autocomplete", "from-editor"))  # unrelated change
    assert prefs.effective().models.autocomplete == "selected"
    prefs.configure(with_role(BASE, "autocomplete", "new-in-editor"))
    assert prefs.effective().models.autocomplete == "new-in-editor"
    assert prefs.effective().models.edit == "edit-selected"


class Front:
    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def show(self, level: str, message: str) -> None:
        self.shown.append((level, message))

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def test_bad_settings_are_told_once_each(tmp_path: Path) -> None:
    front = Front()
    session = Session(ModelStore(tmp_path), front, list)  # type: ignore[arg-type]
    for _ in range(3):
        session.apply_settings({"completion": {"maxTokens": "many"}}, load=False)
    assert front.shown == [("warning", "lspilot settings: lspilot.completion.maxTokens: "
                                       "expected an integer, got 'many'; keeping 64")]
    session.untell(front.shown[0][1])
    session.apply_settings({"completion": {"maxTokens": "many"}}, load=False)
    assert len(front.shown) == 2
