"""Administrative actions on users."""

from __future__ import annotations

from users.repo import UserRepo


class AdminError(LookupError):
    """The action cannot be done; the message is for the administrator."""


def deactivate(repo: UserRepo, user_id: int) -> bool:
    """Deactivate a user; False when there is no such user or they were inactive already."""
    user = repo.find_user(user_id)
    if user is None or not user.active:
        return False
    repo.update(user, active=False)
    return True


def rename(repo: UserRepo, user_id: int, name: str) -> str:
    """Give a user a new display name; returns the old one."""
    name = " ".join(name.split())
    if not name:
        raise AdminError("a name cannot be empty")
    user = repo.find_user(user_id)
    if user is None:
        raise AdminError(f"no user {user_id}")
    repo.update(user, name=name)
    return user.name


def promote(repo: UserRepo, user_id: int) -> None:
    """Make an active user an administrator."""
    user = repo.find_user(user_id)
    if user is None:
        raise AdminError(f"no user {user_id}")
    if not user.active:
        raise AdminError(f"{user.name} is inactive")
    repo.update(user, admin=True)
