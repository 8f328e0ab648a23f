"""E-mail addresses are validated, stored lower-cased and unique in any case."""

import sys

sys.path.insert(0, sys.argv[1])

from accounts import models, validators
from accounts.signup import AccountStore, signup

for good in ("ada@example.org", "a.b+c@mail.example.co.uk", "x@y.io"):
    assert validators.is_valid_email(good), good
for bad in ("", "ada", "@example.org", "ada@", "ada@example", "a@b@c.org", "ada @example.org",
            "ada@exa mple.org"):
    assert not validators.is_valid_email(bad), bad

account = models.create_account("Ada", " Ada@Example.ORG ", "analytical-engine")
assert account.email == "ada@example.org" and account.username == "ada"
try:
    models.create_account("grace", "grace.example.org", "compilers-rule")
except validators.FieldError as exc:
    assert exc.field == "email" and str(exc) == "invalid e-mail address"
else:
    raise AssertionError("a bad address was accepted")

store = AccountStore()
assert signup(store, {"username": "ada", "email": "ada@example.org",
                      "password": "analytical-engine"}) == {"ok": True, "username": "ada"}
assert signup(store, {"username": "ada2", "email": "ADA@example.org",
                      "password": "analytical-engine"}) == {
    "ok": False, "field": "email", "error": "already registered"}
assert signup(store, {"username": "bob", "email": "bob(at)example.org",
                      "password": "correct-horse"}) == {
    "ok": False, "field": "email", "error": "invalid e-mail address"}
assert signup(store, {"username": "ada", "email": "other@example.org",
                      "password": "analytical-engine"})["field"] == "username"
assert signup(store, {"username": "carol", "email": "carol@example.org",
                      "password": "short"})["field"] == "password"
assert sorted(store.accounts) == ["ada"]
