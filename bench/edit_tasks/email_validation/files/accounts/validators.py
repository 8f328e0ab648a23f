"""Rules for what users type into the sign-up form."""

from __future__ import annotations

import string

USERNAME_CHARS = set(string.ascii_lowercase + string.digits + "_.")
COMMON_PASSWORDS = {"password", "123456", "qwerty", "letmein", "iloveyou"}


class FieldError(ValueError):
    """A form field with a bad value; `field` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def is_valid_username(name: str) -> bool:
    """3 to 20 characters: lower-case letters, digits, `_` and `.`, starting with a letter."""
    return (3 <= len(name) <= 20 and name[0] in string.ascii_lowercase
            and set(name) <= USERNAME_CHARS)


def password_problems(password: str, username: str) -> list[str]:
    """What is wrong with a password; empty when it is fine."""
    problems = []
    if len(password) < 10:
        problems.append("at least 10 characters")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("too common")
    if username and username in password.lower():
        problems.append("must not contain the username")
    if password.isdigit():
        problems.append("not only digits")
    return problems
