"""The README's commands, cursor, settings example and settings table match the code."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from lspilot.cli import _parser, cursor_offset, parse_cursor
from lspilot.settings import json_schema, parse_settings
from lspilot.templates import TEMPLATES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_set_up_commands() -> None:
    block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^demo:.*\n\t(.+)$", makefile, re.M)
    assert demo is not None
    assert "lspilot complete examples/fib.py:5:12" in demo.group(1)
    assert "bash .ci/run" not in makefile and "make test" in (ROOT / ".ci/run").read_text()


def test_the_demo_cursor_is_where_the_readme_says() -> None:
    path, line, column = parse_cursor("examples/fib.py:5:12")
    text = (ROOT / path).read_text()
    offset = cursor_offset(text, line, column)
    assert text[:offset].endswith("        return n\n    return ")


def test_the_settings_example_is_valid() -> None:
    example = re.search(r"```json\n(.+?)\n```", README, re.S)
    assert example is not None
    settings, errors = parse_settings(json.loads(example.group(1)))
    assert errors == [] and settings.models.autocomplete == "qwen2.5-coder:1.5b"


def test_every_settings_example_is_valid() -> None:
    section = README.split("\n## Settings", 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"```json\n(.+?)\n```", section, re.S)
    assert len(examples) >= 2
    for example in examples:
        assert parse_settings(json.loads(example))[1] == [], example


def flatten(schema: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if prop.get("type") == "object":
            keys.update(flatten(prop, f"{prefix}{name}."))
        else:
            keys[f"{prefix}{name}"] = prop["default"]
    return keys


def test_the_settings_table_lists_every_setting_with_its_default() -> None:
    section = README.split("\n## Settings", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([\w.]+)` \| `?([^`|]*?)`? \|", section, re.M))
    schema = flatten(json_schema())
    assert set(rows) == set(schema)
    for key, default in schema.items():
        shown = json.dumps(default) if isinstance(default, bool) else str(default)
        assert rows[key] == shown, key


def test_the_template_table_lists_every_family_with_its_tokens() -> None:
    table = README.split("| family | prefix, suffix, middle |", 1)[1].split("\n\n", 1)[0]
    rows = [re.split(r"(?<!\\)\|", line.strip().strip("|"))
            for line in table.splitlines()[2:]]
    spelled = {cells[0].strip(" `"): re.findall(r"`([^`]+)`", cells[1] + cells[2])
               for cells in rows}
    assert spelled == {t.family: [s.replace("|", "\\|") for s in t.signature]
                       for t in TEMPLATES}


def test_the_context_section_lists_every_source() -> None:
    from lspilot.context.snippet import VOLATILITY

    section = README.split("\n## Context from the workspace", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", section, re.M)
    assert set(rows) == set(VOLATILITY)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's subcommands by name (none: empty)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def test_the_commands_table_names_real_commands_and_options() -> None:
    table = README.split("\n## Commands", 1)[1].split("\n\n", 2)[1]
    rows = table.splitlines()[2:]
    assert len(rows) >= 8
    for row in rows:
        command = row.strip("|").split(" | ", 1)[0]
        parser = _parser()
        for word in command.strip(" `").split()[1:]:
            parser = subcommands(parser).get(word, parser)
        options = {o for a in parser._actions for o in a.option_strings}
        for option in re.findall(r"`(--[\w-]+)", row):
            assert option in options, f"{command}: {option}"
