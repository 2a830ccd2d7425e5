//! Lines as Python reads them: a line ends at `\n`, at `\r\n` (one break) or at a lone `\r`.
//! Every row a finding, a noqa directive or a fix speaks of is counted this way, so files with
//! old Mac line endings get the same rows as the interpreter gives them.

/// Whether the byte at `index` ends a line.
fn ends_line(bytes: &[u8], index: usize) -> bool {
    match bytes[index] {
        b'\n' => true,
        b'\r' => bytes.get(index + 1) != Some(&b'\n'),
        _ => false,
    }
}

/// The offsets just past each line break that starts in `bytes[start..end]`, found with
/// `memchr` (a byte-by-byte scan was a visible share of a run over a large tree). A `\r`
/// counts only when no `\n` follows it, also when that `\n` lies past `end`.
fn breaks(bytes: &[u8], start: usize, end: usize) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr2_iter(b'\n', b'\r', &bytes[start..end])
        .map(move |index| start + index)
        .filter(move |&index| ends_line(bytes, index))
        .map(|index| index + 1)
}

/// The offset where each line starts, the first being 0.
pub fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(breaks(text.as_bytes(), 0, text.len()))
        .collect()
}

/// The number of line breaks in `text[start..end]` (a `\r\n` split by `end` counts at its `\n`).
pub fn count_breaks(text: &str, start: usize, end: usize) -> usize {
    breaks(text.as_bytes(), start, end).count()
}

/// The offset where the line holding `offset` starts.
pub fn line_start(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    memchr::memrchr2_iter(b'\n', b'\r', &bytes[..offset])
        .find(|&index| ends_line(bytes, index))
        .map_or(0, |index| index + 1)
}

/// The lines of `text`, each with its line break.
pub fn split_inclusive(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut index = 0;
    std::iter::from_fn(move || {
        while index < bytes.len() {
            let at = index;
            index += 1;
            if ends_line(bytes, at) {
                let line = &text[start..index];
                start = index;
                return Some(line);
            }
        }
        (start < bytes.len()).then(|| {
            let line = &text[start..];
            start = bytes.len();
            line
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_break_ends_a_line_once() {
        let text = "a\nb\r\nc\rd";
        assert_eq!(
            split_inclusive(text).collect::<Vec<_>>(),
            ["a\n", "b\r\n", "c\r", "d"]
        );
        assert_eq!(line_starts(text), [0, 2, 5, 7]);
        assert_eq!(count_breaks(text, 0, text.len()), 3);
        // A `\r\n` cut in two is counted once, at its `\n`.
        assert_eq!(
            count_breaks(text, 0, 4) + count_breaks(text, 4, text.len()),
            3
        );
        assert_eq!(line_start(text, 6), 5);
        assert_eq!(line_start(text, 0), 0);
        assert_eq!(split_inclusive("").count(), 0);
        assert_eq!(split_inclusive("x\r").collect::<Vec<_>>(), ["x\r"]);
    }
}
