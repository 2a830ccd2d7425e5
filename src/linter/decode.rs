//! Decoding source bytes as the interpreter does: UTF-16 with a byte order mark, a PEP 263
//! coding line, or UTF-8. The encoding is kept so a fixed file is written back the same way.

use crate::checkers::ng001_syntax_error;
use crate::diagnostic::Diagnostic;

/// How a file's text was encoded, so a fixed file is written back the same way. A UTF-8 byte
/// order mark stays in the text itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
    Utf16Le,
    Utf16Be,
    /// Another encoding a coding line declares (koi8-r, cp1251, shift_jis, …).
    Declared(&'static encoding_rs::Encoding),
}

impl Encoding {
    /// The bytes of `text` in this encoding, or `None` if it cannot represent the text.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Utf8 => Some(text.as_bytes().to_vec()),
            Encoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect(),
            Encoding::Utf16Le => Some(
                [0xFF, 0xFE]
                    .into_iter()
                    .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                    .collect(),
            ),
            Encoding::Utf16Be => Some(
                [0xFE, 0xFF]
                    .into_iter()
                    .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
                    .collect(),
            ),
            Encoding::Declared(encoding) => {
                let (bytes, _, unmappable) = encoding.encode(text);
                (!unmappable).then(|| bytes.into_owned())
            }
        }
    }
}

/// Text decoded from a file's bytes, or the reason it could not be.
pub enum Decoded {
    Text(String, Encoding),
    /// Not decodable: the lossy text (for the code frame) and the NG001 finding.
    Undecodable(String, Box<Diagnostic>),
}

/// Decodes Python source as the interpreter would: UTF-16 with a BOM, the encoding a PEP 263
/// coding line declares (when the file has any non-ASCII byte), or UTF-8 (with or without BOM).
pub fn decode(bytes: Vec<u8>) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes, Encoding::Utf16Le);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes, Encoding::Utf16Be);
    }
    let declared = if bytes.is_ascii() || bytes.starts_with(b"\xEF\xBB\xBF") {
        None
    } else {
        declared_encoding(&bytes)
    };
    match declared {
        Some(DeclaredEncoding::Latin1) => {
            return Decoded::Text(bytes.iter().map(|&b| b as char).collect(), Encoding::Latin1);
        }
        Some(DeclaredEncoding::Other(encoding)) => {
            if let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(&bytes)
            {
                return Decoded::Text(text.into_owned(), Encoding::Declared(encoding));
            }
            let lossy = encoding.decode_without_bom_handling(&bytes).0.into_owned();
            let diagnostic = ng001_syntax_error::from_decode_error(
                0,
                &format!(
                    "file declares the encoding {} but is not valid in it",
                    encoding.name()
                ),
            );
            return Decoded::Undecodable(lossy, Box::new(diagnostic));
        }
        Some(DeclaredEncoding::Unknown(name)) => {
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            let diagnostic = ng001_syntax_error::from_decode_error(
                0,
                &format!("file declares the encoding `{name}`, which nogil-lint cannot decode"),
            );
            return Decoded::Undecodable(lossy, Box::new(diagnostic));
        }
        Some(DeclaredEncoding::Utf8) | None => {}
    }
    match String::from_utf8(bytes) {
        Ok(text) => Decoded::Text(text, Encoding::Utf8),
        Err(error) => {
            let bytes = error.into_bytes();
            let valid_up_to = match std::str::from_utf8(&bytes) {
                Err(error) => error.valid_up_to(),
                Ok(_) => 0,
            };
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            let prefix = &lossy[..valid_up_to.min(lossy.len())];
            let line = prefix.matches('\n').count() + 1;
            let column = prefix.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
            let diagnostic = ng001_syntax_error::from_decode_error(
                valid_up_to,
                &format!(
                    "file is not valid UTF-8 (invalid byte at line {line}, column {column}) and declares no other encoding"
                ),
            );
            Decoded::Undecodable(lossy, Box::new(diagnostic))
        }
    }
}

fn decode_utf16(bytes: &[u8], word: fn([u8; 2]) -> u16, encoding: Encoding) -> Decoded {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| word([pair[0], *pair.get(1).unwrap_or(&0)]))
        .collect();
    match String::from_utf16(&units) {
        Ok(text) => Decoded::Text(text, encoding),
        Err(_) => {
            let lossy = String::from_utf16_lossy(&units);
            let diagnostic = ng001_syntax_error::from_decode_error(
                0,
                "file starts with a UTF-16 byte order mark but is not valid UTF-16",
            );
            Decoded::Undecodable(lossy, Box::new(diagnostic))
        }
    }
}

/// What a PEP 263 coding line declares.
enum DeclaredEncoding {
    Utf8,
    /// Exactly ISO-8859-1, which every byte decodes in (a web "latin1" label means cp1252).
    Latin1,
    Other(&'static encoding_rs::Encoding),
    Unknown(String),
}

/// The encoding a coding declaration names on one of the first two lines, if any.
fn declared_encoding(bytes: &[u8]) -> Option<DeclaredEncoding> {
    let name = bytes
        .split(|&b| b == b'\n')
        .take(2)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .filter(|line| line.trim_start().starts_with('#'))
        .find_map(|line| {
            let at = line.find("coding")?;
            let rest = line[at + 6..].strip_prefix([':', '='])?;
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            (!name.is_empty()).then(|| name.to_ascii_lowercase().replace('_', "-"))
        })?;
    Some(match name.as_str() {
        "utf-8" | "utf8" | "utf-8-sig" => DeclaredEncoding::Utf8,
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1" => {
            DeclaredEncoding::Latin1
        }
        _ => match encoding_rs::Encoding::for_label(name.as_bytes()) {
            // UTF-16 without a byte order mark is not a source encoding Python accepts.
            Some(encoding) if encoding.output_encoding() == encoding => {
                DeclaredEncoding::Other(encoding)
            }
            _ => DeclaredEncoding::Unknown(name),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_bom_and_latin1() {
        assert!(
            matches!(decode(b"\xEF\xBB\xBFx = 1\n".to_vec()), Decoded::Text(t, Encoding::Utf8) if t.ends_with("x = 1\n"))
        );
        assert!(
            matches!(decode(b"# -*- coding: latin-1 -*-\ns = '\xE9'\n".to_vec()), Decoded::Text(t, Encoding::Latin1) if t.contains('\u{e9}'))
        );
        assert!(matches!(
            decode(b"s = '\xE9'\n".to_vec()),
            Decoded::Undecodable(..)
        ));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("x = 1\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(matches!(decode(utf16), Decoded::Text(t, Encoding::Utf16Le) if t == "x = 1\n"));
    }
}
