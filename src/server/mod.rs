//! `nogil-lint server`: the Language Server Protocol over standard input and output, so that
//! findings show up while the code is written. It checks with the pipeline the command line
//! uses (per-module checks, then the project phase that links modules), keeping each module's
//! report cached: an edit re-checks one module and links the project again.
//!
//! This file is the transport and the main loop; the document store, the project cache, the
//! conversions to diagnostics, the code actions and the hover each have their own file.

mod actions;
mod diagnostics;
mod documents;
mod hover;
mod positions;
mod workspace;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notifications, Notification as _};
use lsp_types::request::{self as requests, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, FileSystemWatcher,
    GlobPattern, HoverProviderCapability, InitializeParams, InitializeResult, MessageType,
    PublishDiagnosticsParams, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};
use miette::{IntoDiagnostic, Result, WrapErr, miette};
use rustc_hash::FxHashMap;

use documents::{Document, Documents};
use positions::{Encoding, uri_to_path};
use workspace::{Problems, Workspace};

/// How long the server waits after an edit for the next one before checking: a burst of
/// keystrokes is checked once, and one keystroke still shows its result well within 100 ms.
const DEBOUNCE: Duration = Duration::from_millis(25);

/// The configuration files whose change reloads the project.
const CONFIG_FILES: [&str; 3] = ["pyproject.toml", "nogil-lint.toml", ".nogil-lint.toml"];

/// Serves one client until it says `exit`. The exit status follows the protocol: 0 after a
/// `shutdown` request, 1 when the client exits (or goes away) without one.
pub fn run() -> Result<u8> {
    let (connection, io_threads) = Connection::stdio();
    let pool = rayon::ThreadPoolBuilder::new()
        // Deeply nested code recurses deeply in the parser and the model (as for `check`).
        .stack_size(256 * 1024 * 1024)
        .build()
        .into_diagnostic()
        .wrap_err("cannot start the worker threads")?;
    // The main loop runs on a worker of the pool: its checks get the large stack, and loading
    // the project spreads over the other workers.
    let status = pool.install(|| serve(&connection));
    drop(connection);
    io_threads
        .join()
        .into_diagnostic()
        .wrap_err("the connection to the client failed")?;
    status
}

fn serve(connection: &Connection) -> Result<u8> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|error| miette!("{error}"))?;
    let params: InitializeParams = match serde_json::from_value(params) {
        Ok(params) => params,
        Err(error) => {
            let message = format!("invalid initialize parameters: {error}");
            send(
                connection,
                Response::new_err(id, ErrorCode::InvalidParams as i32, message.clone()),
            );
            return Err(miette!("{message}"));
        }
    };
    let encoding = Encoding::negotiate(
        params
            .capabilities
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_deref()),
    );
    let result = InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "nogil-lint".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    let result = serde_json::to_value(result).into_diagnostic()?;
    connection
        .initialize_finish(id, result)
        .map_err(|error| miette!("{error}"))?;

    let root = workspace_root(&params);
    let started = Instant::now();
    let (workspace, problems) = Workspace::load(root.as_deref());
    let mut server = Server {
        connection,
        encoding,
        root,
        workspace,
        documents: Documents::default(),
        alone: FxHashMap::default(),
        deadline: None,
        shutdown: false,
        shown_errors: Default::default(),
    };
    server.log(format!(
        "nogil-lint {}: checked {} of {} in {} ms ({} positions)",
        env!("CARGO_PKG_VERSION"),
        crate::output::plural(server.workspace.module_count(), "module"),
        server.workspace.root.display(),
        started.elapsed().as_millis(),
        encoding.kind().as_str(),
    ));
    server.report(problems);
    server.workspace_link();
    if watches_files(&params) {
        server.register_watchers();
    }
    server.main_loop()
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                will_save: None,
                will_save_wait_until: None,
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::from(actions::FIX_ALL),
            ]),
            work_done_progress_options: Default::default(),
            resolve_provider: None,
        })),
        ..ServerCapabilities::default()
    }
}

/// The project folder: the first workspace folder, else the root URI; `None` when the client
/// names none (the server then checks the documents it opens, not the directory it was started
/// in, which may be a home directory).
fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    #[allow(deprecated)] // Older clients send only `rootUri`.
    let root_uri = params.root_uri.as_ref();
    params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .and_then(|folder| uri_to_path(&folder.uri))
        .or_else(|| root_uri.and_then(uri_to_path))
}

/// Whether the client lets the server register file watchers (for configuration files and
/// modules changed outside the editor).
fn watches_files(params: &InitializeParams) -> bool {
    params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|workspace| workspace.did_change_watched_files.as_ref())
        .and_then(|watched| watched.dynamic_registration)
        .unwrap_or(false)
}

fn send(connection: &Connection, message: impl Into<Message>) {
    // A client that is gone is noticed by the main loop, which then ends.
    let _ = connection.sender.send(message.into());
}

struct Server<'c> {
    connection: &'c Connection,
    encoding: Encoding,
    /// The workspace folder, if the client named one.
    root: Option<PathBuf>,
    workspace: Workspace,
    documents: Documents,
    /// Findings of open buffers that are no file (unsaved), checked on their own.
    alone: FxHashMap<Uri, Vec<crate::report::Message>>,
    /// When the debounced edits are checked.
    deadline: Option<Instant>,
    shutdown: bool,
    /// Internal errors already shown to the user.
    shown_errors: rustc_hash::FxHashSet<String>,
}

impl Server<'_> {
    fn main_loop(&mut self) -> Result<u8> {
        let receiver = self.connection.receiver.clone();
        loop {
            let message = match self.deadline {
                Some(deadline) => match receiver.recv_deadline(deadline) {
                    Ok(message) => message,
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(description) = crate::isolation::isolated(|| self.flush()) {
                            self.show_error(format!(
                                "nogil-lint: internal error while checking the edits: \
                                 {description}"
                            ));
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return Ok(1),
                },
                None => match receiver.recv() {
                    Ok(message) => message,
                    Err(_) => return Ok(1),
                },
            };
            match message {
                Message::Request(request) => {
                    if self.shutdown {
                        self.respond(Response::new_err(
                            request.id,
                            ErrorCode::InvalidRequest as i32,
                            "the server is shutting down".to_string(),
                        ));
                    } else if request.method == requests::Shutdown::METHOD {
                        self.shutdown = true;
                        self.respond(Response::new_ok(request.id, ()));
                    } else {
                        self.request(request);
                    }
                }
                Message::Notification(notification) => {
                    if notification.method == notifications::Exit::METHOD {
                        return Ok(if self.shutdown { 0 } else { 1 });
                    }
                    if !self.shutdown {
                        self.notification(notification);
                    }
                }
                // Answers to the server's own requests (the watcher registration).
                Message::Response(_) => {}
            }
        }
    }

    fn respond(&self, response: Response) {
        send(self.connection, response);
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        send(
            self.connection,
            Notification::new(N::METHOD.to_string(), params),
        );
    }

    fn log(&self, message: String) {
        self.notify::<notifications::LogMessage>(lsp_types::LogMessageParams {
            typ: MessageType::INFO,
            message,
        });
    }

    /// Tells the user, not only the log: a configuration that cannot be used, a bug.
    fn show_error(&self, message: String) {
        self.notify::<notifications::LogMessage>(lsp_types::LogMessageParams {
            typ: MessageType::ERROR,
            message: message.clone(),
        });
        self.notify::<notifications::ShowMessage>(lsp_types::ShowMessageParams {
            typ: MessageType::ERROR,
            message,
        });
    }

    fn report(&mut self, problems: Problems) {
        if let Some(error) = problems.config_error {
            self.show_error(format!(
                "nogil-lint: the configuration cannot be used, checking with the defaults: {error}"
            ));
        }
        self.report_internal_errors(problems.internal_errors);
    }

    /// A bug is shown once; the same failure again (every keystroke in the file that triggers
    /// it) goes to the log only.
    fn report_internal_errors(&mut self, errors: Vec<String>) {
        for error in errors {
            let message = format!(
                "nogil-lint: internal error while checking {error}. This is a bug in \
                 nogil-lint; please report it with the file that triggers it."
            );
            if self.shown_errors.insert(error) {
                self.show_error(message);
            } else {
                self.notify::<notifications::LogMessage>(lsp_types::LogMessageParams {
                    typ: MessageType::ERROR,
                    message,
                });
            }
        }
    }

    fn register_watchers(&self) {
        let watchers = ["**/*.py", "**/*.pyi"]
            .into_iter()
            .map(str::to_string)
            .chain(CONFIG_FILES.iter().map(|name| format!("**/{name}")))
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String(glob),
                kind: None,
            })
            .collect();
        let options = lsp_types::DidChangeWatchedFilesRegistrationOptions { watchers };
        let params = lsp_types::RegistrationParams {
            registrations: vec![lsp_types::Registration {
                id: "nogil-lint-watched-files".to_string(),
                method: notifications::DidChangeWatchedFiles::METHOD.to_string(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        send(
            self.connection,
            Request::new(
                RequestId::from("nogil-lint-register".to_string()),
                requests::RegisterCapability::METHOD.to_string(),
                params,
            ),
        );
    }

    fn request(&mut self, request: Request) {
        let id = request.id.clone();
        let method = request.method.clone();
        // A bug while answering is the client's error response and a message, not the end of
        // the server.
        let answered = crate::isolation::isolated(|| self.answer(request));
        let response = match answered {
            Ok(response) => response,
            Err(description) => {
                self.show_error(format!(
                    "nogil-lint: internal error while answering {method}: {description}"
                ));
                Response::new_err(id, ErrorCode::InternalError as i32, description)
            }
        };
        self.respond(response);
    }

    fn answer(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let invalid =
            |error: String| Response::new_err(id.clone(), ErrorCode::InvalidParams as i32, error);
        match request.method.as_str() {
            requests::HoverRequest::METHOD => {
                let params: lsp_types::HoverParams = match serde_json::from_value(request.params) {
                    Ok(params) => params,
                    Err(error) => return invalid(error.to_string()),
                };
                self.flush_if_dirty();
                let place = &params.text_document_position_params;
                let hover =
                    self.documents
                        .open
                        .get(&place.text_document.uri)
                        .and_then(|document| {
                            let messages = self.messages_of(&place.text_document.uri, document);
                            hover::hover(messages, &document.lines(self.encoding), place.position)
                        });
                Response::new_ok(id, hover)
            }
            requests::CodeActionRequest::METHOD => {
                let params: lsp_types::CodeActionParams =
                    match serde_json::from_value(request.params) {
                        Ok(params) => params,
                        Err(error) => return invalid(error.to_string()),
                    };
                self.flush_if_dirty();
                let uri = &params.text_document.uri;
                let actions = self.documents.open.get(uri).map(|document| {
                    let fallback = unsaved_name(uri);
                    let target = actions::Target {
                        uri,
                        path: document.path.as_deref().unwrap_or(&fallback),
                        lines: document.lines(self.encoding),
                        messages: self.messages_of(uri, document),
                        settings: &self.workspace.settings,
                    };
                    actions::code_actions(&target, &params)
                });
                Response::new_ok(id, actions.unwrap_or_default())
            }
            method => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("nogil-lint does not handle `{method}`"),
            ),
        }
    }

    fn messages_of<'s>(&'s self, uri: &Uri, document: &Document) -> &'s [crate::report::Message] {
        match &document.path {
            Some(path) => self.workspace.messages(path),
            None => self.alone.get(uri).map_or(&[], Vec::as_slice),
        }
    }

    fn notification(&mut self, notification: Notification) {
        let method = notification.method.clone();
        let handled = crate::isolation::isolated(|| self.handle(notification));
        if let Err(description) = handled {
            self.show_error(format!(
                "nogil-lint: internal error while handling {method}: {description}"
            ));
        }
    }

    fn handle(&mut self, notification: Notification) {
        match notification.method.as_str() {
            notifications::DidOpenTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(
                    notification.params,
                ) else {
                    return;
                };
                let document = params.text_document;
                let path = uri_to_path(&document.uri)
                    .map(|path| std::fs::canonicalize(&path).unwrap_or(path));
                // A client may send every document it opens (a `pyproject.toml`, a README):
                // only Python is checked.
                let is_python = document.language_id == "python"
                    || path
                        .as_deref()
                        .is_some_and(crate::discovery::is_python_file);
                if !is_python {
                    return;
                }
                self.documents.open.insert(
                    document.uri,
                    Document::new(path, document.text, document.version),
                );
                self.flush();
            }
            notifications::DidChangeTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(
                    notification.params,
                ) else {
                    return;
                };
                if let Some(document) = self.documents.open.get_mut(&params.text_document.uri) {
                    document.apply(
                        params.content_changes,
                        params.text_document.version,
                        self.encoding,
                    );
                    self.deadline = Some(Instant::now() + DEBOUNCE);
                }
            }
            notifications::DidSaveTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(
                    notification.params,
                ) else {
                    return;
                };
                if let Some(document) = self.documents.open.get_mut(&params.text_document.uri) {
                    if let Some(text) = params.text {
                        *document = Document::new(document.path.take(), text, document.version);
                    }
                    document.dirty = true;
                }
                if is_config(uri_to_path(&params.text_document.uri).as_deref()) {
                    self.reload();
                } else {
                    self.flush();
                }
            }
            notifications::DidCloseTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(
                    notification.params,
                ) else {
                    return;
                };
                let uri = params.text_document.uri;
                self.alone.remove(&uri);
                if let Some(document) = self.documents.open.remove(&uri) {
                    // The file is what is on disk again.
                    if let Some(path) = &document.path {
                        let error = self.workspace.reload_from_disk(path);
                        self.report_internal_errors(error.into_iter().collect());
                        self.workspace_link();
                    }
                    self.notify::<notifications::PublishDiagnostics>(PublishDiagnosticsParams {
                        uri,
                        diagnostics: Vec::new(),
                        version: None,
                    });
                    self.publish();
                }
            }
            notifications::DidChangeWatchedFiles::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(
                    notification.params,
                ) else {
                    return;
                };
                let paths: Vec<PathBuf> = params
                    .changes
                    .iter()
                    .filter_map(|change| uri_to_path(&change.uri))
                    .collect();
                if paths.iter().any(|path| is_config(Some(path))) {
                    self.reload();
                    return;
                }
                let mut errors = Vec::new();
                for path in paths {
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    // An open document's text is the editor's, not the disk's.
                    if self.documents.by_path(&path).is_none() {
                        errors.extend(self.workspace.reload_from_disk(&path));
                    }
                }
                self.report_internal_errors(errors);
                self.workspace_link();
                self.publish();
            }
            notifications::DidChangeConfiguration::METHOD => self.reload(),
            // `$/cancelRequest` (answers are immediate), `$/setTrace`, and what is unknown:
            // notifications need no answer.
            _ => {}
        }
    }

    /// Reads the configuration again and checks the whole project with it.
    fn reload(&mut self) {
        let started = Instant::now();
        let (workspace, problems) = Workspace::load(self.root.as_deref());
        self.workspace = workspace;
        self.log(format!(
            "nogil-lint: configuration reloaded, {} checked in {} ms",
            crate::output::plural(self.workspace.module_count(), "module"),
            started.elapsed().as_millis()
        ));
        self.report(problems);
        for document in self.documents.open.values_mut() {
            document.dirty = true;
        }
        self.flush();
    }

    fn flush_if_dirty(&mut self) {
        if self.documents.any_dirty() {
            self.flush();
        }
    }

    /// Checks the documents edited since their last check, links the project and publishes
    /// what changed.
    fn flush(&mut self) {
        self.deadline = None;
        let started = Instant::now();
        let mut errors = Vec::new();
        let mut relink = false;
        for (uri, document) in &mut self.documents.open {
            if !document.dirty {
                continue;
            }
            document.dirty = false;
            match &document.path {
                Some(path) => {
                    errors.extend(self.workspace.update(path, &document.text));
                    relink = true;
                }
                None => {
                    let messages = self
                        .workspace
                        .check_alone(&unsaved_name(uri), &document.text);
                    self.alone.insert(uri.clone(), messages);
                }
            }
        }
        self.report_internal_errors(errors);
        let checked = started.elapsed();
        if relink {
            self.workspace_link();
        }
        let linked = started.elapsed();
        self.publish();
        // The cost of an edit, for whoever reads the server's log (`:LspLog`, an output panel).
        self.notify::<notifications::LogMessage>(lsp_types::LogMessageParams {
            typ: MessageType::LOG,
            message: format!(
                "checked in {:.1} ms, linked in {:.1} ms, published in {:.1} ms",
                checked.as_secs_f64() * 1000.0,
                (linked - checked).as_secs_f64() * 1000.0,
                (started.elapsed() - linked).as_secs_f64() * 1000.0,
            ),
        });
    }

    fn workspace_link(&mut self) {
        if let Some(error) = self.workspace.link() {
            self.report_internal_errors(vec![error]);
        }
    }

    /// Sends each open document's diagnostics when they differ from what was last sent (an
    /// edit in one module can change the findings of the modules its threads reach), and for
    /// each edited document.
    fn publish(&mut self) {
        let mut outgoing = Vec::new();
        for (uri, document) in &mut self.documents.open {
            let messages = match &document.path {
                Some(path) => self.workspace.messages(path),
                None => self.alone.get(uri).map_or(&[][..], Vec::as_slice),
            };
            let diagnostics = diagnostics::to_lsp(messages, &document.lines(self.encoding), uri);
            let unchanged = document.published.as_ref().is_some_and(|(sent, version)| {
                *version == document.version && *sent == diagnostics
            });
            if !unchanged {
                document.published = Some((diagnostics.clone(), document.version));
                outgoing.push(PublishDiagnosticsParams {
                    uri: uri.clone(),
                    diagnostics,
                    version: Some(document.version),
                });
            }
        }
        for params in outgoing {
            self.notify::<notifications::PublishDiagnostics>(params);
        }
    }
}

/// Whether a path is a configuration file the project reads.
fn is_config(path: Option<&Path>) -> bool {
    path.and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .is_some_and(|name| CONFIG_FILES.contains(&name))
}

/// The name an unsaved buffer is checked under: its URI's last segment, as a Python file.
fn unsaved_name(uri: &Uri) -> PathBuf {
    let last = uri
        .as_str()
        .rsplit(['/', ':'])
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or("untitled");
    if last.ends_with(".py") || last.ends_with(".pyi") {
        PathBuf::from(last)
    } else {
        PathBuf::from(format!("{last}.py"))
    }
}
