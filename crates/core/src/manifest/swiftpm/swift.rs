//! Just enough of Swift to find `.package(…)` calls: comments (nested), string literals
//! (multi-line, raw, with `\(…)` interpolation), identifiers, numbers and punctuation.
//! A single forward pass.

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
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    toks: Vec<Tok>,
}

/// Splits Swift source into tokens; only an unclosed string literal is an error.
pub(super) fn tokenize(src: &str) -> Result<Vec<Tok>, Unterminated> {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        toks: Vec::new(),
    };
    lexer.run().map_err(|at| Unterminated {
        line: 1 + src
            .as_bytes()
            .iter()
            .take(at)
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    Ok(lexer.toks)
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl Lexer<'_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn skip_while(&mut self, mut keep: impl FnMut(u8) -> bool) {
        while self.peek(0).is_some_and(&mut keep) {
            self.pos += 1;
        }
    }

    /// Tokenizes everything; `Err` holds where an unclosed string starts.
    fn run(&mut self) -> Result<(), usize> {
        while let Some(b) = self.peek(0) {
            let start = self.pos;
            match b {
                b if b.is_ascii_whitespace() => self.pos += 1,
                b'/' if self.peek(1) == Some(b'/') => self.skip_while(|c| c != b'\n'),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
                b'#' => {
                    let hashes = self.rest().bytes().take_while(|&c| c == b'#').count();
                    self.pos += hashes;
                    // Raw strings use a few `#`s; longer runs are not strings (and would
                    // make matching the closing delimiter slow).
                    if hashes <= MAX_RAW_HASHES && self.peek(0) == Some(b'"') {
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
                    self.skip_while(|c| c.is_ascii_alphanumeric() || c == b'_');
                    if self.peek(0) == Some(b'.')
                        && self.peek(1).is_some_and(|c| c.is_ascii_digit())
                    {
                        self.pos += 1;
                        self.skip_while(|c| c.is_ascii_alphanumeric() || c == b'_');
                    }
                    let text = self.src.get(start..self.pos).unwrap_or("").to_owned();
                    self.toks.push(Tok::Num(text));
                }
                b'`' => {
                    self.pos += 1;
                    let from = self.pos;
                    self.skip_while(|c| c != b'`' && c != b'\n');
                    let text = self.src.get(from..self.pos).unwrap_or("").to_owned();
                    self.pos = (self.pos + 1).min(self.bytes.len());
                    self.toks.push(Tok::Ident(text));
                }
                b if is_ident_char(b) => {
                    self.skip_while(is_ident_char);
                    let text = self.src.get(start..self.pos).unwrap_or("").to_owned();
                    self.toks.push(Tok::Ident(text));
                }
                _ => self.punct(),
            }
        }
        Ok(())
    }

    fn punct(&mut self) {
        let rest = self.rest();
        match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            Some(op) => {
                self.pos += op.len();
                self.toks.push(Tok::Punct(op));
            }
            None => self.pos += rest.chars().next().map_or(1, char::len_utf8),
        }
    }

    fn block_comment(&mut self) {
        let mut depth = 0usize;
        while self.peek(0).is_some() {
            if self.rest().starts_with("/*") {
                depth += 1;
                self.pos += 2;
            } else if self.rest().starts_with("*/") {
                depth = depth.saturating_sub(1);
                self.pos += 2;
                if depth == 0 {
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
    }

    /// A `"…"` or `"""…"""` literal closed by its quotes and `hashes` `#`s (raw strings);
    /// `None` when it never closes.
    fn string(&mut self, hashes: usize) -> Option<String> {
        let multiline = self.rest().starts_with("\"\"\"");
        let quotes = if multiline { "\"\"\"" } else { "\"" };
        let close: String = format!("{quotes}{}", "#".repeat(hashes));
        let escape: String = format!("\\{}", "#".repeat(hashes));
        self.pos += quotes.len();
        let mut out = String::new();
        loop {
            let rest = self.rest();
            if rest.is_empty() || (!multiline && rest.starts_with('\n')) {
                return None;
            }
            if rest.starts_with(close.as_str()) {
                self.pos += close.len();
                return Some(out);
            }
            if rest.starts_with(escape.as_str()) {
                let after = self.pos + escape.len();
                if self.bytes.get(after) == Some(&b'(') {
                    self.pos = after;
                    let from = self.pos;
                    self.skip_interpolation();
                    out.push_str(&format!(
                        "\\({}",
                        self.src.get(from + 1..self.pos).unwrap_or("")
                    ));
                    continue;
                }
                let next = self.src.get(after..).and_then(|r| r.chars().next());
                match next {
                    Some(c) => {
                        out.push(match c {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        self.pos = after + c.len_utf8();
                    }
                    None => self.pos = after,
                }
                continue;
            }
            let c = rest.chars().next()?;
            out.push(c);
            self.pos += c.len_utf8();
        }
    }

    /// Steps over a balanced `(…)`, skipping simple nested strings.
    fn skip_interpolation(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek(0) {
            self.pos += 1;
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                b'"' => {
                    while let Some(c) = self.peek(0) {
                        self.pos += 1;
                        if c == b'\\' {
                            self.pos = (self.pos + 1).min(self.bytes.len());
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
