"""What the site says to a visitor."""

from __future__ import annotations

from users.repo import UserRepo


def greet(repo: UserRepo, user_id: int) -> str:
    """Hello by first name; strangers and deactivated users get the generic greeting."""
    user = repo.find_user(user_id)
    if user is None or not user.active:
        return "Hello, stranger"
    return f"Hello, {user.name.split()[0]}"


def badge(repo: UserRepo, user_id: int) -> str:
    """The label shown next to a user's posts."""
    user = repo.find_user(user_id)
    if user is None:
        return "[deleted]"
    label = user.name
    if user.admin:
        label += " (admin)"
    if not user.active:
        label += " (inactive)"
    return label


def welcome_lines(repo: UserRepo) -> list[str]:
    return [f"Welcome back, {user.name}!" for user in repo.all_active()]
