//! The cursor the hand-written lexers (Ruby, Elixir, Swift, Gradle) share: a byte position
//! in the source, look-ahead, skipping, punctuation matching and 1-based line numbers for
//! error messages. Each lexer keeps only what its language decides.
//!
//! Every method is bounds-checked (`get`, never indexing), so a lexer that steps past the
//! end or into the middle of a multi-byte character reads nothing instead of panicking.

use std::cell::Cell;

/// A forward cursor over source text.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    src: &'a str,
    /// Byte offset of the next unread byte; lexers move it directly.
    pub(crate) pos: usize,
    /// The last `(offset, line)` [`Scanner::line_at`] answered, so asking for lines in
    /// increasing order (as a lexer does) counts every newline once.
    line_mark: Cell<(usize, usize)>,
}

impl<'a> Scanner<'a> {
    /// A cursor at the start of `src`.
    pub(crate) fn new(src: &'a str) -> Self {
        Scanner {
            src,
            pos: 0,
            line_mark: Cell::new((0, 1)),
        }
    }

    /// The source's bytes.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    /// The byte `offset` bytes past the cursor.
    pub(crate) fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes().get(self.pos + offset).copied()
    }

    /// The unread text (empty when the cursor is past the end or inside a character).
    pub(crate) fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    /// The text between two offsets (empty when they do not fall on characters).
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a str {
        self.src.get(from..to).unwrap_or("")
    }

    /// Whether the cursor is at the start of a line.
    pub(crate) fn at_line_start(&self) -> bool {
        self.pos == 0 || self.bytes().get(self.pos - 1) == Some(&b'\n')
    }

    /// The text from the cursor to the end of its line, without the newline.
    pub(crate) fn rest_of_line(&self) -> &'a str {
        let end = self
            .rest()
            .find('\n')
            .map_or(self.src.len(), |i| self.pos + i);
        self.slice(self.pos, end)
    }

    /// Moves the cursor `n` bytes on, but never past the end.
    pub(crate) fn advance_clamped(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.src.len());
    }

    /// Steps over the bytes `keep` accepts.
    pub(crate) fn skip_while(&mut self, mut keep: impl FnMut(u8) -> bool) {
        while self.peek(0).is_some_and(&mut keep) {
            self.pos += 1;
        }
    }

    /// Steps to the end of the line, leaving the newline unread.
    pub(crate) fn skip_line(&mut self) {
        self.skip_while(|c| c != b'\n');
    }

    /// Steps over a number as the C-family languages write it (`12`, `0x1F`, `1_000`,
    /// `3.14`); `1..2` stays a number and a range.
    pub(crate) fn skip_number(&mut self) {
        self.skip_while(|c| c.is_ascii_alphanumeric() || c == b'_');
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.skip_while(|c| c.is_ascii_alphanumeric() || c == b'_');
        }
    }

    /// The first of `puncts` (longest first) the unread text starts with, stepped over.
    pub(crate) fn punct(&mut self, puncts: &[&'static str]) -> Option<&'static str> {
        let rest = self.rest();
        let op = puncts.iter().find(|p| rest.starts_with(**p))?;
        self.pos += op.len();
        Some(op)
    }

    /// Steps over one character (one byte where the cursor is not on a character).
    pub(crate) fn skip_char(&mut self) {
        self.pos += self.rest().chars().next().map_or(1, char::len_utf8);
    }

    /// The 1-based line of byte offset `at`.
    pub(crate) fn line_at(&self, at: usize) -> usize {
        let at = at.min(self.src.len());
        let (mark, line) = self.line_mark.get();
        let newlines = |from: usize, to: usize| {
            self.bytes()
                .get(from..to)
                .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        };
        let line = if at >= mark {
            line + newlines(mark, at)
        } else {
            line - newlines(at, mark)
        };
        self.line_mark.set((at, line));
        line
    }
}

/// Whether `b` may start an identifier (non-ASCII bytes count, as the languages allow).
pub(crate) fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

/// Whether `b` may continue an identifier.
pub(crate) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The delimiter that closes a literal opened with `open` (`(` → `)`; others close themselves).
pub(crate) fn closing(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        other => other,
    }
}

/// The delimiter that opens a nesting pair closed by `close`, if it is one.
pub(crate) fn opening(close: u8) -> Option<u8> {
    match close {
        b')' => Some(b'('),
        b']' => Some(b'['),
        b'}' => Some(b'{'),
        b'>' => Some(b'<'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_in_any_order() {
        let scan = Scanner::new("a\nb\n\nc");
        assert_eq!(scan.line_at(0), 1);
        assert_eq!(scan.line_at(2), 2);
        assert_eq!(scan.line_at(5), 4);
        assert_eq!(scan.line_at(3), 2);
        assert_eq!(scan.line_at(4), 3);
        assert_eq!(scan.line_at(0), 1);
        assert_eq!(scan.line_at(99), 4);
    }

    #[test]
    fn cursor_never_reads_past_the_end_or_inside_a_character() {
        let mut scan = Scanner::new("é1.5..x");
        scan.pos = 1;
        assert_eq!(scan.rest(), "");
        scan.skip_char();
        assert_eq!(scan.pos, 2);
        scan.skip_number();
        assert_eq!(scan.rest(), "..x");
        assert_eq!(scan.punct(&["...", ".."]), Some(".."));
        scan.advance_clamped(10);
        assert_eq!((scan.pos, scan.peek(0), scan.rest_of_line()), (8, None, ""));
    }

    #[test]
    fn delimiters_pair() {
        for (open, close) in [(b'(', b')'), (b'[', b']'), (b'{', b'}'), (b'<', b'>')] {
            assert_eq!((closing(open), opening(close)), (close, Some(open)));
        }
        assert_eq!((closing(b'|'), opening(b'|')), (b'|', None));
    }
}
