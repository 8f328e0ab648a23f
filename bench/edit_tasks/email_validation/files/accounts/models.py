"""Accounts and how they are created."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from accounts.validators import FieldError, is_valid_username, password_problems


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    password_hash: str
    salt: str


def hash_password(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()


def create_account(username: str, email: str, password: str) -> Account:
    """A new account; raises FieldError naming the first field that is wrong."""
    username = username.strip().lower()
    if not is_valid_username(username):
        raise FieldError("username", "3-20 letters, digits, _ or ., starting with a letter")
    problems = password_problems(password, username)
    if problems:
        raise FieldError("password", ", ".join(problems))
    salt = secrets.token_hex(8)
    return Account(username, email.strip(), hash_password(password, salt), salt)


def check_password(account: Account, password: str) -> bool:
    return secrets.compare_digest(account.password_hash, hash_password(password, account.salt))
