//! The documents the editor has open: their text as typed (not as saved), their version, and
//! what was last published for them.

use std::path::PathBuf;

use lsp_types::{TextDocumentContentChangeEvent, Uri};
use ruff_source_file::LineIndex;
use rustc_hash::FxHashMap;

use super::positions::{Encoding, Lines};

pub struct Document {
    /// The file it is (`None` for an unsaved buffer: checked alone, by its URI's name).
    pub path: Option<PathBuf>,
    pub text: String,
    pub index: LineIndex,
    pub version: i32,
    /// Changed since it was last checked (a debounced edit waits here).
    pub dirty: bool,
    /// The diagnostics last sent and the version they were for, to send again only what
    /// changed (or what is for a newer version: the editor then knows they are current).
    pub published: Option<(Vec<lsp_types::Diagnostic>, i32)>,
}

impl Document {
    pub fn new(path: Option<PathBuf>, text: String, version: i32) -> Self {
        let index = LineIndex::from_source_text(&text);
        Document {
            path,
            text,
            index,
            version,
            dirty: true,
            published: None,
        }
    }

    pub fn lines(&self, encoding: Encoding) -> Lines<'_> {
        Lines {
            text: &self.text,
            index: &self.index,
            encoding,
        }
    }

    /// Applies the editor's changes in order: a change with a range replaces that range, one
    /// without replaces the whole text.
    pub fn apply(
        &mut self,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
        encoding: Encoding,
    ) {
        for change in changes {
            match change.range {
                Some(range) => {
                    let range = self.lines(encoding).text_range(range);
                    self.text.replace_range(
                        usize::from(range.start())..usize::from(range.end()),
                        &change.text,
                    );
                }
                None => self.text = change.text,
            }
            // Each ranged change is expressed in the text the previous one left.
            self.index = LineIndex::from_source_text(&self.text);
        }
        self.version = version;
        self.dirty = true;
    }
}

/// The open documents by URI.
#[derive(Default)]
pub struct Documents {
    pub open: FxHashMap<Uri, Document>,
}

impl Documents {
    /// The open document of a file, if any.
    pub fn by_path(&self, path: &std::path::Path) -> Option<(&Uri, &Document)> {
        self.open
            .iter()
            .find(|(_, document)| document.path.as_deref() == Some(path))
    }

    pub fn any_dirty(&self) -> bool {
        self.open.values().any(|document| document.dirty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    #[test]
    fn ranged_changes_apply_in_order_in_utf16() {
        let mut document = Document::new(None, "x = '😀'\ny = 1\n".to_string(), 1);
        let change = |range: Option<Range>, text: &str| TextDocumentContentChangeEvent {
            range,
            range_length: None,
            text: text.to_string(),
        };
        document.apply(
            vec![
                // After the emoji (two UTF-16 units): `x = '😀!'`.
                change(
                    Some(Range::new(Position::new(0, 7), Position::new(0, 7))),
                    "!",
                ),
                change(
                    Some(Range::new(Position::new(1, 4), Position::new(1, 5))),
                    "22",
                ),
            ],
            2,
            Encoding::Utf16,
        );
        assert_eq!(document.text, "x = '😀!'\ny = 22\n");
        document.apply(vec![change(None, "z = 3\n")], 3, Encoding::Utf16);
        assert_eq!((document.text.as_str(), document.version), ("z = 3\n", 3));
    }
}
