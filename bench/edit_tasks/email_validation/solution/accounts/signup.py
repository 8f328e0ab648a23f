"""The sign-up form's handler."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import Account, create_account
from accounts.validators import FieldError


@dataclass
class AccountStore:
    accounts: dict[str, Account] = field(default_factory=dict)

    def add(self, account: Account) -> None:
        self.accounts[account.username] = account

    def by_email(self, email: str) -> Account | None:
        for account in self.accounts.values():
            if account.email.lower() == email.strip().lower():
                return account
        return None


def signup(store: AccountStore, form: dict[str, str]) -> dict[str, object]:
    """Create an account from the form; the answer tells the page what to show."""
    try:
        username = form.get("username", "")
        if username.strip().lower() in store.accounts:
            raise FieldError("username", "already taken")
        if store.by_email(form.get("email", "")) is not None:
            raise FieldError("email", "already registered")
        account = create_account(username, form.get("email", ""), form.get("password", ""))
    except FieldError as exc:
        return {"ok": False, "field": exc.field, "error": str(exc)}
    store.add(account)
    return {"ok": True, "username": account.username}


def signup_many(store: AccountStore, forms: list[dict[str, str]]) -> list[dict[str, object]]:
    """Handle several forms in order (an import of existing users)."""
    return [signup(store, form) for form in forms]
