//! Where things are, as the protocol says it: positions in the negotiated encoding (UTF-16 code
//! units unless the client offers UTF-8), and `file:` URIs for paths. The checks work on byte
//! offsets; every conversion between the two goes through here.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{Position, PositionEncodingKind, Range, Uri};
use ruff_source_file::{LineIndex, OneIndexed};
use ruff_text_size::{TextRange, TextSize};

/// The unit of a position's `character`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// The encoding to use from the ones the client offers: UTF-8 costs no conversion; UTF-16
    /// is what every client must support when it says nothing.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or_default();
        if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else if offered.is_empty() || offered.contains(&PositionEncodingKind::UTF16) {
            Encoding::Utf16
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn width(self, character: char) -> usize {
        match self {
            Encoding::Utf8 => character.len_utf8(),
            Encoding::Utf16 => character.len_utf16(),
            Encoding::Utf32 => 1,
        }
    }
}

/// A text with its line index, to convert between byte offsets and protocol positions.
pub struct Lines<'t> {
    pub text: &'t str,
    pub index: &'t LineIndex,
    pub encoding: Encoding,
}

impl Lines<'_> {
    /// The protocol position of a byte offset (clamped to the text, and back to a character
    /// boundary).
    pub fn position(&self, offset: TextSize) -> Position {
        let mut offset = usize::from(offset).min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let offset = TextSize::try_from(offset).unwrap_or_default();
        let line = self.index.line_index(offset);
        let start = usize::from(self.index.line_start(line, self.text));
        let before = self
            .text
            .get(start..usize::from(offset))
            .unwrap_or_default();
        let character: usize = match self.encoding {
            Encoding::Utf8 => before.len(),
            encoding => before.chars().map(|c| encoding.width(c)).sum(),
        };
        Position {
            line: u32::try_from(line.to_zero_indexed()).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }

    pub fn range(&self, range: TextRange) -> Range {
        Range {
            start: self.position(range.start()),
            end: self.position(range.end()),
        }
    }

    /// The byte offset of a protocol position. A line past the end is the end of the text; a
    /// character past the end of its line is the line's end (as the protocol asks), and one
    /// inside a character's code units is that character's start.
    pub fn offset(&self, position: Position) -> TextSize {
        let line = position.line as usize;
        if line >= self.index.line_count() {
            return TextSize::try_from(self.text.len()).unwrap_or_default();
        }
        let line = OneIndexed::from_zero_indexed(line);
        let start = usize::from(self.index.line_start(line, self.text));
        let end = usize::from(self.index.line_end(line, self.text));
        let content = self.text.get(start..end).unwrap_or_default();
        let content = content.trim_end_matches(['\n', '\r']);
        let wanted = position.character as usize;
        let mut units = 0usize;
        let mut bytes = content.len();
        for (at, character) in content.char_indices() {
            if units >= wanted {
                bytes = at;
                break;
            }
            units += self.encoding.width(character);
            if units > wanted {
                bytes = at;
                break;
            }
        }
        TextSize::try_from(start + bytes).unwrap_or_default()
    }

    pub fn text_range(&self, range: Range) -> TextRange {
        let start = self.offset(range.start);
        let end = self.offset(range.end).max(start);
        TextRange::new(start, end)
    }
}

/// The path of a `file:` URI (percent-decoded); `None` for other schemes.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let rest = text.strip_prefix("file://")?;
    // `file:///a/b` has an empty authority, `file://localhost/a/b` a local one.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_decode(path)?;
    // `file:///C:/x` on Windows: the drive letter follows the slash.
    if cfg!(windows) && decoded.len() > 2 && decoded.as_bytes().get(2) == Some(&b':') {
        return Some(PathBuf::from(&decoded[1..]));
    }
    Some(PathBuf::from(decoded))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `file:` URI of a path (made absolute against the working directory if it is not).
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let text = absolute.to_str()?.replace('\\', "/");
    let mut encoded = String::from("file://");
    if !text.starts_with('/') {
        encoded.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~:".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    Uri::from_str(&encoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, encoding: Encoding) -> (LineIndex, Encoding) {
        (LineIndex::from_source_text(text), encoding)
    }

    #[test]
    fn utf16_counts_surrogate_pairs_and_utf8_counts_bytes() {
        let text = "a = 1\ns = \"é😀\" + x\n";
        let x = TextSize::try_from(text.find('x').unwrap()).unwrap();
        for (encoding, character) in [
            (Encoding::Utf16, 12),
            (Encoding::Utf8, 15),
            (Encoding::Utf32, 11),
        ] {
            let (index, encoding) = lines(text, encoding);
            let lines = Lines {
                text,
                index: &index,
                encoding,
            };
            let position = lines.position(x);
            assert_eq!((position.line, position.character), (1, character));
            assert_eq!(lines.offset(position), x);
        }
    }

    #[test]
    fn positions_past_the_end_are_clamped() {
        let text = "ab\r\ncd";
        let (index, encoding) = lines(text, Encoding::Utf16);
        let lines = Lines {
            text,
            index: &index,
            encoding,
        };
        assert_eq!(lines.offset(Position::new(0, 99)), TextSize::from(2));
        assert_eq!(lines.offset(Position::new(7, 0)), TextSize::from(6));
        assert_eq!(lines.position(TextSize::from(99)), Position::new(1, 2));
    }

    #[test]
    fn negotiation_prefers_utf8_and_defaults_to_utf16() {
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
        let offered = [PositionEncodingKind::UTF16, PositionEncodingKind::UTF8];
        assert_eq!(Encoding::negotiate(Some(&offered)), Encoding::Utf8);
        let offered = [PositionEncodingKind::UTF32];
        assert_eq!(Encoding::negotiate(Some(&offered)), Encoding::Utf32);
    }

    #[test]
    fn uris_round_trip_through_paths() {
        let path = Path::new("/tmp/a dir/é/mod.py");
        let uri = path_to_uri(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/%C3%A9/mod.py");
        assert_eq!(uri_to_path(&uri).unwrap(), path);
        let other = Uri::from_str("untitled:Untitled-1").unwrap();
        assert_eq!(uri_to_path(&other), None);
    }
}
