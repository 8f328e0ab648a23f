"""Settings: one typed object; bad values are reported by key and defaults stay."""

from __future__ import annotations

from typing import Any

import pytest

from lspilot.settings import Settings, json_schema, parse_settings


@pytest.mark.parametrize(("raw", "check"), [
    ({}, lambda s: s == Settings()),
    ({"models": {"autocomplete": "/m/x.gguf"}}, lambda s: s.models.autocomplete == "/m/x.gguf"),
    ({"completion": {"maxTokens": 12, "suffixShare": 0}},
     lambda s: s.completion.max_tokens == 12 and s.completion.suffix_share == 0.0),
    ({"llamaCpp": {"contextSize": 2048}}, lambda s: s.llama_cpp.context_size == 2048),
    ({"logLevel": "debug"}, lambda s: s.log_level == "debug"),
    ({"lspilot": {"logLevel": "error"}}, lambda s: s.log_level == "error"),
    ({"context": {"sources": " definition, usage"}},
     lambda s: s.context.source_names == {"definition", "usage"}),
    ({"context": {"sources": ""}}, lambda s: s.context.source_names == set()),
    (None, lambda s: s == Settings()),
])
def test_valid_settings_apply(raw: dict[str, Any], check: Any) -> None:
    settings, errors = parse_settings(raw)
    assert errors == []
    assert check(settings)


@pytest.mark.parametrize(("raw", "message"), [
    ({"completion": {"maxTokens": "many"}}, "lspilot.completion.maxTokens: expected an integer"),
    ({"completion": {"maxTokens": True}}, "lspilot.completion.maxTokens: expected an integer"),
    ({"completion": {"maxTokens": 0}}, "lspilot.completion.maxTokens: must be at least 1"),
    ({"completion": {"suffixShare": 2}}, "lspilot.completion.suffixShare: must be at most 0.9"),
    ({"models": {"autocomplete": " "}}, "lspilot.models.autocomplete: must not be empty"),
    ({"models": "qwen"}, "lspilot.models: expected an object"),
    ({"modles": {}}, "lspilot.modles: unknown setting"),
    ({"logLevel": "loud"}, "lspilot.logLevel: must be one of debug, info, warning, error"),
    ({"context": {"sources": "scope,usages"}}, "lspilot.context.sources: unknown 'usages'"),
    ({"context": {"sources": "scope, scope"}}, "lspilot.context.sources: a name comes twice"),
    ([1, 2], "lspilot: expected an object"),
])
def test_bad_settings_are_reported_and_defaults_stay(raw: Any, message: str) -> None:
    settings, errors = parse_settings(raw)
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert settings == Settings()


def test_good_keys_apply_next_to_bad_ones() -> None:
    settings, errors = parse_settings({"completion": {"maxTokens": -1, "maxLines": 3}})
    assert len(errors) == 1
    assert settings.completion.max_lines == 3
    assert settings.completion.max_tokens == Settings().completion.max_tokens


def test_json_schema_mirrors_the_dataclasses() -> None:
    schema = json_schema()
    completion = schema["properties"]["completion"]["properties"]
    assert completion["maxTokens"] == {
        "type": "integer", "default": 64, "minimum": 1, "maximum": 1024,
        "description": "Most tokens generated for one completion."}
    assert schema["properties"]["models"]["properties"]["autocomplete"]["default"] == \
        "qwen2.5-coder:0.5b"
    assert schema["properties"]["logLevel"]["enum"] == ["debug", "info", "warning", "error"]


@pytest.mark.parametrize(("raw", "message"), [
    ({"completion": {"earlyStop": "no"}}, "lspilot.completion.earlyStop: expected true or false"),
    ({"llamaCpp": {"reuseKvCache": 0}}, "lspilot.llamaCpp.reuseKvCache: expected true or false"),
])
def test_switches_take_booleans_only(raw: dict[str, Any], message: str) -> None:
    _, errors = parse_settings(raw)
    assert errors and errors[0].startswith(message)


def test_template_families_match_the_registry() -> None:
    from lspilot.settings import TEMPLATE_FAMILIES
    from lspilot.templates import TEMPLATES

    assert TEMPLATE_FAMILIES == tuple(t.family for t in TEMPLATES)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_no_setting_takes_nan_or_infinity(value: float) -> None:
    settings, errors = parse_settings({"completion": {"suffixShare": value},
                                       "servers": {"readTimeout": value}})
    assert settings == Settings()
    assert len(errors) == 2 and all("finite" in e for e in errors)


def test_the_context_sources_setting_names_the_workspaces_sources() -> None:
    from lspilot.context.workspace import Workspace
    from lspilot.settings import CONTEXT_SOURCES, ContextSettings

    workspace = Workspace(None, ContextSettings(), list)
    assert tuple(source.name for source in workspace.sources) == CONTEXT_SOURCES
