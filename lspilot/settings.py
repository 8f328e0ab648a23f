"""One typed, fully defaulted settings object, parsed once at the edge.

The same parser reads `initializationOptions`, `workspace/didChangeConfiguration`
and the command line, so a setting means the same thing everywhere. A bad value is
reported (naming its key) and the default stays in force.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

DEFAULT_MODEL = "qwen2.5-coder:0.5b"
DEFAULT_EDIT_MODEL = "qwen2.5-coder:1.5b"
EDIT_FORMATS = ("auto", "whole", "block", "search-replace")

TEMPLATE_FAMILIES = ("qwen2.5-coder", "codegemma", "codellama", "deepseek-coder", "starcoder",
                     "starcoder2", "codestral")
"""The FIM template families `templates.fim.TEMPLATES` ships (a test keeps the two equal);
spelled out here so that settings import nothing of lspilot's."""

CONTEXT_SOURCES = ("scope", "definition", "usage", "import_usage", "git_diff", "open_file",
                   "recent_edit")
"""The context sources `context/workspace.py` asks, in its order (a test keeps them equal)."""
DEFAULT_CONTEXT_SOURCES = tuple(name for name in CONTEXT_SOURCES
                                if name not in ("definition", "import_usage"))
"""The sources asked unless `context.sources` says otherwise. Two that cost in-file
completions more than they gave are off:
- `definition` (the definitions of the names the file imports): switched off alone it gained
  exact matches on calls of sibling-module names (bench.crossfile 12/42 without it, 10/42
  with it, 7/42 with no context) and cost edit similarity on in-file holes (bench.fim 0.58
  without, 0.55 with, the same exact matches);
- `import_usage` (call sites of the names the file imports): it wins calls of sibling-module
  names (bench.crossfile 13/42 with it, 7/42 without) and loses in-file holes (bench.fim
  tune split 30.0% exact with it, 32.5% without); see context/definitions.py.
`usage` brings call sites only while the cursor is in a call's arguments."""


def _setting(default: Any, doc: str, *, minimum: float | None = None,
             maximum: float | None = None, choices: tuple[str, ...] | None = None,
             items: tuple[str, ...] | None = None, may_be_empty: bool = False) -> Any:
    """`items`: the value is a comma-separated list of these names (each at most once)."""
    return field(default=default, metadata={"doc": doc, "minimum": minimum,
                                            "maximum": maximum, "choices": choices,
                                            "items": items, "may_be_empty": may_be_empty})


@dataclass(frozen=True)
class ModelsSettings:
    """Which model serves each role."""

    autocomplete: str = _setting(
        DEFAULT_MODEL, "Catalog name (see `lspilot models list`), path to a .gguf file, "
        "or BACKEND:MODEL on a server (llama-server:, ollama:, openai:).")
    edit: str = _setting(
        DEFAULT_EDIT_MODEL, "Instruct model for edits (`lspilot.edit`), written like "
        "`autocomplete`; fetched on first use.")


@dataclass(frozen=True)
class CompletionSettings:
    """How completions are generated."""

    max_tokens: int = _setting(64, "Most tokens generated for one completion.",
                               minimum=1, maximum=1024)
    max_lines: int = _setting(8, "Most lines in a multi-line completion.", minimum=1, maximum=200)
    prompt_tokens: int = _setting(
        1536,
        "Hard budget, in the model's own tokens, for the whole prompt (context from other "
        "files, prefix, suffix, FIM tokens).",
        minimum=64, maximum=32768)
    typed_ahead_cache: bool = _setting(
        True, "Serve the rest of a shown completion, without a model call, as it is typed.")
    reuse_window: bool = _setting(
        True, "Keep the prompt window's start while typing, so the KV cache is reused.")
    first_line_branches: int = _setting(
        3, "Likeliest first tokens whose lines are weighed for a completion's first line, each "
        "followed greedily to its line break; the likeliest whole line wins, where the "
        "completion starts a line also read on with the two lines of code below it (the "
        "in-process model; servers, and automatic requests typed on or backspaced from the "
        "last one, generate plain greedy). 1: plain greedy.", minimum=1, maximum=16)
    early_stop: bool = _setting(
        True, "Stop generating as soon as the completion's end is known (line, block).")
    debounce_ms: int = _setting(
        50, "Pause after a keystroke before an automatic completion calls the model.",
        minimum=0, maximum=2000)
    suffix_share: float = _setting(
        0.25, "Share of the prompt budget kept for text after the cursor.",
        minimum=0.0, maximum=0.9)
    typing_suffix_tokens: int = _setting(
        64, "Most tokens of text after the cursor for an automatic request typed on or "
        "backspaced from the last one, which re-reads all of them on every keystroke; other "
        "requests (the first at a place, invoked ones) get suffixShare, which completes better.",
        minimum=0, maximum=32768)
    refresh_after_hit: bool = _setting(
        True, "After a suggestion served from the typed-ahead cache, when the user pauses and "
        "the model is idle, ask the model again with what was typed since; the editor is told "
        "(`lspilot/refresh`) when the new suggestion differs.")


@dataclass(frozen=True)
class ContextSettings:
    """Code from other files put into the prompt (definitions, usages, git diff, open files)."""

    enabled: bool = _setting(
        True, "Put code from the rest of the workspace into the prompt.")
    tokens: int = _setting(
        512, "Tokens of the prompt budget (`completion.promptTokens`) kept for that code.",
        minimum=0, maximum=16384)
    deadline_ms: int = _setting(
        30, "Most time gathering context may take per request; sources still running are "
        "skipped.", minimum=1, maximum=1000)
    index_workspace: bool = _setting(
        True, "Index the workspace's files (in the background, honouring .gitignore and "
        ".lspilotignore) to find definitions and usages in files that are not open.")
    sources: str = _setting(
        ",".join(DEFAULT_CONTEXT_SOURCES), "The context sources asked, comma-separated (any of "
        + ", ".join(CONTEXT_SOURCES) + "); empty: none.", items=CONTEXT_SOURCES,
        may_be_empty=True)

    @property
    def source_names(self) -> frozenset[str]:
        """The names in `sources`."""
        return frozenset(name.strip() for name in self.sources.split(",") if name.strip())


@dataclass(frozen=True)
class EditSettings:
    """Multi-file edits from an instruction (`lspilot.edit`, `lspilot edit`)."""

    format: str = _setting(
        "auto", "How the model writes its answer: whole files, whole blocks (the selection or "
        "the enclosing function/class, and the call sites), or search/replace blocks; `auto` "
        "picks per model and task size.", choices=EDIT_FORMATS)
    context_size: int = _setting(
        8192, "Context window (tokens) the edit model is loaded with (embedded backend).",
        minimum=1024, maximum=131072)
    max_tokens: int = _setting(
        3072, "Most tokens the edit model writes for one edit.", minimum=64, maximum=65536)
    context_tokens: int = _setting(
        1024, "Tokens of the prompt for read-only code the edit needs (definitions, call "
        "sites in files it does not change).", minimum=0, maximum=32768)
    allow_syntax_errors: bool = _setting(
        False, "Apply an edit even when it leaves a file that parsed with syntax errors.")
    reflections: int = _setting(
        0, "Times an answer that cannot be applied, or that leaves Python names undefined (in "
        "its files or in the files importing from them), goes back to the model with the "
        "problem.", minimum=0, maximum=3)


@dataclass(frozen=True)
class PrivacySettings:
    """What is kept out of prompts."""

    redact_secrets: bool = _setting(
        True, "Replace secrets written in files (API keys, tokens, passwords, private keys) "
        "by placeholders before any text reaches the model, and never insert one.")


@dataclass(frozen=True)
class LlamaCppSettings:
    """Settings of the embedded llama.cpp runtime."""

    context_size: int = _setting(4096, "Context window (tokens) the model is loaded with.",
                                 minimum=256, maximum=131072)
    threads: int = _setting(0, "CPU threads for generation; 0 picks the number of cores.",
                            minimum=0, maximum=512)
    batch_size: int = _setting(512, "Tokens evaluated per batch while reading a prompt.",
                               minimum=8, maximum=8192)
    reuse_kv_cache: bool = _setting(
        True, "Evaluate only the prompt tokens after the part shared with the last prompt.")
    prompt_lookup: int = _setting(
        20, "Tokens the edit model drafts from its prompt per step while it copies code "
        "(prompt-lookup decoding); 0: off. The model then keeps logits for what it writes: "
        "600 kB a token for Qwen's vocabulary.", minimum=0, maximum=64)


@dataclass(frozen=True)
class ServersSettings:
    """Inference servers that BACKEND:MODEL ids run on."""

    llama_server_url: str = _setting("http://127.0.0.1:8080", "llama.cpp server (llama-server).")
    llama_server_endpoint: str = _setting(
        "infill", "`infill`: the server applies the model's FIM template; `completion`: ours.",
        choices=("infill", "completion"))
    ollama_url: str = _setting("http://127.0.0.1:11434", "Ollama.")
    ollama_keep_alive: str = _setting("30m", "How long Ollama keeps the model loaded.")
    openai_url: str = _setting("http://127.0.0.1:8000/v1",
                               "OpenAI-compatible API base (vLLM, SGLang, LM Studio, ...).")
    openai_api_key_env: str = _setting(
        "OPENAI_API_KEY", "Environment variable holding the API key (never logged).")
    template: str = _setting("qwen2.5-coder", "FIM template for raw prompts sent to servers.",
                             choices=TEMPLATE_FAMILIES)
    context_size: int = _setting(4096, "Context window of the server's model, in tokens.",
                                 minimum=256, maximum=131072)
    connect_timeout: float = _setting(2.0, "Seconds to wait for a connection.",
                                      minimum=0.1, maximum=60.0)
    read_timeout: float = _setting(30.0, "Seconds to wait for the next piece of an answer.",
                                   minimum=0.5, maximum=600.0)


@dataclass(frozen=True)
class Settings:
    """Everything a user can configure, with defaults."""

    models: ModelsSettings = field(default_factory=ModelsSettings)
    completion: CompletionSettings = field(default_factory=CompletionSettings)
    context: ContextSettings = field(default_factory=ContextSettings)
    edit: EditSettings = field(default_factory=EditSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    llama_cpp: LlamaCppSettings = field(default_factory=LlamaCppSettings)
    servers: ServersSettings = field(default_factory=ServersSettings)
    log_level: str = _setting("info", "Log level of the server's stderr log.",
                              choices=("debug", "info", "warning", "error"))


def json_key(name: str) -> str:
    """The camelCase key a field has in JSON settings (`max_tokens` -> `maxTokens`)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_T = TypeVar("_T")


def parse_settings(raw: Mapping[str, Any] | None, base: Settings | None = None
                   ) -> tuple[Settings, list[str]]:
    """Parse JSON-shaped settings over `base`; return them and one message per bad key.

    The settings object may come bare or wrapped as `{"lspilot": {...}}` (the section
    name), as editors send either.
    """
    if isinstance(raw, Mapping) and set(raw) == {"lspilot"}:
        raw = raw["lspilot"]
    errors: list[str] = []
    settings = _parse_section(Settings, base or Settings(), raw or {}, "lspilot", errors)
    return settings, errors


def _parse_section(cls: type[_T], base: _T, raw: Any, path: str, errors: list[str]) -> _T:
    if not isinstance(raw, Mapping):
        errors.append(f"{path}: expected an object, got {type(raw).__name__}")
        return base
    by_key = {json_key(f.name): f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        f = by_key.get(key)
        if f is None:
            errors.append(f"{path}.{key}: unknown setting")
            continue
        current = getattr(base, f.name)
        if dataclasses.is_dataclass(current):
            changes[f.name] = _parse_section(type(current), current, value, f"{path}.{key}", errors)
            continue
        problem = _check_value(f, current, value)
        if problem:
            errors.append(f"{path}.{key}: {problem}; keeping {current!r}")
        else:
            changes[f.name] = float(value) if isinstance(current, float) else value
    return dataclasses.replace(base, **changes)  # type: ignore[type-var]


def _check_value(f: dataclasses.Field[Any], current: Any, value: Any) -> str | None:
    meta = f.metadata
    expected = type(current)
    if expected is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        return f"expected {_type_name(expected)}, got {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    if meta.get("minimum") is not None and value < meta["minimum"]:
        return f"must be at least {meta['minimum']}, got {value!r}"
    if meta.get("maximum") is not None and value > meta["maximum"]:
        return f"must be at most {meta['maximum']}, got {value!r}"
    if meta.get("choices") and value not in meta["choices"]:
        return f"must be one of {', '.join(meta['choices'])}, got {value!r}"
    if meta.get("items") is not None:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in meta["items"]]
        if unknown:
            return f"unknown {', '.join(map(repr, unknown))}: names are " \
                f"{', '.join(meta['items'])}"
        if len(set(names)) < len(names):
            return f"a name comes twice in {value!r}"
    if expected is str and not value.strip() and not meta.get("may_be_empty"):
        return "must not be empty"
    return None


def _type_name(t: type) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        t, t.__name__)


def json_schema(cls: type = Settings) -> dict[str, Any]:
    """The JSON schema of the settings, for documentation and editor extensions."""
    properties: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
        if dataclasses.is_dataclass(default):
            sub = json_schema(type(default))
            sub["description"] = (type(default).__doc__ or "").strip()
            properties[json_key(f.name)] = sub
            continue
        kind = {int: "integer", float: "number", str: "string", bool: "boolean"}[type(default)]
        prop: dict[str, Any] = {"type": kind, "default": default,
                                "description": f.metadata.get("doc", "")}
        if f.metadata.get("minimum") is not None:
            prop["minimum"] = f.metadata["minimum"]
        if f.metadata.get("maximum") is not None:
            prop["maximum"] = f.metadata["maximum"]
        if f.metadata.get("choices"):
            prop["enum"] = list(f.metadata["choices"])
        properties[json_key(f.name)] = prop
    return {"type": "object", "properties": properties, "additionalProperties": False}
