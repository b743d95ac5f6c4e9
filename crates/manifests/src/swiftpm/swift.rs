//! Just enough of Swift to find `.package(…)` calls: comments (nested), string literals
//! (multi-line, raw, with `\(…)` interpolation), identifiers, numbers and punctuation.
//! A single forward pass.

use crate::scan::{Scanner, is_ident_char};

/// One Swift token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Ident(String),
    /// A string literal's text; interpolations are kept as written.
    Str(String),
    /// An integer or decimal literal, as written.
    Num(String),
    Punct(&'static str),
}

const PUNCTS: &[&str] = &[
    "..<", "...", "->", "==", "!=", "&&", "||", "(", ")", "[", "]", "{", "}", ",", ":", ".", "=",
    "+", "-", "*", "/", "<", ">", "!", "?", "&", "|", "@", "#", "$", "\\", ";", "%", "^", "~", "`",
];

/// Most `#`s a raw string delimiter may have (`#"…"#`, `##"…"##`).
const MAX_RAW_HASHES: usize = 16;

/// A string literal that never closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unterminated {
    /// 1-based line where the string starts.
    pub(super) line: usize,
}

struct Lexer<'a> {
    scan: Scanner<'a>,
    toks: Vec<Tok>,
}

/// Splits Swift source into tokens; only an unclosed string literal is an error.
pub(super) fn tokenize(src: &str) -> Result<Vec<Tok>, Unterminated> {
    let mut lexer = Lexer {
        scan: Scanner::new(src),
        toks: Vec::new(),
    };
    lexer.run().map_err(|at| Unterminated {
        line: lexer.scan.line_at(at),
    })?;
    Ok(lexer.toks)
}

impl Lexer<'_> {
    /// Tokenizes everything; `Err` holds where an unclosed string starts.
    fn run(&mut self) -> Result<(), usize> {
        while let Some(b) = self.scan.peek(0) {
            let start = self.scan.pos;
            match b {
                b if b.is_ascii_whitespace() => self.scan.pos += 1,
                b'/' if self.scan.peek(1) == Some(b'/') => self.scan.skip_while(|c| c != b'\n'),
                b'/' if self.scan.peek(1) == Some(b'*') => self.block_comment(),
                b'#' => {
                    let hashes = self.scan.rest().bytes().take_while(|&c| c == b'#').count();
                    self.scan.pos += hashes;
                    // Raw strings use a few `#`s; longer runs are not strings (and would
                    // make matching the closing delimiter slow).
                    if hashes <= MAX_RAW_HASHES && self.scan.peek(0) == Some(b'"') {
                        let text = self.string(hashes).ok_or(start)?;
                        self.toks.push(Tok::Str(text));
                    } else {
                        self.toks.push(Tok::Punct("#"));
                    }
                }
                b'"' => {
                    let text = self.string(0).ok_or(start)?;
                    self.toks.push(Tok::Str(text));
                }
                b'0'..=b'9' => {
                    self.scan.skip_number();
                    let text = self.scan.slice(start, self.scan.pos).to_owned();
                    self.toks.push(Tok::Num(text));
                }
                b'`' => {
                    self.scan.pos += 1;
                    let from = self.scan.pos;
                    self.scan.skip_while(|c| c != b'`' && c != b'\n');
                    let text = self.scan.slice(from, self.scan.pos).to_owned();
                    self.scan.advance_clamped(1);
                    self.toks.push(Tok::Ident(text));
                }
                b if is_ident_char(b) => {
                    self.scan.skip_while(is_ident_char);
                    let text = self.scan.slice(start, self.scan.pos).to_owned();
                    self.toks.push(Tok::Ident(text));
                }
                _ => self.punct(),
            }
        }
        Ok(())
    }

    fn punct(&mut self) {
        match self.scan.punct(PUNCTS) {
            Some(op) => self.toks.push(Tok::Punct(op)),
            None => self.scan.skip_char(),
        }
    }

    fn block_comment(&mut self) {
        let mut depth = 0usize;
        while self.scan.peek(0).is_some() {
            if self.scan.rest().starts_with("/*") {
                depth += 1;
                self.scan.pos += 2;
            } else if self.scan.rest().starts_with("*/") {
                depth = depth.saturating_sub(1);
                self.scan.pos += 2;
                if depth == 0 {
                    return;
                }
            } else {
                self.scan.pos += 1;
            }
        }
    }

    /// A `"…"` or `"""…"""` literal closed by its quotes and `hashes` `#`s (raw strings);
    /// `None` when it never closes.
    fn string(&mut self, hashes: usize) -> Option<String> {
        let multiline = self.scan.rest().starts_with("\"\"\"");
        let quotes = if multiline { "\"\"\"" } else { "\"" };
        let close: String = format!("{quotes}{}", "#".repeat(hashes));
        let escape: String = format!("\\{}", "#".repeat(hashes));
        self.scan.pos += quotes.len();
        let mut out = String::new();
        loop {
            let rest = self.scan.rest();
            if rest.is_empty() || (!multiline && rest.starts_with('\n')) {
                return None;
            }
            if rest.starts_with(close.as_str()) {
                self.scan.pos += close.len();
                return Some(out);
            }
            if rest.starts_with(escape.as_str()) {
                let after = self.scan.pos + escape.len();
                if self.scan.bytes().get(after) == Some(&b'(') {
                    self.scan.pos = after;
                    let from = self.scan.pos;
                    self.skip_interpolation();
                    out.push_str(&format!("\\({}", self.scan.slice(from + 1, self.scan.pos)));
                    continue;
                }
                let next = self
                    .scan
                    .slice(after, self.scan.bytes().len())
                    .chars()
                    .next();
                match next {
                    Some(c) => {
                        out.push(match c {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        self.scan.pos = after + c.len_utf8();
                    }
                    None => self.scan.pos = after,
                }
                continue;
            }
            let c = rest.chars().next()?;
            out.push(c);
            self.scan.pos += c.len_utf8();
        }
    }

    /// Steps over a balanced `(…)`, skipping simple nested strings.
    fn skip_interpolation(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.scan.peek(0) {
            self.scan.pos += 1;
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                b'"' => {
                    while let Some(c) = self.scan.peek(0) {
                        self.scan.pos += 1;
                        if c == b'\\' {
                            self.scan.advance_clamped(1);
                        } else if c == b'"' || c == b'\n' {
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(src: &str) -> Vec<String> {
        tokenize(src)
            .unwrap()
            .into_iter()
            .filter_map(|t| if let Tok::Str(s) = t { Some(s) } else { None })
            .collect()
    }

    #[test]
    fn string_forms() {
        assert_eq!(
            strs(r##"a("x\"y", #"r"aw"#, "i\(f("p")) z")"##),
            ["x\"y", "r\"aw", "i\\(f(\"p\")) z"]
        );
        assert_eq!(
            strs("let s = \"\"\"\n  .package(url: \"no\")\n  \"\"\"\n"),
            ["\n  .package(url: \"no\")\n  "]
        );
    }

    #[test]
    fn comments_nest() {
        assert_eq!(strs("/* a /* \"b\" */ \"c\" */ \"d\" // \"e\"\n"), ["d"]);
    }

    #[test]
    fn unclosed_strings_are_reported() {
        assert_eq!(
            tokenize("let a = 1\nlet b = \"x\n"),
            Err(Unterminated { line: 2 })
        );
        assert!(tokenize("\"\"\"\nabc").is_err());
        for src in ["#", "##\"", "\"\\(", "`", "/*", "\"\\", "é", "\"é\\"] {
            let _ = tokenize(src);
        }
    }

    #[test]
    fn long_runs_of_hashes_are_read() {
        let _ = tokenize(&"#".repeat(1_000_000));
        let _ = tokenize(&format!("{}\"{}", "#".repeat(100_000), "x".repeat(100_000)));
    }
}
