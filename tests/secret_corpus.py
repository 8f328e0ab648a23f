"""Secrets written the way people write them, in many file types, for the redaction tests.

The values are made up, shaped like the real thing (each passes its gitleaks rule's regex
and entropy floor). Every file lists the values that must never reach a prompt; the tests
put these files in a workspace and in the cursor's own file and read the exact prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

# Made-up values, built from parts so that no line of this file is one whole key.
AWS_ID = "AKIA" + "QYLPMN5HHHFPZAM2"
AWS_SECRET = "tfn3K7nsmM9dLkX8pQ2r" + "T5vW1yZ4bC6eF0gH3jKq"
DB_PASSWORD = "S3cr3t" + "Passw0rd!"
GITHUB_PAT = "ghp_" + "R4nd0mT0k3nV4lu3Fr0mT3sts9xQ2wE7yU1i"
GITHUB_FINE = ("github_pat_" + "11ABCDEFG0" + "u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzd"
               + "ocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR")
GITLAB_PAT = "glpat-" + "Xk9mQ2vL7pR4sT8wZ1bN"
SLACK_BOT = "xoxb-" + "263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1"
STRIPE_LIVE = "sk_live_" + "51H8sKjLmN4pQ7rS2tU5vW8x"
STRIPE_TEST = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
GOOGLE_KEY = "AIza" + "SyD9tSrke72PouQMnMXa7eZSW0jkFMBWY3k"
OPENAI_KEY = ("sk-proj-" + "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0nPq3sTv6w"
              + "Xy9zAb2cDe5gHi8kLm1oPq4rSt" + "T3BlbkFJ"
              + "Zx9cVb6nMq3wEr0tYu7iOp4aSd1fGh8jKl5zXc2vBn9mQw6eRt3yUi0oPa7sDf4gHj1kLz8xCv")
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
       + "eyJzdWIiOiI0MjQyIiwibmFtZSI6IkFkYSIsImFkbWluIjp0cnVlfQ."
       + "Q7sPx3kV9mZ2tR8wN5bL1cF6hJ4gD0aS")
NPM_TOKEN = "npm_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
API_SECRET = "q8Zr2Lx7Vn4Kp1Ws9Ty3Bm6Hc5Jd0Fg"
SESSION_SECRET = "p4Ss-w0rD_2024!x"
PEM_BODY = ("MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB",
            "aFDrBz9vFqU4yHUa7bFXoD8RxV9yT7KlNPk5Z3nYd2oZ0y3vQpR8Xc7hJkLmN2oP",
            "q3Rs4Tu5Vw6Xy7Za8Bc9De0Fg1Hi2Jk3Lm4No5Pq6Rs7Tu8Vw9Xy0Za1Bc2De3Fg4")
PRIVATE_KEY = ("-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY)
               + "\n-----END RSA PRIVATE KEY-----")


@dataclass(frozen=True)
class SecretFile:
    """A file of the corpus: where it goes, its language id, its text and its secrets."""

    path: str
    language_id: str
    text: str
    secrets: tuple[str, ...]


CONFIG_PY = SecretFile("config.py", "python", f'''"""Settings of the service."""

DEBUG = False
AWS_ACCESS_KEY_ID = "{AWS_ID}"
AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"
DATABASE_URL = "postgres://admin:{DB_PASSWORD}@db.internal:5432/app"
''', (AWS_ID, AWS_SECRET, DB_PASSWORD))

FILES: tuple[SecretFile, ...] = (
    CONFIG_PY,
    SecretFile("settings.js", "javascript", f'''module.exports = {{
  stripeSecret: "{STRIPE_LIVE}",
  password: '{SESSION_SECRET}',
  apiSecret: `{API_SECRET}`,
}};
''', (STRIPE_LIVE, SESSION_SECRET, API_SECRET)),
    SecretFile("client.ts", "typescript", f'''export const SLACK_TOKEN: string = "{SLACK_BOT}";
const headers = {{ Authorization: "Bearer {JWT}" }};
export function call(url: string) {{
  return fetch(url, {{ headers }});
}}
''', (SLACK_BOT, JWT)),
    SecretFile("main.go", "go", f'''package main

const githubToken = "{GITHUB_FINE}"

func connect() Config {{
\tpassword := "{SESSION_SECRET}"
\treturn Config{{User: "app", Password: password, Key: "{GOOGLE_KEY}"}}
}}
''', (GITHUB_FINE, SESSION_SECRET, GOOGLE_KEY)),
    SecretFile("App.java", "java", f'''public class App {{
    private static final String DB_PASSWORD = "{DB_PASSWORD}";

    void setup(Client client) {{
        client.setApiKey("{API_SECRET}");
    }}
}}
''', (DB_PASSWORD, API_SECRET)),
    SecretFile("deploy.yaml", "yaml", f'''database:
  url: mysql://deploy:{SESSION_SECRET}@10.0.0.5/prod
  password: {DB_PASSWORD}
github:
  token: {GITHUB_PAT}
''', (SESSION_SECRET, DB_PASSWORD, GITHUB_PAT)),
    SecretFile("service.json", "json", f'''{{
  "openai_api_key": "{OPENAI_KEY}",
  "client_secret": "{API_SECRET}"
}}
''', (OPENAI_KEY, API_SECRET)),
    SecretFile("tool.toml", "toml", f'''[gitlab]
token = "{GITLAB_PAT}"

[database]
password = "{DB_PASSWORD}"
''', (GITLAB_PAT, DB_PASSWORD)),
    SecretFile("app.properties", "properties", f'''db.user=app
db.password={DB_PASSWORD}
stripe.key={STRIPE_TEST}
''', (DB_PASSWORD, STRIPE_TEST)),
    SecretFile("legacy.ini", "ini", f'''[smtp]
host = mail.internal
password = {SESSION_SECRET}
''', (SESSION_SECRET,)),
    SecretFile("env-notes.txt", "plaintext", f'''# copied from the .env of staging
SECRET_KEY={API_SECRET}
STRIPE_KEY={STRIPE_TEST}
AWS_ACCESS_KEY_ID={AWS_ID}
''', (API_SECRET, STRIPE_TEST, AWS_ID)),
    SecretFile("deploy.sh", "shellscript", f'''#!/bin/sh
export AWS_SECRET_ACCESS_KEY={AWS_SECRET}
export GITHUB_TOKEN="{GITHUB_PAT}"
curl -H "Authorization: Bearer {JWT}" https://api.internal/deploy
''', (AWS_SECRET, GITHUB_PAT, JWT)),
    SecretFile("Dockerfile", "dockerfile", f'''FROM python:3.12-slim
ARG NPM_TOKEN={NPM_TOKEN}
ENV DB_PASSWORD {DB_PASSWORD}
RUN pip install app
''', (NPM_TOKEN, DB_PASSWORD)),
    SecretFile("keys.py", "python", f'''SIGNING_KEY = """{PRIVATE_KEY}
"""


def sign(data):
    return data
''', PEM_BODY),
)


def all_secrets() -> set[str]:
    """Every secret value of the corpus."""
    return {secret for file in FILES for secret in file.secrets}
