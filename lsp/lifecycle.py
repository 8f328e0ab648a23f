"""Initialize, initialized, shutdown and configuration: the session's life cycle."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types

from lspilot.lsp.server import LspilotServer


def workspace_root(params: types.InitializeParams) -> Path | None:
    """The first workspace folder, else the root URI or path the client sent, if local."""
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    elif params.root_path:
        return Path(params.root_path)
    if uri is None:
        return None
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def register(server: LspilotServer) -> None:
    """Add the life-cycle handlers."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: LspilotServer, params: types.InitializeParams) -> None:
        # Loading starts at `initialized`: no request may reach the client before that.
        ls.apply_settings(params.initialization_options, load=False)
        ls.session.open_workspace(workspace_root(params))

    @server.feature(types.INITIALIZED)
    def initialized(ls: LspilotServer, params: types.InitializedParams) -> None:
        if ls.front.initialized:
            return  # sent twice: the models and the index are started once
        ls.front.release()
        ls.session.start()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: LspilotServer, params: None) -> None:
        ls.shutdown_requested = True

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: LspilotServer,
                                       params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        workspace = ls.client_capabilities.workspace
        if not raw and workspace is not None and workspace.configuration:
            pulled = await ls.workspace_configuration_async(types.ConfigurationParams(
                items=[types.ConfigurationItem(section="lspilot")]))
            raw = pulled[0] if pulled else None
        ls.apply_settings(raw)

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def cancel_progress(ls: LspilotServer, params: types.WorkDoneProgressCancelParams) -> None:
        cancel = ls.progress_cancellers.get(str(params.token))
        if cancel is not None:
            cancel()
