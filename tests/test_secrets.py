"""Finding secrets inside ordinary files: what is caught, what is left alone, and the rules."""

from __future__ import annotations

import hashlib
import re

import pytest

from lspilot.context import secrets
from lspilot.context.secrets import RULES_FILE, known_kinds, redact, rule_set, translate_re2
from tests import secret_corpus as c


def kinds(text: str) -> list[str]:
    return [f.kind for f in redact(text).findings]


def test_the_vendored_rules_are_gitleaks_file_unchanged_below_our_header() -> None:
    text = RULES_FILE.read_bytes()
    header, _, body = text.partition(b"# " + b"-" * 93 + b"\n")
    recorded = re.search(rb"sha256 of the original: ([0-9a-f]{64})", header)
    assert recorded is not None
    assert hashlib.sha256(body).hexdigest() == recorded.group(1).decode()
    assert b"gitleaks v8.30.1" in header and b"MIT License" in header


def test_every_gitleaks_rule_translates_to_python() -> None:
    rules = rule_set()
    assert rules.untranslatable == ()
    ids = {r.id for r in rules.rules}
    assert len(ids) >= 210
    # Replaced by our own assignment rule, or bound to a file type we cannot see.
    assert not ids & {"generic-api-key", "hashicorp-tf-password", "pkcs12-file"}


@pytest.mark.parametrize(("re2", "python"), [
    (r"(?i)abc", r"(?i)abc"),
    (r"\b(p8e-(?i)[a-z0-9]{32})", r"\b(p8e-(?i:[a-z0-9]{32}))"),
    (r"x(?i)a|b", r"x(?i:a)|(?i:b)"),
    (r"(a(?i)b|c)d", r"(a(?i:b)|(?i:c))d"),
    (r"[(?i)]x", r"[(?i)]x"),
    (r"abc\z", r"abc\Z"),
    (r"[[:alnum:]_]+", r"[a-zA-Z0-9_]+"),
    (r"(?i)[\w.-]{0,50}?(?:adobe)", r"(?i)(?:adobe)"),
])
def test_re2_syntax_becomes_python_syntax(re2: str, python: str) -> None:
    assert translate_re2(re2) == python
    re.compile(python)


def test_a_flag_set_mid_group_covers_the_rest_of_the_group_only() -> None:
    pattern = re.compile(translate_re2(r"(A(?i)b|c)D"))
    assert pattern.fullmatch("ABD") and pattern.fullmatch("CD")
    assert not pattern.fullmatch("aBD") and not pattern.fullmatch("Cd")


@pytest.mark.parametrize(("text", "kind"), [
    (f'AWS_ACCESS_KEY_ID = "{c.AWS_ID}"', "aws-access-key-id"),
    ('key_id = "AKIAIOSFODNN7EXAMPLE"', "aws-access-key-id"),  # AWS's documented example too
    (f'AWS_SECRET_ACCESS_KEY = "{c.AWS_SECRET}"', "aws-secret-access-key"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws-secret-access-key"),
    (f"token = '{c.GITHUB_PAT}'", "github-pat"),
    (f"x = {c.GITHUB_FINE}", "github-fine-grained-pat"),
    (f'gitlab: "{c.GITLAB_PAT}"', "gitlab-pat"),
    (f'"{c.SLACK_BOT}"', "slack-bot-token"),
    (f"stripe.api_key = '{c.STRIPE_LIVE}'", "stripe-access-token"),
    (f"const k = `{c.STRIPE_TEST}`;", "stripe-access-token"),
    (f'maps("{c.GOOGLE_KEY}")', "gcp-api-key"),
    (f"OPENAI_API_KEY={c.OPENAI_KEY}", "openai-api-key"),
    (f"Authorization: Bearer {c.JWT}", "jwt"),
    ('client = OpenAI(base_url=URL, key_of("sk-' + '4f9c2b7e1a8d6035fe2b9c7a1d4e8f60"))',
     "api-key"),  # an `sk-` key of an OpenAI-compatible service
    (f"//registry.npmjs.org/:_authToken={c.NPM_TOKEN}", "npm-access-token"),
])
def test_provider_shaped_keys_become_a_placeholder_of_their_kind(text: str, kind: str) -> None:
    redacted = redact(text)
    assert kinds(text) == [kind]
    assert f"<{kind}>" in redacted.text
    finding = redacted.findings[0]
    assert text[finding.start:finding.end] not in redacted.text


@pytest.mark.parametrize(("text", "value", "kind"), [
    # Python, with every kind of name and literal.
    ('password = "hunter22"', "hunter22", "password"),
    ("DB_PASSWORD = 'S3cret!pw'", "S3cret!pw", "password"),
    ('settings.SECRET_KEY = "django-insecure-7x!k2m"', "django-insecure-7x!k2m", "secret"),
    ('connect(host="db", passwd="pa55word")', "pa55word", "password"),
    (f'API_KEY = "{c.API_SECRET}"', c.API_SECRET, "api-key"),
    (f'client_secret = r"{c.API_SECRET}"', c.API_SECRET, "secret"),
    (f'self.auth_token = "{c.API_SECRET}"', c.API_SECRET, "token"),
    ('if password == "letmein1":', "letmein1", "password"),
    ('user.set_password("Xk2p9z!")', "Xk2p9z!", "password"),
    # JavaScript and TypeScript.
    ('const dbPassword = "pa55word";', "pa55word", "password"),
    (f"const apiKey: string = '{c.API_SECRET}';", c.API_SECRET, "api-key"),
    ('{ password: "pa55word", user: "x" }', "pa55word", "password"),
    # Go and Java.
    ('password := "pa55word"', "pa55word", "password"),
    ('cfg := Config{Password: "pa55word"}', "pa55word", "password"),
    ('private static final String DB_PASS = "pa55word";', "pa55word", "password"),
    (f'builder.apiKey("{c.API_SECRET}")', c.API_SECRET, "api-key"),
    # YAML, TOML, JSON, .ini/.properties, shell, .env, Dockerfile.
    ("  password: hunter22", "hunter22", "password"),
    ('password = "pa55word"', "pa55word", "password"),
    ('{"db_password": "pa55word"}', "pa55word", "password"),
    ("spring.datasource.password=pa55word", "pa55word", "password"),
    ("password = pa55word", "pa55word", "password"),
    (f"export API_SECRET={c.API_SECRET}", c.API_SECRET, "secret"),
    (f'export SESSION_TOKEN="{c.API_SECRET}"', c.API_SECRET, "token"),
    ("SECRET=x7Lq9!pZ", "x7Lq9!pZ", "secret"),
    ("ENV DB_PASSWORD pa55word", "pa55word", "password"),
    ("ARG DB_PASSWORD=pa55word", "pa55word", "password"),
    # High-entropy values under any secret-ish name, UUID-shaped keys included.
    ('"api_key": "123e4567-e89b-12d3-a456-426614174000"', "123e4567-e89b-12d3-a456-426614174000",
     "api-key"),
    ('private_key = "a3F9kQ2xZ8vL1pW7mN4bR6tY0uJ5hG"', "a3F9kQ2xZ8vL1pW7mN4bR6tY0uJ5hG",
     "private-key"),
])
def test_values_assigned_to_secret_names_are_redacted(text: str, value: str, kind: str) -> None:
    redacted = redact(text)
    assert kinds(text) == [kind], redacted.text
    assert value not in redacted.text
    assert redacted.text == text.replace(value, f"<{kind}>", 1)


@pytest.mark.parametrize(("text", "password"), [
    (f"postgres://admin:{c.DB_PASSWORD}@db.internal:5432/app", c.DB_PASSWORD),
    ("redis://:s3cr3t-pw@cache:6379/0", "s3cr3t-pw"),
    ("amqp://guest:p%40ss1@rabbit/", "p%40ss1"),
    ('url = "https://deploy:x9Kq2!@git.example.com/repo.git"', "x9Kq2!"),
])
def test_passwords_in_urls_are_redacted_and_the_user_name_kept(text: str, password: str) -> None:
    redacted = redact(text)
    assert kinds(text) == ["password"]
    assert redacted.text == text.replace(f":{password}@", ":<password>@")


BODY = "\n".join(c.PEM_BODY)


@pytest.mark.parametrize(("text", "kept"), [
    (c.PRIVATE_KEY + "\nx = 1\n", "\nx = 1\n"),
    (f'KEY = """{c.PRIVATE_KEY}\n"""\n', 'KEY = """\n"""\n'),
    ("KEY = (\n" + "".join(f'    "{line}\\n"\n' for line in
                            ["-----BEGIN EC PRIVATE KEY-----", *c.PEM_BODY,
                             "-----END EC PRIVATE KEY-----"]) + ")\nnext_line = 2\n",
     "KEY = (\n    \"\\n\"\n)\nnext_line = 2\n"),
    ('{"private_key": "-----BEGIN PRIVATE KEY-----\\n' + BODY.replace("\n", "\\n")
     + '\\n-----END PRIVATE KEY-----\\n", "client_email": "a@b.c"}',
     '{"private_key": "\\n", "client_email": "a@b.c"}'),
    # A window that cut off the END line: the body goes down to the cut.
    ("x = 1\nKEY = '''-----BEGIN OPENSSH PRIVATE KEY-----\n" + BODY, "x = 1\nKEY = '''"),
    # A window that cut off the BEGIN line: the body goes up to the cut.
    (BODY + "\n-----END PRIVATE KEY-----'''\nnext_line = 2\n", "'''\nnext_line = 2\n"),
    ("def f():\n    pass\n" + BODY + "\n-----END PRIVATE KEY-----\n",
     "def f():\n    pass\n\n"),
    # A BEGIN line mentioned in a comment takes its own line only.
    ('# "-----BEGIN RSA PRIVATE KEY-----..."\ndef keep_me():\n    return 1\n',
     '# "\ndef keep_me():\n    return 1\n'),
])
def test_private_key_blocks_are_redacted_whole_or_cut(text: str, kept: str) -> None:
    redacted = redact(text)
    assert set(kinds(text)) == {"private-key"}
    assert redacted.text.replace("<private-key>", "") == kept
    assert not any(line in redacted.text for line in c.PEM_BODY)


@pytest.mark.parametrize("text", [
    # Names and code, not values.
    "self.password = password",
    "password = get_password(user)",
    'password = os.environ["DB_PASSWORD"]',
    "password: str",
    "password: string;",
    "token = self._token",
    'token = "("',
    'token_type = "Bearer"',
    "secret = secret.encode('utf-8')",
    'ht.set_password("user3", "pass3")',
    "pwd_pwd = pwd+pwd",
    'headers["X-aws-ec2-metadata-token"] = imdsv2_session_token',
    "oauth2client.client.GoogleCredentials: _convert_oauth2_credentials,",
    'password_field = "password"',
    'PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]',
    'PASSWORD_RESET_TIMEOUT = 259200',
    'label = _("Password")',
    'error = "Please enter your password"',
    'secret_file = "/etc/app/secret.txt"',
    'token_url = "https://oauth2.googleapis.com/token"',
    "than any legitimate password. :exc:`PasswordSizeError`",
    "* ``password``: :setting:`EMAIL_HOST_PASSWORD`",
    # Placeholders, references, templates.
    'api_key = "<your-api-key>"',
    'password = "${DB_PASSWORD}"',
    "password: {{ vault_db_password }}",
    'password = "********"',
    'password = None',
    'password = ""',
    "postgres://user:${PGPASSWORD}@db/app",
    "http://user:pass@example.com/",
    # Hashes, UUIDs and base64 in tests, under names that are not secret names.
    'expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
    'digest = hashlib.sha1(b"x").hexdigest()  # 11f6ad8ec52a2984abaafd7c3b516503785c2072',
    'request_id = "123e4567-e89b-12d3-a456-426614174000"',
    'data = "SGVsbG8sIFdvcmxkISBUaGlzIGlzIGJhc2U2NCB0ZXN0IGRhdGEu"',
    'PNG = b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"',
    "pip install scikit-learn  # sk-learn-compatible-estimators-only",
    # Password hashes (Django, passlib) are hashes, not passwords.
    '"password": "pbkdf2_sha256$10000$LUyhxJjuLwXF$f6Zbpnx1L5dPze8m0itBaHMDyZ/n6Jy="',
    'password = "$2b$12$KIXQJZ6/9h1q8qD2n9uN0eX8k1x4kR0pZ8vJ1qL3mN5oP7rS9tU1W"',
    # Public material.
    "-----BEGIN PUBLIC KEY-----\n" + BODY + "\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\n" + BODY + "\n-----END CERTIFICATE-----",
])
def test_ordinary_code_is_left_alone(text: str) -> None:
    assert redact(text).text == text, kinds(text)


def test_the_whole_corpus_is_redacted_and_stays_redacted() -> None:
    for file in c.FILES:
        redacted = redact(file.text)
        assert not [s for s in file.secrets if s in redacted.text], file.path
        assert redact(redacted.text).findings == (), file.path  # placeholders are not secrets


def test_findings_say_where_each_secret_was_in_the_original() -> None:
    text = c.CONFIG_PY.text
    redacted = redact(text)
    assert [text[f.start:f.end] for f in redacted.findings] == [c.AWS_ID, c.AWS_SECRET,
                                                                c.DB_PASSWORD]
    assert [f.placeholder for f in redacted.findings] == [
        "<aws-access-key-id>", "<aws-secret-access-key>", "<password>"]


def test_overlapping_finds_become_one_named_by_the_most_specific_rule() -> None:
    # The assignment rule and the GitHub rule both see it: one placeholder, GitHub's name.
    assert redact(f'GITHUB_TOKEN = "{c.GITHUB_PAT}"').text == 'GITHUB_TOKEN = "<github-pat>"'


def test_the_same_text_redacts_the_same_way_and_is_served_from_the_cache() -> None:
    text = c.CONFIG_PY.text + "# a text of its own\n"
    first = redact(text)
    assert redact(text) is first
    assert secrets._redact(text) == first


def test_placeholders_name_known_kinds() -> None:
    known = known_kinds()
    assert {"aws-access-key-id", "github-pat", "password", "private-key", "jwt"} <= known
    for file in c.FILES:
        assert {f.kind for f in redact(file.text).findings} <= known
