"""Users kept in memory, looked up by id or e-mail."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str
    active: bool = True
    admin: bool = False


class UserRepo:
    """The users by id; e-mail addresses are unique, compared case-insensitively."""

    def __init__(self) -> None:
        self._users: dict[int, User] = {}

    def add(self, user: User) -> User:
        if any(u.email.lower() == user.email.lower() for u in self._users.values()):
            raise ValueError(f"{user.email} is taken")
        self._users[user.id] = user
        return user

    def find_user(self, user_id: int) -> User:
        """The user with this id; KeyError when there is none."""
        return self._users[user_id]

    def by_email(self, email: str) -> User | None:
        for user in self._users.values():
            if user.email.lower() == email.lower():
                return user
        return None

    def save(self, user: User) -> None:
        self._users[user.id] = user

    def update(self, user: User, **changes: object) -> User:
        changed = replace(user, **changes)
        self.save(changed)
        return changed

    def all_active(self) -> list[User]:
        return sorted((u for u in self._users.values() if u.active), key=lambda u: u.name)
