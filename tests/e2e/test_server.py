"""`nogil-lint server` under pytest-lsp, an independent LSP client (pygls), with the client
capabilities VS Code and Neovim announce: open a module of a small project, get its
diagnostics, and apply a code action's edit. Run by tests/server_e2e.rs, which passes the
binary in NOGIL_LINT_BIN."""

import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

REGISTRY = """\
import threading

HANDLERS = {}


def register(name, handler):
    HANDLERS[name] = handler


def names():
    return [name for name in HANDLERS]


def start():
    threading.Thread(target=register, args=("a", print)).start()
    threading.Thread(target=names).start()
"""


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[os.environ["NOGIL_LINT_BIN"], "server"]),
    params=["visual-studio-code", "neovim"],
)
async def client(lsp_client: LanguageClient, tmp_path: pathlib.Path, request):
    capabilities = client_capabilities(request.param)

    # VS Code's capabilities allow dynamic registration: the server asks to watch its
    # configuration files, and the editor agrees, as VS Code does.
    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams):
        lsp_client.registrations = [r.register_options for r in params.registrations]
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "registry.py").write_text(REGISTRY)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=tmp_path.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="project")],
        )
    )
    lsp_client.project = tmp_path
    yield
    await lsp_client.shutdown_session()


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """The text after the edits (ASCII here, so UTF-16 units are characters)."""
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        return sum(len(line) for line in lines[: position.line]) + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


@pytest.mark.asyncio
async def test_diagnostics_and_a_code_action_edit(client: LanguageClient):
    path = client.project / "pkg" / "registry.py"
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=REGISTRY
            )
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    diagnostics = client.diagnostics[uri]
    assert [d.code for d in diagnostics] == ["NG105", "NG109"]
    ng109 = diagnostics[1]
    assert ng109.severity == types.DiagnosticSeverity.Error
    assert ng109.source == "nogil-lint"
    assert ng109.range == types.Range(
        start=types.Position(line=10, character=29), end=types.Position(line=10, character=37)
    )
    assert "RuntimeError" in ng109.message
    assert ng109.related_information[0].location.range.start.line == 15

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=10, character=30),
        )
    )
    assert "NG109" in hover.contents.value

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=ng109.range,
            context=types.CodeActionContext(diagnostics=[ng109]),
        )
    )
    fix = next(action for action in actions if action.is_preferred)
    assert fix.kind == types.CodeActionKind.QuickFix
    edits = fix.edit.changes[uri]
    assert [edit.new_text for edit in edits] == ["list(HANDLERS)"]
    fixed = apply(REGISTRY, edits)
    assert "return [name for name in list(HANDLERS)]" in fixed

    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.code for d in client.diagnostics[uri]] == ["NG105"]
