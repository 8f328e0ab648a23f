"""`workspace/executeCommand`: what the last completion read, counters, status, models."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from lspilot import __version__
from lspilot.completion.explain import explanation, summary
from lspilot.context.workspace import Workspace
from lspilot.lsp.server import LspilotServer
from lspilot.lsp.status import status_params
from lspilot.models.listing import list_models
from lspilot.models.roles import ROLES, Role, parse_model_id
from lspilot.models.store import ModelError
from lspilot.settings import json_key

DEBUG_COMMANDS_ENV = "LSPILOT_DEBUG_COMMANDS"
"""Set (to anything) to register `lspilot.debug.document`, which tests use to read the
server's copy of a document; editors never see it."""


def parse_selection(arguments: Any) -> tuple[Role, str]:
    """`lspilot.selectModel`'s one argument `{"id": str, "role": "autocomplete"|"edit"}`."""
    if not (isinstance(arguments, list | tuple) and len(arguments) == 1
            and isinstance(arguments[0], dict)):
        raise ValueError('expected one argument {"id": ..., "role": ...}')
    model_id, role = arguments[0].get("id"), arguments[0].get("role", "autocomplete")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError(f"id must be a model id, got {model_id!r}")
    try:
        parse_model_id(model_id)
    except ModelError as exc:
        raise ValueError(str(exc)) from exc
    return role, model_id


def context_status(context: Workspace | None) -> dict[str, Any] | None:
    """The context engine's state: its workspace and how far indexing got."""
    if context is None:
        return None
    index = context.index
    state = "off" if index is None else "ready" if index.ready else "indexing"
    return {"root": str(context.root) if context.root is not None else None, "state": state,
            "enabled": context.settings.enabled,
            "indexReady": index.ready if index is not None else False,
            "indexedFiles": len(index.files()) if index is not None else 0}


def resident_bytes() -> int | None:
    """This process's resident memory (Linux), to watch a model switch give memory back."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def stats(ls: LspilotServer) -> dict[str, float | int]:
    """The completion counters, with camelCase keys."""
    return {json_key(k): v for k, v in ls.session.engine.meter.figures().items()}


def register(server: LspilotServer) -> None:
    """Add the commands."""

    @server.command("lspilot.lastCompletion")
    def last_completion(ls: LspilotServer) -> dict[str, Any] | None:
        last = ls.session.engine.last
        return summary(last) if last is not None else None

    @server.command("lspilot.explainCompletion")
    def explain_completion(ls: LspilotServer) -> dict[str, Any] | None:
        last, backend = ls.session.engine.last, ls.session.engine.slot.backend
        if last is None or backend is None:
            return None
        return explanation(last, backend.count_tokens)

    @server.command("lspilot.accept")
    def accept(ls: LspilotServer, shown_id: int) -> bool:
        return ls.session.engine.meter.accepted(shown_id)

    @server.command("lspilot.stats")
    def stats_command(ls: LspilotServer) -> dict[str, float | int]:
        return stats(ls)

    @server.command("lspilot.status")
    def status(ls: LspilotServer) -> dict[str, Any]:
        now = status_params(ls.session.status())
        state = ls.session.slots["autocomplete"].state
        return {"state": state, "model": now["model"], "template": now["template"],
                "edit": {"model": now["editModel"], "state": now["editState"]},
                "version": __version__, "counters": stats(ls), "rssBytes": resident_bytes(),
                "context": context_status(ls.session.workspace)}

    @server.command("lspilot.listModels")
    async def list_models_command(ls: LspilotServer) -> dict[str, Any]:
        return await list_models(ls.session.settings, ls.session.store)

    if os.environ.get(DEBUG_COMMANDS_ENV):

        @server.command("lspilot.debug.document")
        def debug_document(ls: LspilotServer, *arguments: Any) -> dict[str, Any] | None:
            """Arguments: the document's URI, then true to have its text too."""
            if not arguments or not isinstance(arguments[0], str):
                raise JsonRpcInvalidParams("lspilot.debug.document: expected a URI")
            uri, with_text = arguments[0], len(arguments) > 1 and arguments[1] is True
            doc = ls.documents.get(uri)
            if doc is None:
                return None
            answer: dict[str, Any] = {
                "version": doc.version, "length": len(doc.text),
                "sha256": hashlib.sha256(doc.text.encode("utf-8", "surrogatepass")).hexdigest()}
            if with_text:
                answer["text"] = doc.text
            return answer

    @server.command("lspilot.selectModel")
    def select_model(ls: LspilotServer, *arguments: Any) -> dict[str, Any]:
        try:
            role, model_id = parse_selection(arguments)
        except ValueError as exc:
            raise JsonRpcInvalidParams(f"lspilot.selectModel: {exc}") from None
        ls.session.select_model(role, model_id)
        models = ls.session.settings.models
        return {"autocomplete": models.autocomplete, "edit": models.edit or None}
