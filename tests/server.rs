//! `nogil-lint server` driven over standard input and output by a scripted client, as an editor
//! would: the handshake, diagnostics of a racy file, code actions applied and the diagnostics
//! clearing, hover, a syntax error, thread reachability across modules, a configuration change,
//! an internal error, unknown requests, and shutdown.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(30);

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Notifications (and server requests) received while waiting for something else.
    pending: Vec<Value>,
    next_id: i64,
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start(root: &Path, env: &[(&str, &str)]) -> Client {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nogil-lint"));
        command
            .arg("server")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the server starts");
        let stdin = child.stdin.take().expect("a standard input");
        let stdout = child.stdout.take().expect("a standard output");
        let (sender, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            pending: Vec::new(),
            next_id: 1,
        }
    }

    /// Starts a server on `root` and completes the handshake.
    fn initialize(root: &Path, capabilities: Value, env: &[(&str, &str)]) -> (Client, Value) {
        let mut client = Client::start(root, env);
        let result = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "workspaceFolders": [{"uri": uri(root), "name": "project"}],
                "capabilities": capabilities,
            }),
        );
        client.notify("initialized", json!({}));
        (client, result)
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.incoming.recv_timeout(left).ok()
    }

    /// The whole response (result or error) to a request.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + TIMEOUT;
        while let Some(message) = self.next(deadline) {
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return message;
            }
            self.pending.push(message);
        }
        panic!("no response to {method}");
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// The next diagnostics published for `uri` that satisfy `accept`.
    fn diagnostics_where(&mut self, uri: &str, accept: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = Vec::new();
        loop {
            let position = self.pending.iter().position(|message| {
                message["method"] == "textDocument/publishDiagnostics"
                    && message["params"]["uri"] == uri
            });
            let message = match position {
                Some(position) => self.pending.remove(position),
                None => match self.next(deadline) {
                    Some(message) => {
                        self.pending.push(message);
                        continue;
                    }
                    None => panic!("no diagnostics as expected for {uri}; seen: {seen:#?}"),
                },
            };
            let diagnostics = message["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if accept(&diagnostics) {
                return diagnostics;
            }
            seen.push(diagnostics);
        }
    }

    /// The next notification with this method.
    fn notification(&mut self, method: &str) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(position) = self.pending.iter().position(|m| m["method"] == method) {
                return self.pending.remove(position);
            }
            match self.next(deadline) {
                Some(message) => self.pending.push(message),
                None => panic!("no {method} notification"),
            }
        }
    }

    fn open(&mut self, path: &Path) -> String {
        let uri = uri(path);
        let text = std::fs::read_to_string(path).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        );
        uri
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    /// Shuts down and exits as the protocol says; the exit status.
    fn shutdown(mut self) -> i32 {
        let result = self.call("shutdown", Value::Null);
        assert_eq!(result["result"], Value::Null, "{result}");
        assert!(result.get("error").is_none(), "{result}");
        self.notify("exit", Value::Null);
        self.wait()
    }

    fn wait(mut self) -> i32 {
        drop(self.stdin);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Hover on the loop of `REGISTRY`'s line 11 gives NG109's documentation.
fn hover_shows_ng109(client: &mut Client, uri: &str) {
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 10, "character": 32}}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("NG109")
    );
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|diagnostic| diagnostic["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Applies the edits of one file of a workspace edit to a text (UTF-16 positions; the tests'
/// texts are ASCII, so units are bytes).
fn apply_edits(text: &str, edit: &Value, uri: &str) -> String {
    let mut edits = edit["changes"][uri].as_array().cloned().unwrap_or_default();
    let offset = |position: &Value| {
        let line = position["line"].as_u64().unwrap() as usize;
        let character = position["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + character
    };
    // Last first, so that earlier offsets stay valid.
    edits.sort_by_key(|edit| std::cmp::Reverse(offset(&edit["range"]["start"])));
    let mut text = text.to_string();
    for edit in edits {
        let start = offset(&edit["range"]["start"]);
        let end = offset(&edit["range"]["end"]);
        text.replace_range(start..end, edit["newText"].as_str().unwrap());
    }
    text
}

fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let directory = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(directory.path()).unwrap();
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    (directory, root)
}

const REGISTRY: &str = "\
import threading

HANDLERS = {}


def register(name, handler):
    HANDLERS[name] = handler


def names():
    return [name for name in HANDLERS]


def start():
    threading.Thread(target=register, args=(\"a\", print)).start()
    threading.Thread(target=names).start()
";

#[test]
fn a_racy_file_gets_diagnostics_hover_and_code_actions_that_clear_them() {
    let (_directory, root) = project(&[("app/__init__.py", ""), ("app/registry.py", REGISTRY)]);
    let (mut client, result) = Client::initialize(&root, json!({}), &[]);
    // No encoding offered: UTF-16, the protocol's default.
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(result["serverInfo"]["name"], "nogil-lint");
    let path = root.join("app/registry.py");
    let uri = client.open(&path);
    let diagnostics = client.diagnostics_where(&uri, |d| !d.is_empty());
    assert_eq!(codes(&diagnostics), ["NG105", "NG109"]);
    let ng109 = &diagnostics[1];
    assert_eq!(ng109["source"], "nogil-lint");
    assert_eq!(ng109["severity"], 1, "an error: a thread reaches it");
    assert_eq!(
        ng109["range"],
        json!({"start": {"line": 10, "character": 29}, "end": {"line": 10, "character": 37}})
    );
    // The thread entry that reaches the code, as related information.
    let related = &ng109["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], uri);
    assert_eq!(related["location"]["range"]["start"]["line"], 15);
    assert!(
        related["message"]
            .as_str()
            .unwrap()
            .contains("reached from the thread started at line 16"),
        "{related}"
    );

    // Hover on the flagged range: the rule's documentation.
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 10, "character": 32}}),
    );
    let documentation = hover["contents"]["value"].as_str().unwrap();
    assert!(documentation.contains("NG109"), "{documentation}");
    assert_eq!(hover["contents"]["kind"], "markdown");
    let nothing = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 5, "character": 0}}),
    );
    assert_eq!(nothing, Value::Null);

    // The NG109 fix is a preferred quick fix.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": ng109["range"],
            "context": {"diagnostics": [ng109]},
        }),
    );
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|action| action["title"].as_str().unwrap())
        .collect();
    assert!(
        titles
            .iter()
            .any(|title| title.contains("silence with `# noqa: NG109`")),
        "{titles:?}"
    );
    let fix = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|action| action["isPreferred"] == true)
        .unwrap_or_else(|| panic!("a preferred fix among {titles:?}"));
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["diagnostics"][0]["code"], "NG109");
    let text = apply_edits(REGISTRY, &fix["edit"], &uri);
    assert!(text.contains("for name in list(HANDLERS)"), "{text}");
    client.change(&uri, 2, &text);
    let diagnostics = client.diagnostics_where(&uri, |d| codes(d) == ["NG105"]);

    // NG105 is advice only: silence it.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": diagnostics[0]["range"],
            "context": {"diagnostics": diagnostics, "only": ["quickfix"]},
        }),
    );
    let [noqa] = actions.as_array().unwrap().as_slice() else {
        panic!("one action: {actions:#}");
    };
    assert_eq!(noqa["title"], "NG105: silence with `# noqa: NG105`");
    let text = apply_edits(&text, &noqa["edit"], &uri);
    assert!(text.contains("HANDLERS = {}  # noqa: NG105\n"), "{text}");
    client.change(&uri, 3, &text);
    client.diagnostics_where(&uri, <[Value]>::is_empty);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn fix_all_applies_the_safe_fixes_and_labels_unsafe_ones() {
    let source = "\
import threading

HANDLERS = {}
count = 0


def register(name, handler):
    global count
    HANDLERS[name] = handler
    count += 1


def names():
    return [name for name in HANDLERS]


def start():
    threading.Thread(target=register, args=(\"a\", print)).start()
    threading.Thread(target=names).start()
";
    let (_directory, root) = project(&[("registry.py", source)]);
    let (mut client, _) = Client::initialize(&root, json!({}), &[]);
    let uri = client.open(&root.join("registry.py"));
    let diagnostics = client.diagnostics_where(&uri, |d| !d.is_empty());
    let ng101 = diagnostics
        .iter()
        .find(|diagnostic| diagnostic["code"] == "NG101")
        .unwrap_or_else(|| panic!("NG101 among {diagnostics:#?}"));
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": ng101["range"], "context": {"diagnostics": [ng101]}}),
    );
    let unsafe_fix = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|action| action["title"].as_str().unwrap().contains("unsafe"))
        .unwrap_or_else(|| panic!("an unsafe fix among {actions:#}"));
    assert_eq!(unsafe_fix["isPreferred"], Value::Null);

    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": [], "only": ["source.fixAll"]},
        }),
    );
    let [fix_all] = actions.as_array().unwrap().as_slice() else {
        panic!("one action: {actions:#}");
    };
    assert_eq!(fix_all["kind"], "source.fixAll.nogil-lint");
    let fixed = apply_edits(source, &fix_all["edit"], &uri);
    assert!(fixed.contains("for name in list(HANDLERS)"), "{fixed}");
    assert!(
        fixed.contains("    count += 1\n"),
        "unsafe fixes are not applied: {fixed}"
    );
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn a_syntax_error_is_ng001_and_other_files_keep_their_diagnostics() {
    let (_directory, root) = project(&[("registry.py", REGISTRY), ("broken.py", "x = 1\n")]);
    let (mut client, _) = Client::initialize(
        &root,
        json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}),
        &[],
    )
    .pipe(|(client, result)| {
        assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
        (client, result)
    });
    let registry = client.open(&root.join("registry.py"));
    client.diagnostics_where(&registry, |d| codes(d) == ["NG105", "NG109"]);
    let broken = client.open(&root.join("broken.py"));
    client.change(&broken, 2, "def f(:\n    pass\n");
    let diagnostics = client.diagnostics_where(&broken, |d| !d.is_empty());
    assert!(
        codes(&diagnostics).iter().all(|code| code == "NG001"),
        "{diagnostics:#?}"
    );
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 0);
    // The other file still has its findings: asking for its actions finds them.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": registry},
            "range": {"start": {"line": 10, "character": 29}, "end": {"line": 10, "character": 29}},
            "context": {"diagnostics": []},
        }),
    );
    assert!(!actions.as_array().unwrap().is_empty());
    client.change(&broken, 3, "x = 2\n");
    client.diagnostics_where(&broken, <[Value]>::is_empty);
    assert_eq!(client.shutdown(), 0);
}

trait Pipe: Sized {
    fn pipe<T>(self, then: impl FnOnce(Self) -> T) -> T {
        then(self)
    }
}
impl<T> Pipe for T {}

#[test]
fn a_change_in_one_module_updates_the_modules_its_threads_reach() {
    let cache = "\
COUNTS = {}


def count(key, value):
    COUNTS[key] = COUNTS.get(key, 0) + value
";
    let main = "\
import threading

from app.cache import count


def main():
    threading.Thread(target=count, args=(\"a\", 1)).start()
";
    let (_directory, root) = project(&[
        ("app/__init__.py", ""),
        ("app/cache.py", cache),
        ("app/main.py", main),
    ]);
    let (mut client, _) = Client::initialize(&root, json!({}), &[]);
    let cache_uri = client.open(&root.join("app/cache.py"));
    let main_uri = client.open(&root.join("app/main.py"));
    let reached = |diagnostics: &[Value]| {
        diagnostics.iter().any(|diagnostic| {
            diagnostic["message"]
                .as_str()
                .unwrap_or_default()
                .contains("reached from the thread started at app/main.py:7")
        })
    };
    let diagnostics = client.diagnostics_where(&cache_uri, reached);
    let related = &diagnostics[0]["relatedInformation"][0]["location"];
    assert_eq!(related["uri"], main_uri);
    assert_eq!(related["range"]["start"]["line"], 6);
    // While the module that starts the thread does not parse (a keystroke in the middle of a
    // statement), the thread still reaches the cache module.
    client.change(&main_uri, 2, &format!("{main}\ndef broken(:\n"));
    let diagnostics = client.diagnostics_where(&main_uri, |d| !d.is_empty());
    assert!(codes(&diagnostics).iter().all(|code| code == "NG001"));
    client.change(&cache_uri, 2, &format!("{cache}# a comment\n"));
    client.diagnostics_where(&cache_uri, reached);
    // The thread no longer starts: the cache module's findings lose it, without a change of
    // their own.
    let unthreaded = main.replace(
        "threading.Thread(target=count, args=(\"a\", 1)).start()",
        "count(\"a\", 1)",
    );
    client.change(&main_uri, 3, &unthreaded);
    let diagnostics = client.diagnostics_where(&cache_uri, |d| !reached(d));
    assert_eq!(codes(&diagnostics), ["NG105", "NG102"]);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn configuration_changes_reload_the_project() {
    let (_directory, root) = project(&[("registry.py", REGISTRY)]);
    let capabilities =
        json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}});
    let (mut client, _) = Client::initialize(&root, capabilities, &[]);
    // The server asks to watch the configuration files (and Python files).
    let registration = client.notification("client/registerCapability");
    let watchers =
        registration["params"]["registrations"][0]["registerOptions"]["watchers"].to_string();
    assert!(watchers.contains("**/nogil-lint.toml"), "{watchers}");
    client.send(json!({"jsonrpc": "2.0", "id": registration["id"], "result": null}));
    let uri = client.open(&root.join("registry.py"));
    client.diagnostics_where(&uri, |d| codes(d) == ["NG105", "NG109"]);

    let config = root.join("nogil-lint.toml");
    std::fs::write(&config, "ignore = [\"NG105\"]\n").unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": self::uri(&config), "type": 1}]}),
    );
    client.diagnostics_where(&uri, |d| codes(d) == ["NG109"]);

    // A configuration that cannot be used is reported, and the defaults apply.
    std::fs::write(&config, "ignore = [\"NG999\"]\n").unwrap();
    client.notify("workspace/didChangeConfiguration", json!({"settings": {}}));
    let shown = client.notification("window/showMessage");
    let message = shown["params"]["message"].as_str().unwrap();
    assert!(message.contains("NG999"), "{message}");
    assert_eq!(shown["params"]["type"], 1);
    client.diagnostics_where(&uri, |d| codes(d) == ["NG105", "NG109"]);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn unknown_requests_get_method_not_found_and_shutdown_follows_the_protocol() {
    let (_directory, root) = project(&[("registry.py", REGISTRY)]);
    let (mut client, _) = Client::initialize(&root, json!({}), &[]);
    let response = client.call("textDocument/definition", json!({}));
    assert_eq!(response["error"]["code"], -32601, "{response}");
    let response = client.call("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(response["error"]["code"], -32602, "{response}");
    // An unknown notification needs no answer; the server goes on.
    client.notify("$/unknown", json!({}));
    let response = client.call("shutdown", Value::Null);
    assert_eq!(response["result"], Value::Null);
    // After shutdown, requests are invalid.
    let response = client.call("textDocument/hover", json!({}));
    assert_eq!(response["error"]["code"], -32600, "{response}");
    client.notify("exit", Value::Null);
    assert_eq!(client.wait(), 0);

    // Exit without shutdown: status 1.
    let (mut client, _) = Client::initialize(&root, json!({}), &[]);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait(), 1);
}

#[test]
fn a_panic_in_a_check_is_reported_and_the_server_goes_on() {
    // Debug builds panic while checking a file of this name (see `isolation::injected_panic`).
    if !cfg!(debug_assertions) {
        eprintln!("skipped: the injected panic exists in debug builds only");
        return;
    }
    let (_directory, root) = project(&[("registry.py", REGISTRY), ("boom.py", "x = 1\n")]);
    let (mut client, _) =
        Client::initialize(&root, json!({}), &[("NOGIL_LINT_TEST_PANIC_ON", "boom.py")]);
    let shown = client.notification("window/showMessage");
    let message = shown["params"]["message"].as_str().unwrap();
    assert!(
        message.contains("internal error while checking boom.py"),
        "{message}"
    );
    let uri = client.open(&root.join("registry.py"));
    client.diagnostics_where(&uri, |d| codes(d) == ["NG105", "NG109"]);
    // Edited in the editor, the file fails again: logged as an error (shown once, not at
    // every keystroke), and the server answers on.
    client
        .pending
        .retain(|message| message["method"] != "window/logMessage");
    let boom = client.open(&root.join("boom.py"));
    client.change(&boom, 2, "x = 2\n");
    loop {
        let logged = client.notification("window/logMessage");
        if logged["params"]["type"] == 1 {
            let message = logged["params"]["message"].as_str().unwrap();
            assert!(message.contains("boom.py"), "{message}");
            break;
        }
    }
    assert!(
        !client
            .pending
            .iter()
            .any(|message| message["method"] == "window/showMessage"),
        "shown once only"
    );
    hover_shows_ng109(&mut client, &uri);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn saving_closing_and_unsaved_buffers() {
    let (_directory, root) = project(&[("registry.py", REGISTRY)]);
    let (mut client, _) = Client::initialize(&root, json!({}), &[]);
    let uri = client.open(&root.join("registry.py"));
    client.diagnostics_where(&uri, |d| codes(d) == ["NG105", "NG109"]);
    // Saved with its text: checked at once, without waiting for the debounce.
    let fixed = REGISTRY.replace("in HANDLERS]", "in list(HANDLERS)]");
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}, "text": fixed}),
    );
    client.diagnostics_where(&uri, |d| codes(d) == ["NG105"]);
    // Closed: its diagnostics are cleared.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    client.diagnostics_where(&uri, <[Value]>::is_empty);
    // A buffer that is no file yet is checked on its own.
    let untitled = "untitled:Untitled-1";
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": untitled, "languageId": "python", "version": 1, "text": REGISTRY}}),
    );
    client.diagnostics_where(untitled, |d| codes(d) == ["NG105", "NG109"]);
    hover_shows_ng109(&mut client, untitled);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn without_a_workspace_folder_the_open_documents_are_the_project() {
    let (_directory, root) = project(&[("registry.py", REGISTRY), ("other.py", "x = 1\n")]);
    let mut client = Client::start(&root, &[]);
    client.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    client.notify("initialized", json!({}));
    // Nothing is walked: the server may have been started in a home directory.
    let logged = client.notification("window/logMessage");
    let message = logged["params"]["message"].as_str().unwrap();
    assert!(message.contains("checked 0 modules"), "{message}");
    let uri = client.open(&root.join("registry.py"));
    client.diagnostics_where(&uri, |d| codes(d) == ["NG105", "NG109"]);
    assert_eq!(client.shutdown(), 0);
}

#[test]
fn a_buffer_of_a_latin_1_file_is_checked_as_the_editor_shows_it() {
    // The file on disk is Latin-1, as its coding line says; the editor sends the decoded text.
    let text = format!("# -*- coding: latin-1 -*-\nNAME = \"caf\u{e9} cr\u{e8}me\"\n{REGISTRY}");
    let (_directory, root) = project(&[]);
    let path = root.join("legacy.py");
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    std::fs::write(&path, bytes).unwrap();
    let (mut client, _) = Client::initialize(&root, json!({}), &[]);
    let uri = uri(&path);
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
    );
    let diagnostics = client.diagnostics_where(&uri, |d| codes(d) == ["NG105", "NG109"]);
    assert_eq!(
        diagnostics[1]["range"],
        json!({"start": {"line": 12, "character": 29}, "end": {"line": 12, "character": 37}})
    );
    assert_eq!(client.shutdown(), 0);
}
