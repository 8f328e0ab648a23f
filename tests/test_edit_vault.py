"""Secrets in an edit's files: out of the prompt, back in the answer."""

from __future__ import annotations

from lspilot.edits.task import EditTask, FileChange, SourceFile
from lspilot.edits.vault import Vault, hidden, revealed

KEY = "q8Zf3kLx9Vb2Wm7Np4Rt6Yh1Jc5Gd0Sa8Ue3Io2P"
CONFIG = (f'AWS_SECRET_ACCESS_KEY = "{KEY}"\n'
          'DATABASE_URL = "postgres://admin:S3cr3tPassw0rd@db.example.com/app"\n')


def test_the_model_sees_numbered_placeholders_and_no_value() -> None:
    task = EditTask("rename DATABASE_URL to DB_URL", (SourceFile("config.py", CONFIG, None),
                                                      SourceFile("copy.py", CONFIG, None)))
    shown, vault = hidden(task)
    for source in shown.files:
        assert KEY not in source.text and "S3cr3tPassw0rd" not in source.text
        assert source.text == ('AWS_SECRET_ACCESS_KEY = "<aws-secret-access-key-1>"\n'
                               'DATABASE_URL = "postgres://admin:<password-1>@db.example.com/app"\n')
    assert vault.values == {"<aws-secret-access-key-1>": KEY, "<password-1>": "S3cr3tPassw0rd"}


def test_the_answer_gets_the_values_back() -> None:
    task = EditTask("rename", (SourceFile("config.py", CONFIG, None),))
    shown, vault = hidden(task)
    answer = shown.files[0].text.replace("DATABASE_URL", "DB_URL")
    [change] = revealed([FileChange("config.py", answer)], vault)
    assert change.new_text == CONFIG.replace("DATABASE_URL", "DB_URL")


def test_a_placeholder_already_in_the_code_is_not_reused() -> None:
    vault = Vault()
    text = f'note = "<secret-1>"\nsecret_token = "{KEY}"\n'
    hidden_text = vault.hide(text, taken=text)
    assert hidden_text == 'note = "<secret-1>"\nsecret_token = "<secret-2>"\n'
    assert vault.reveal(hidden_text) == text


def test_files_without_secrets_pass_unchanged() -> None:
    task = EditTask("x", (SourceFile("a.py", "x = 1\n", None),))
    shown, vault = hidden(task)
    assert shown == task and vault.values == {}
