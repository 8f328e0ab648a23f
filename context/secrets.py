"""Secrets written inside ordinary files, replaced by placeholders before text reaches a model.

`redact(text)` is pure (text in, text out, the same text always gives the same result), so
every path that sends code to a model calls it: the completion pipeline on the cursor's
window and on each context snippet, and the edit feature on the files it sends.

Two rule sets find secrets:

- **Provider-shaped keys** come from gitleaks' published default rules (`gitleaks.toml`
  beside this module, vendored as data with its source and version): 216 of its rules
  (AWS, GitHub, GitLab, Slack, Stripe, Google, OpenAI, JWTs, ...), each a regex, keywords
  that must occur first (a cheap filter: most rules never run), an entropy floor and
  allowlists. Go's RE2 syntax is translated to Python's `re` at load time.
- **Our own rules** for what a regex per provider cannot see: values assigned to names like
  `password`, `secret`, `token`, `api_key` in code and config files (Python, JS/TS, Go,
  Java, YAML, TOML, JSON, .ini/.properties, shell, Dockerfile), passwords in URLs, and
  private-key blocks also when a window cut off their BEGIN or END line, and `sk-` keys
  of OpenAI-compatible services. gitleaks'
  `generic-api-key` is left out in their favour: it flags any name containing `key` or
  `auth` (`monkey`, `author`) and leans on a 1,446-word stop list, and its leading
  `[\\w.-]{0,50}?` makes Python's backtracking engine try 50 starts at every offset.

A secret becomes `<kind>` (`<aws-access-key-id>`, `<password>`), so the model still sees
that a key is there, and never learns the key.
"""

from __future__ import annotations

import math
import re
import threading
import tomllib
import urllib.parse
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

RULES_FILE = Path(__file__).with_name("gitleaks.toml")

SKIPPED_RULES = frozenset({"generic-api-key"})
"""gitleaks rules replaced by our own assignment rule (see the module docstring)."""

KINDS = {"aws-access-token": "aws-access-key-id"}
"""Placeholder names for gitleaks rule ids whose id says less than it could."""

IGNORED_ALLOWLISTS = frozenset({"aws-access-token"})
"""Rules whose allowlist we drop: gitleaks lets AWS's documented example key id
(`...EXAMPLE`) through to spare scanners noise; for a prompt a placeholder costs nothing."""

OWN_KINDS = ("private-key", "password", "secret", "token", "credential", "api-key",
             "secret-key", "aws-secret-access-key")
"""Kinds our own rules name (gitleaks' rules are named by their rule id)."""

CACHE_TEXT_CHARS = 65_536
"""Texts up to this size are cached (the same snippet is sent on every keystroke)."""

CACHE_ENTRIES = 512


@dataclass(frozen=True)
class Finding:
    """A secret in a text: its kind and where it is (code-point offsets, end exclusive)."""

    kind: str
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        """What the secret becomes in a prompt."""
        return placeholder(self.kind)


@dataclass(frozen=True)
class Redacted:
    """A text with its secrets replaced, and where they were in the original."""

    text: str
    findings: tuple[Finding, ...] = ()


def placeholder(kind: str) -> str:
    """The text a secret of `kind` is replaced with."""
    return f"<{kind}>"


def redact(text: str) -> Redacted:
    """`text` with every secret replaced by a placeholder of its kind."""
    if len(text) > CACHE_TEXT_CHARS:
        return _redact(text)
    with _cache_lock:
        cached = _cache.get(text)
        if cached is not None:
            _cache.move_to_end(text)
            return cached
    result = _redact(text)
    with _cache_lock:  # the edit feature may redact from worker threads
        _cache[text] = result
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return result


def known_kinds() -> frozenset[str]:
    """Every kind a finding can have (the names placeholders are made of)."""
    return frozenset({*OWN_KINDS, *(r.kind for r in rule_set().rules)})


def find_secrets(text: str) -> tuple[Finding, ...]:
    """The secrets in `text`, in order, overlapping finds merged into one."""
    return redact(text).findings


_cache: OrderedDict[str, Redacted] = OrderedDict()
_cache_lock = threading.Lock()


def _redact(text: str) -> Redacted:
    findings = _merge([*_private_keys(text), *_provider_keys(text), *_sk_keys(text),
                       *_url_passwords(text), *_assignments(text)])
    if not findings:
        return Redacted(text)
    parts: list[str] = []
    at = 0
    for finding in findings:
        parts += [text[at:finding.start], finding.placeholder]
        at = finding.end
    parts.append(text[at:])
    return Redacted("".join(parts), tuple(findings))


# --- merging --------------------------------------------------------------------------------

_PRIORITY = {"pem": 0, "provider": 1, "url": 2, "assignment": 3}
"""Which rule names an overlap: the most specific one."""


@dataclass(frozen=True)
class _Hit:
    kind: str
    start: int
    end: int
    rule: Literal["pem", "provider", "url", "assignment"]


def _merge(hits: list[_Hit]) -> list[Finding]:
    """Overlapping hits become one finding over their union, named by the most specific."""
    merged: list[Finding] = []
    groups: list[list[_Hit]] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.end <= hit.start:
            continue
        if groups and hit.start < max(h.end for h in groups[-1]):
            groups[-1].append(hit)
        else:
            groups.append([hit])
    for group in groups:
        best = min(group, key=lambda h: (_PRIORITY[h.rule], h.start))
        merged.append(Finding(best.kind, group[0].start, max(h.end for h in group)))
    return merged


def entropy(text: str) -> float:
    """Shannon entropy in bits per character (as gitleaks computes it)."""
    if not text:
        return 0.0
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


# --- provider keys: gitleaks' rules -----------------------------------------------------------


@dataclass(frozen=True)
class _Allow:
    regexes: tuple[re.Pattern[str], ...]
    target: str
    """What the regexes are matched on: the secret, the whole match, or the line."""
    stopwords: tuple[str, ...]


@dataclass(frozen=True)
class _Rule:
    id: str
    kind: str
    regex: re.Pattern[str]
    keywords: tuple[str, ...]
    entropy: float
    group: int
    """The capture group holding the secret; 0: the first group that matched, or the match."""
    allows: tuple[_Allow, ...]


@dataclass(frozen=True)
class _RuleSet:
    rules: tuple[_Rule, ...]
    allow: _Allow
    """gitleaks' global allowlist, checked on every secret."""
    untranslatable: tuple[str, ...]
    """Ids of rules whose regex Python cannot compile even after translation."""
    keywords: re.Pattern[str]
    """Finds, at every offset, the longest keyword that starts there (one pass, a trie)."""
    due: dict[str, frozenset[int]]
    """For a keyword found, the rules (indexes) it lets run: its own and its prefixes'."""
    always: frozenset[int]
    """Rules without keywords, which always run."""


_rule_set: _RuleSet | None = None


def rule_set() -> _RuleSet:
    """gitleaks' rules, loaded and translated once."""
    global _rule_set
    if _rule_set is None:
        _rule_set = _load_rules(RULES_FILE)
    return _rule_set


def _load_rules(path: Path) -> _RuleSet:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rules: list[_Rule] = []
    broken: list[str] = []
    for raw in data["rules"]:
        if raw["id"] in SKIPPED_RULES or "regex" not in raw or "path" in raw:
            # A rule bound to a file type (`.tf`, `nuget.config`, `*.p12`) needs the path we
            # do not have: its regex alone is too loose (`password == "password"`).
            continue
        try:
            regex = _compile(raw["regex"])
            allows = () if raw["id"] in IGNORED_ALLOWLISTS else tuple(
                _allow(a) for a in raw.get("allowlists", ()) if _applies(a))
        except re.error:
            broken.append(raw["id"])
            continue
        rules.append(_Rule(raw["id"], KINDS.get(raw["id"], raw["id"]), regex,
                           tuple(k.lower() for k in raw.get("keywords", ())),
                           float(raw.get("entropy", 0.0)), int(raw.get("secretGroup", 0)),
                           allows))
    by_keyword: dict[str, set[int]] = {}
    for index, rule in enumerate(rules):
        for keyword in rule.keywords:
            by_keyword.setdefault(keyword, set()).add(index)
    # At one offset the trie reports only the longest keyword; the shorter ones there are
    # its prefixes (`sk` in `sk_live`), so a keyword found lets its prefixes' rules run too.
    due = {keyword: frozenset().union(*(rules_of for other, rules_of in by_keyword.items()
                                         if keyword.startswith(other)))
           for keyword in by_keyword}
    finder = re.compile(f"(?=({_trie(sorted(by_keyword))}))")
    return _RuleSet(tuple(rules), _allow(data.get("allowlist", {})), tuple(broken), finder,
                    due, frozenset(i for i, r in enumerate(rules) if not r.keywords))


def _trie(words: list[str]) -> str:
    """A regex matching any of `words`, longest first, shaped as a trie (fast in `re`)."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items())
                    if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def _applies(allow: dict[str, Any]) -> bool:
    # We scan text, not files: an allowlist that needs a path to match never does.
    return not (allow.get("condition", "OR").upper() == "AND" and allow.get("paths"))


def _allow(raw: dict[str, Any]) -> _Allow:
    return _Allow(tuple(_compile(r) for r in raw.get("regexes", ())),
                  raw.get("regexTarget", "secret"),
                  tuple(w.lower() for w in raw.get("stopwords", ())))


def _compile(pattern: str) -> re.Pattern[str]:
    """A gitleaks (Go RE2) regex as a Python one."""
    return re.compile(translate_re2(pattern), re.ASCII)


_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "digit": "0-9", "xdigit": "0-9a-fA-F",
    "lower": "a-z", "upper": "A-Z", "space": r" \t\n\r\f\v", "word": r"\w",
    "punct": r"!-/:-@\[-`{-~",
}

_CONTEXT_PREFIX = r"[\w.-]{0,50}?"
"""gitleaks' lazy lead-in before a keyword: it may match nothing, so dropping it finds the
same secrets, and Python's backtracking engine no longer tries 50 starts at every offset."""


def translate_re2(pattern: str) -> str:
    """Go RE2 syntax as Python `re` syntax: `\\z`, POSIX classes, flags set mid-pattern."""
    pattern = pattern.replace(_CONTEXT_PREFIX, "").replace(r"\z", r"\Z")
    for name, chars in _POSIX_CLASSES.items():
        pattern = pattern.replace(f"[:{name}:]", chars)
    return _scope_flags(pattern)


def _scope_flags(pattern: str) -> str:
    """Turn `(?i)` after the start into `(?i:...)` up to the end of its group.

    RE2 lets a flag group switch a flag on for the rest of the enclosing group, every
    alternative after it included; Python 3.11 accepts flags only at the very start.
    """
    index = _find_flag(pattern)
    if index is None:
        return pattern
    head, rest = pattern[:index], pattern[index + 4:]
    end = _group_end(rest)
    body, tail = rest[:end], rest[end:]
    alternatives = _split_alternatives(body)
    scoped = "|".join(f"(?i:{_scope_flags(a)})" for a in alternatives)
    return head + scoped + _scope_flags(tail)


def _find_flag(pattern: str) -> int | None:
    """Where a `(?i)` other than a leading one is, outside character classes."""
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[index + 1:index + 2] == "]":
                index += 1
        elif pattern.startswith("(?i)", index) and index > 0:
            return index
        index += 1
    return None


def _outside_classes(text: str) -> Iterator[tuple[int, str]]:
    """Each character of a regex that is neither escaped nor inside a character class."""
    index = 0
    in_class = False
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if text[index + 1:index + 2] == "]":
                index += 1
        else:
            yield index, char
        index += 1


def _group_end(text: str) -> int:
    """The index of the `)` closing the group `text` starts inside, or len(text)."""
    depth = 0
    for index, char in _outside_classes(text):
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return index
            depth -= 1
    return len(text)


def _split_alternatives(text: str) -> list[str]:
    """`text` split at its top-level `|`."""
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in _outside_classes(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _provider_keys(text: str) -> list[_Hit]:
    rules = rule_set()
    lowered = text.lower()
    hits: list[_Hit] = []
    due = set(rules.always)
    for keyword in set(rules.keywords.findall(lowered)):
        due.update(rules.due[keyword])
    for index in sorted(due):
        rule = rules.rules[index]
        for match in rule.regex.finditer(text):
            span = _secret_span(match, rule.group)
            secret = text[span[0]:span[1]]
            if rule.entropy and entropy(secret) <= rule.entropy:
                continue
            if _allowed(rules.allow, secret, match, text) or any(
                    _allowed(a, secret, match, text) for a in rule.allows):
                continue
            hits.append(_Hit(rule.kind, span[0], span[1], "provider"))
    return hits


def _secret_span(match: re.Match[str], group: int) -> tuple[int, int]:
    if group:
        return match.span(group)
    for index in range(1, (match.re.groups or 0) + 1):
        if match.group(index):
            return match.span(index)
    return match.span()


def _allowed(allow: _Allow, secret: str, match: re.Match[str], text: str) -> bool:
    if allow.stopwords and any(w in secret.lower() for w in allow.stopwords):
        return True
    if not allow.regexes:
        return False
    if allow.target == "match":
        target = match.group()
    elif allow.target == "line":
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        target = text[start:end if end >= 0 else len(text)]
    else:
        target = secret
    return any(r.search(target) for r in allow.regexes)


# --- private keys, also cut by a window --------------------------------------------------------

_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----", re.IGNORECASE)
_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----", re.IGNORECASE)
_PEM_BODY_LINE = re.compile(
    r"""[\s+,(]*(?:[bBrRuU]?["'`])?[ \t]*"""
    r"""(?P<body>[A-Za-z0-9+/=]*|[A-Za-z-]+:[ \t][^"'`]*)"""
    r"""[ \t]*(?:\\n)?(?:["'`])?[\s+,);\\]*""")
"""A line of a key's body as written in a file or a string literal: base64 (or a
`Proc-Type:`-style header), maybe quoted, with `\\n` escapes and concatenation."""

_FULL_BODY = 16
"""Body lines are 64 characters (PEM) or 70 (OpenSSH); only the last may be shorter."""


def _private_keys(text: str) -> list[_Hit]:
    """Private-key blocks, whole or cut: BEGIN to END, or as far as body lines go."""
    if "private key" not in text.lower():
        return []
    hits: list[_Hit] = []
    at = 0
    while True:
        begin = _BEGIN.search(text, at)
        end = _END.search(text, at)
        if begin is None and end is None:
            return hits
        if end is not None and (begin is None or end.start() < begin.start()):
            # An END without its BEGIN: the text starts inside the key's body.
            hits.append(_Hit("private-key", _body_start(text, at, end.start()), end.end(),
                             "pem"))
            at = end.end()
            continue
        assert begin is not None
        stop = _body_end(text, begin.end())
        hits.append(_Hit("private-key", begin.start(), stop, "pem"))
        at = max(stop, begin.end())


def _body_end(text: str, at: int) -> int:
    """Where the key whose BEGIN line ends at `at` ends: its END line, or its last body line.

    A window that stops inside the key leaves no END: its body lines go, down to the cut.
    """
    line_end = _line_end(text, at)
    close = _END.search(text, at, line_end)
    if close is not None:
        return close.end()  # one line: a JSON string with `\\n` escapes
    stop = line_end
    while stop < len(text):
        start = stop + 1
        end = _line_end(text, start)
        close = _END.search(text, start, end)
        if close is not None:
            return close.end()
        body = _PEM_BODY_LINE.fullmatch(text, start, end)
        if body is None:
            break
        if len(body.group("body")) < _FULL_BODY and \
                _END.search(text, end + 1, _line_end(text, end + 1)) is None:
            break  # a short line is the body's last only when END follows it
        stop = end
    return stop


def _body_start(text: str, floor: int, end: int) -> int:
    """Where the body lines right above an END marker at `end` begin (not above `floor`)."""
    start = max(text.rfind("\n", floor, end) + 1, floor)
    first = True
    while start > floor:
        previous = max(text.rfind("\n", floor, start - 1) + 1, floor)
        body = _PEM_BODY_LINE.fullmatch(text, previous, start - 1)
        if body is None or not body.group("body") or (
                not first and len(body.group("body")) < _FULL_BODY):
            break
        start = previous
        first = False
    return start


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end


# --- `sk-` keys of OpenAI-compatible APIs -------------------------------------------------------

_SK_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{20,200}(?![A-Za-z0-9_-])")
"""gitleaks knows OpenAI's own keys by the `T3BlbkFJ` inside them; many OpenAI-compatible
services (and OpenAI's older keys) issue `sk-` keys without it."""


def _sk_keys(text: str) -> list[_Hit]:
    if "sk-" not in text:
        return []
    hits: list[_Hit] = []
    for match in _SK_KEY.finditer(text):
        key = match.group()[3:]
        if _high_entropy(key) and entropy(key) >= 3.5:
            hits.append(_Hit("api-key", match.start(), match.end(), "provider"))
    return hits


# --- passwords in URLs -------------------------------------------------------------------------

_URL_USERINFO = re.compile(r"""([^\s:@/'"`<>\\]{0,128}):([^\s@/'"`<>\\]{1,256})@[\w\[.-]""")


def _url_passwords(text: str) -> list[_Hit]:
    hits: list[_Hit] = []
    at = text.find("://")
    while at >= 0:
        match = _URL_USERINFO.match(text, at + 3)
        at = text.find("://", at + 3)
        if match is None:
            continue
        password = urllib.parse.unquote(match.group(2))
        if not _is_reference(password) and not password.isalpha():
            hits.append(_Hit("password", match.start(2), match.end(2), "url"))
    return hits


# --- values assigned to secret names -----------------------------------------------------------

_NAME_HINT = re.compile(r"pass|pw|secret|token|key|credential|auth", re.IGNORECASE)
_NAME_CHARS = re.compile(r"[\w.-]*", re.ASCII)
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

_ASSIGN = re.compile(
    r"""(?P<close>["'`\]]{0,2})"""
    r"""(?P<type>:[ \t]*[A-Za-z_][\w.\[\]<>|, ]*?[ \t]*(?==[^=>]))?[ \t]*"""
    r"""(?P<op>:=|=>|==|!=|\?=|=(?!=)|:(?=[ \t"'`]|$)|\((?=[ \t]*[rRbBuU]?["'`]))[ \t]*"""
    r"""(?:(?P<q>[rRbBuU]?(?P<quote>["'`]))(?P<quoted>(?:\\.|(?!(?P=quote))[^\\\n])*)"""
    r"""(?P=quote)|(?P<bare>[^\s"'`;,#&)\]}]+))""", re.MULTILINE)
_CALL_END = re.compile(r"[ \t]*\)")
"""After a name (and maybe its type: `apiKey: string =`, `pw: str =`): an assignment,
key-value or comparison operator (or a call with a string literal, `setPassword("...")`),
then a quoted or a bare value."""

_DOCKER_ENV = re.compile(r"[ \t]*(?:ENV|ARG)[ \t]+$")
_LINE_START = re.compile(r"""[ \t]*(?:export[ \t]+|set[ \t]+|-[ \t]+)?["']?$""")

_SECRET_WORDS = {"password": "password", "passwd": "password", "pwd": "password",
                 "passphrase": "password", "pass": "password", "pw": "password",
                 "secret": "secret", "secrets": "secret", "token": "token",
                 "credential": "credential", "credentials": "credential",
                 "apikey": "api-key"}
_KEY_QUALIFIERS = {"api", "access", "secret", "private", "signing", "encryption", "master",
                   "auth", "client", "app", "license", "service", "account", "session"}
_META_WORDS = {
    "name", "names", "id", "ids", "field", "fields", "label", "url", "uri", "endpoint", "file",
    "filename", "path", "dir", "length", "len", "size", "type", "types", "format", "pattern",
    "regex", "re", "prompt", "message", "msg", "text", "title", "placeholder", "help", "hint",
    "error", "errors", "header", "param", "params", "env", "var", "policy", "hasher", "hashers",
    "validator", "validators", "reset", "changed", "required", "min", "max", "count", "expiry",
    "expires", "expiration", "ttl", "timeout", "column", "attr", "prefix", "suffix", "mask",
    "chars", "strength", "class", "widget", "view", "form", "template", "input", "selector",
    "kind", "mode", "style", "provider", "source", "location", "index", "idx", "position", "pos",
    "start", "end", "char", "list", "set", "map", "dict", "version", "algorithm", "method",
    "scheme", "scope", "scopes", "store", "manager", "backend", "handler", "getter", "setter",
    "cls", "factory", "parser", "tokenizer", "literal", "value_type", "option", "options", "flag",
    "enabled", "confirm", "confirmation", "hash", "hashed", "salt", "digest", "encoding",
    "encoder", "decoder", "callback", "response", "request", "spec", "schema", "tag", "tags",
    "level", "stream", "delimiter", "startswith", "endswith", "contains", "icontains", "exact",
    "iexact", "isnull", "in",
}
"""Words after the secret word that make the name about the secret, not the secret itself
(`password_field`, `token_url`, `secret_name`)."""

_TYPE_WORDS = re.compile(r"(?:u?int|float|complex|Int|Uint|Float)\d+(?:Array)?|"
                         r"(?:sha|md|utf|base|http|ucs|latin|rs|hs|es|ps|aes|des)\d+", re.I)
_FILE_NAME = re.compile(r"[\w.-]+\.[A-Za-z]{2,5}")
_PLAIN_SEGMENT = re.compile(r"[a-z0-9_.~-]*|[A-Z0-9_.~-]*|[A-Z]?[a-z]+\d*(?:[_.-][A-Za-z0-9]+)*")
_EXPRESSION = re.compile(r"[a-z_][a-z0-9_]*(?:[-+*/%][a-z_][a-z0-9_]*)+")
"""Lower-case names joined by operators (`pwd+pwd`); base64 keys mix cases."""
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_WORDISH = re.compile(r"[A-Za-z_][A-Za-z_. -]*")
_NAME_LIKE = re.compile(r"_*[A-Za-z]{2,}\d*(?:[_.-]+[A-Za-z]{2,}\d*)+"
                        r"|[a-z]{2,}(?:[A-Z][a-z]{2,})+\d*")
"""Words joined (`imdsv2_session_token`, `sessionTokenV2`): a name, however long."""
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*", re.ASCII)
_SECRET_CHARS = re.compile(r"[\w!#$%&*+\-./:=?@^~|]+", re.ASCII)


def secret_kind(name: str) -> str | None:
    """The kind of secret a variable or key of this name holds, or None."""
    words = [w.lower() for w in _WORDS.findall(name)]
    for index, word in enumerate(words):
        kind = _SECRET_WORDS.get(word)
        if word == "key" and index > 0 and words[index - 1] in _KEY_QUALIFIERS:
            kind = "api-key" if words[index - 1] in ("api", "app", "license") else "secret-key"
            if words[index - 1] == "private":
                kind = "private-key"
        if kind is None:
            continue
        if any(w in _META_WORDS for w in words[index + 1:]):
            return None
        if "aws" in words and ("secret" in words or kind == "secret-key"):
            return "aws-secret-access-key"
        return kind
    return None


def _assignments(text: str) -> list[_Hit]:
    hits: list[_Hit] = []
    seen_end = -1
    for hint in _NAME_HINT.finditer(text):
        if hint.start() < seen_end:
            continue
        name_start = hint.start()
        while name_start > 0 and (text[name_start - 1].isalnum() or
                                  text[name_start - 1] in "_.-"):
            name_start -= 1
        name_end = _NAME_CHARS.match(text, hint.end()).end()  # type: ignore[union-attr]
        seen_end = name_end
        while name_end > hint.end() and text[name_end - 1] in ".-":
            name_end -= 1  # a sentence's full stop, not part of the name
        name = text[name_start:name_end]
        # `secret.encode(...)`: only the last part of a dotted name says what it holds.
        kind = secret_kind(name.rsplit(".", 1)[-1])
        if kind is None:
            continue
        match = _ASSIGN.match(text, name_end)
        if match is not None and match.group("op") == "(" and not _CALL_END.match(
                text, match.end()):
            continue  # `set_password(user, ...)`: the first of several arguments
        if match is None:
            line_head = text[text.rfind("\n", 0, name_start) + 1:name_start]
            if not _DOCKER_ENV.fullmatch(line_head):
                continue
            match = re.compile(r"[ \t]+(?P<bare>\S+)").match(text, name_end)
            if match is None:
                continue
        quoted = match.group("quote") is not None if "quote" in match.re.groupindex else False
        group = "quoted" if quoted else "bare"
        value = match.group(group)
        if value is None:
            continue
        if not quoted:
            value = value.rstrip(":.,")  # `if s == self.secret:`
        line_head = text[text.rfind("\n", 0, name_start) + 1:name_start]
        line_start = bool(_LINE_START.fullmatch(line_head) or _DOCKER_ENV.fullmatch(line_head))
        if _is_secret_value(value, kind, quoted, line_start):
            hits.append(_Hit(kind, match.start(group), match.start(group) + len(value),
                             "assignment"))
    return hits


_HASH_FORMAT = re.compile(r"(?:pbkdf2|argon2|bcrypt|scrypt|sha\d*|md5|crypt|unsalted)[\w-]*\$",
                          re.IGNORECASE)
"""A password hash as Django and passlib store them (`pbkdf2_sha256$600000$...`)."""


def _is_reference(value: str) -> bool:
    """A placeholder, a variable or a template instead of a value."""
    return (not value or value[0] in "$%<{[(*@#:" or _HASH_FORMAT.match(value) is not None
            or "{" in value or "}" in value or len(set(value)) == 1
            or value.lower() in {"null", "none", "nil", "true", "false", "undefined",
                                 "password", "secret", "token", "changeme", "redacted",
                                 "example", "xxx", "todo", "fixme"})


def _is_secret_value(value: str, kind: str, quoted: bool, line_start: bool) -> bool:
    """Whether a value assigned to a secret-named name is the secret itself."""
    if _is_reference(value) or not _SECRET_CHARS.fullmatch(value):
        return False  # whitespace, brackets, quotes: a message, an expression, a pattern
    if "://" in value or _is_path(value) or _DOTTED.fullmatch(value):
        return False  # a URL (its password has its own rule), a file, a module path
    if not quoted and _EXPRESSION.fullmatch(value):
        return False  # `pwd = pwd+pwd`
    if _TYPE_WORDS.fullmatch(value) or _NAME_LIKE.fullmatch(value):
        return False  # `int64`, `_convert_oauth2_credentials`: code, not a secret
    if _high_entropy(value):
        return True
    if kind not in ("password", "secret", "aws-secret-access-key"):
        return False  # tokens and keys are long random strings; short ones are something else
    if _WORDISH.fullmatch(value):
        return False  # `"new_password"`, `"Password"`: a name or a label, not a password
    if not quoted and not line_start and _IDENTIFIER.fullmatch(value):
        return False  # `f(password=pw2)`: a variable in code, not a literal
    return len(value) >= 4


def _is_path(value: str) -> bool:
    """A file name, or a path whose every part is a plain word (`us-east-1/host/aws4_request`).

    A base64 key has slashes too, between runs of mixed case that no path has.
    """
    if _FILE_NAME.fullmatch(value):
        return True
    separator = "\\" if "\\" in value and "/" not in value else "/"
    return separator in value and all(
        _PLAIN_SEGMENT.fullmatch(part) for part in value.split(separator))


def _high_entropy(value: str) -> bool:
    """A long random-looking string: what generated keys and tokens look like."""
    if len(value) < 16 or _NAME_LIKE.fullmatch(value):
        return False
    if not any(c.isdigit() or c in "+/=" for c in value):
        return False  # `passwordPASSWORDpassword`: random keys of this length have digits
    classes = sum(1 for test in (str.islower, str.isupper, str.isdigit)
                  if any(test(c) for c in value))
    return classes >= 2 and entropy(value) >= 3.0
