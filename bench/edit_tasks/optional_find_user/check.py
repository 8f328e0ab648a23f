"""find_user returns None for unknown ids; greeting and admin behave as before."""

import sys

sys.path.insert(0, sys.argv[1])

from users import admin, greeting
from users.repo import User, UserRepo

repo = UserRepo()
repo.add(User(1, "Ada Lovelace", "ada@example.org", admin=True))
repo.add(User(2, "Grace Hopper", "grace@example.org"))
repo.add(User(3, "Alan Turing", "alan@example.org", active=False))

assert repo.find_user(99) is None
assert repo.find_user(2).name == "Grace Hopper"

assert greeting.greet(repo, 1) == "Hello, Ada"
assert greeting.greet(repo, 3) == "Hello, stranger"
assert greeting.greet(repo, 99) == "Hello, stranger"
assert greeting.badge(repo, 1) == "Ada Lovelace (admin)"
assert greeting.badge(repo, 3) == "Alan Turing (inactive)"
assert greeting.badge(repo, 99) == "[deleted]"

assert admin.deactivate(repo, 99) is False
assert admin.deactivate(repo, 3) is False
assert admin.deactivate(repo, 2) is True and repo.find_user(2).active is False
assert admin.rename(repo, 1, "  Augusta   Ada ") == "Ada Lovelace"
assert repo.find_user(1).name == "Augusta Ada"
for action in (lambda: admin.rename(repo, 99, "X"), lambda: admin.promote(repo, 99),
               lambda: admin.promote(repo, 3)):
    try:
        action()
    except admin.AdminError:
        pass
    else:
        raise AssertionError("an impossible admin action went through")
assert greeting.welcome_lines(repo) == ["Welcome back, Augusta Ada!"]
