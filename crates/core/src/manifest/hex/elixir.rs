//! Just enough of Elixir to read `mix.exs` and `mix.lock` terms without running them.
//!
//! [`tokenize`] is a single forward pass; [`parse_term`] reads a literal term (atoms,
//! strings, booleans, lists, tuples, keyword pairs) with bounded recursion, turning
//! anything computed into [`Term::Other`].

/// One Elixir token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// `:name` or `:"name"`, without the colon.
    Atom(String),
    /// A string literal; interpolations are kept as written.
    Str(String),
    /// A keyword key (`only:` or `"cowboy":`), without the colon.
    Label(String),
    /// An identifier or alias (`deps`, `defp`, `do`, `Mix`).
    Ident(String),
    Punct(&'static str),
    /// Numbers, charlists, sigils, heredocs and anything else.
    Value,
}

const PUNCTS: &[&str] = &[
    "%{", "=>", "::", "->", "<-", "++", "--", "<>", "|>", "==", "!=", "&&", "||", "..", "{", "}",
    "[", "]", "(", ")", ",", ".", "|", "=", "%", "&", "+", "-", "*", "/", "<", ">", "!", "^", "@",
    "\\",
];

/// A `"…"` or `"""…"""` string that never closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unterminated {
    /// 1-based line where the string starts.
    pub(super) line: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    toks: Vec<Tok>,
    unterminated: Option<usize>,
}

/// Splits Elixir source into tokens; only an unclosed double-quoted string is an error.
pub(super) fn tokenize(src: &str) -> Result<Vec<Tok>, Unterminated> {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        toks: Vec::new(),
        unterminated: None,
    };
    lexer.run();
    match lexer.unterminated {
        Some(at) => {
            let line = 1 + src
                .as_bytes()
                .iter()
                .take(at)
                .filter(|&&b| b == b'\n')
                .count();
            Err(Unterminated { line })
        }
        None => Ok(lexer.toks),
    }
}

impl Lexer<'_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn slice(&self, from: usize, to: usize) -> &str {
        self.src.get(from..to).unwrap_or("")
    }

    fn skip_while(&mut self, mut keep: impl FnMut(u8) -> bool) {
        while self.peek(0).is_some_and(&mut keep) {
            self.pos += 1;
        }
    }

    /// A `key:` label needs whitespace (or the end) right after its colon.
    fn label_colon_follows(&self) -> bool {
        self.peek(0) == Some(b':') && self.peek(1).is_none_or(|c| c.is_ascii_whitespace())
    }

    fn run(&mut self) {
        while let Some(b) = self.peek(0) {
            match b {
                b if b.is_ascii_whitespace() => self.pos += 1,
                b'#' => self.skip_while(|c| c != b'\n'),
                b'"' | b'\''
                    if self
                        .rest()
                        .starts_with(if b == b'"' { "\"\"\"" } else { "'''" }) =>
                {
                    let start = self.pos;
                    let (text, closed) = self.heredoc(b);
                    self.toks.push(if b == b'"' {
                        Tok::Str(text)
                    } else {
                        Tok::Value
                    });
                    if b == b'"' && !closed {
                        self.unterminated.get_or_insert(start);
                    }
                }
                b'"' => {
                    let start = self.pos;
                    self.pos += 1;
                    let (text, closed) = self.delimited(b'"', true);
                    if !closed {
                        self.unterminated.get_or_insert(start);
                    }
                    if self.label_colon_follows() {
                        self.pos += 1;
                        self.toks.push(Tok::Label(text));
                    } else {
                        self.toks.push(Tok::Str(text));
                    }
                }
                b'\'' => {
                    self.pos += 1;
                    let _ = self.delimited(b'\'', true);
                    self.toks.push(Tok::Value);
                }
                b'~' if self.peek(1).is_some_and(|c| c.is_ascii_alphabetic()) => self.sigil(),
                b':' if self.peek(1) == Some(b'"') => {
                    self.pos += 2;
                    let (text, _) = self.delimited(b'"', true);
                    self.toks.push(Tok::Atom(text));
                }
                b':' if self.peek(1).is_some_and(is_ident_start) => {
                    self.pos += 1;
                    let start = self.pos;
                    self.skip_while(|c| is_ident_char(c) || c == b'.' || c == b'@');
                    if matches!(self.peek(0), Some(b'?' | b'!')) {
                        self.pos += 1;
                    }
                    let name = self.slice(start, self.pos).to_owned();
                    self.toks.push(Tok::Atom(name));
                }
                b'?' if self
                    .peek(1)
                    .is_some_and(|c| c.is_ascii() && !c.is_ascii_whitespace()) =>
                {
                    self.pos += if self.peek(1) == Some(b'\\') { 3 } else { 2 };
                    self.pos = self.pos.min(self.bytes.len());
                    self.toks.push(Tok::Value);
                }
                b'0'..=b'9' => {
                    self.skip_while(|c| c.is_ascii_alphanumeric() || c == b'_');
                    if self.peek(0) == Some(b'.')
                        && self.peek(1).is_some_and(|c| c.is_ascii_digit())
                    {
                        self.pos += 1;
                        self.skip_while(|c| c.is_ascii_alphanumeric() || c == b'_');
                    }
                    self.toks.push(Tok::Value);
                }
                b if is_ident_start(b) => self.identifier(),
                _ => self.punct(),
            }
        }
    }

    fn identifier(&mut self) {
        let start = self.pos;
        self.skip_while(is_ident_char);
        if matches!(self.peek(0), Some(b'?' | b'!')) {
            self.pos += 1;
        }
        let word = self.slice(start, self.pos).to_owned();
        if self.label_colon_follows() {
            self.pos += 1;
            self.toks.push(Tok::Label(word));
        } else {
            self.toks.push(Tok::Ident(word));
        }
    }

    fn punct(&mut self) {
        let rest = self.rest();
        match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            Some(op) => {
                self.pos += op.len();
                self.toks.push(Tok::Punct(op));
            }
            None => {
                self.pos += rest.chars().next().map_or(1, char::len_utf8);
                self.toks.push(Tok::Value);
            }
        }
    }

    /// Reads up to `close` (opening delimiter consumed); returns the text and whether it closed.
    fn delimited(&mut self, close: u8, interpolating: bool) -> (String, bool) {
        let open = match close {
            b')' => Some(b'('),
            b']' => Some(b'['),
            b'}' => Some(b'{'),
            b'>' => Some(b'<'),
            _ => None,
        };
        let mut out = Vec::new();
        let mut nesting = 0usize;
        while let Some(b) = self.peek(0) {
            self.pos += 1;
            match b {
                b'\\' => {
                    if let Some(next) = self.peek(0) {
                        self.pos += 1;
                        out.push(next);
                    }
                }
                b'#' if interpolating && self.peek(0) == Some(b'{') => {
                    let start = self.pos - 1;
                    self.skip_interpolation();
                    out.extend_from_slice(self.bytes.get(start..self.pos).unwrap_or_default());
                }
                b if Some(b) == open => {
                    nesting += 1;
                    out.push(b);
                }
                b if b == close && nesting > 0 => {
                    nesting -= 1;
                    out.push(b);
                }
                b if b == close => return (String::from_utf8_lossy(&out).into_owned(), true),
                b => out.push(b),
            }
        }
        (String::from_utf8_lossy(&out).into_owned(), false)
    }

    fn skip_interpolation(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek(0) {
            self.pos += 1;
            match b {
                b'{' => depth += 1,
                b'}' => {
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
                        } else if c == b'"' {
                            break;
                        }
                    }
                }
                b'\\' => self.pos = (self.pos + 1).min(self.bytes.len()),
                _ => {}
            }
        }
    }

    /// `"""` or `'''` heredoc: runs to a line whose trimmed text is the same three quotes.
    fn heredoc(&mut self, quote: u8) -> (String, bool) {
        let fence = if quote == b'"' { "\"\"\"" } else { "'''" };
        self.pos += 3;
        let body_start = self.pos;
        while self.peek(0).is_some() {
            let line_end = self
                .rest()
                .find('\n')
                .map_or(self.bytes.len(), |i| self.pos + i);
            let line = self.slice(self.pos, line_end);
            if self.pos > body_start && line.trim_start().starts_with(fence) {
                let text = self.slice(body_start, self.pos).to_owned();
                self.pos += line.len() - line.trim_start().len() + 3;
                return (text, true);
            }
            self.pos = (line_end + 1).min(self.bytes.len());
        }
        (self.slice(body_start, self.pos).to_owned(), false)
    }

    /// `~w(a b)a`, `~r/x/`, `~S"""…"""`: skipped as one value.
    fn sigil(&mut self) {
        self.pos += 1;
        self.skip_while(|c| c.is_ascii_alphabetic());
        match self.peek(0) {
            Some(q @ (b'"' | b'\''))
                if self
                    .rest()
                    .starts_with(if q == b'"' { "\"\"\"" } else { "'''" }) =>
            {
                let _ = self.heredoc(q);
            }
            Some(open) if !open.is_ascii_alphanumeric() && !open.is_ascii_whitespace() => {
                let close = match open {
                    b'(' => b')',
                    b'[' => b']',
                    b'{' => b'}',
                    b'<' => b'>',
                    other => other,
                };
                self.pos += 1;
                let _ = self.delimited(close, true);
                self.skip_while(|c| c.is_ascii_alphabetic());
            }
            _ => {}
        }
        self.toks.push(Tok::Value);
    }
}

/// A literal Elixir term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Term {
    Atom(String),
    Str(String),
    Bool(bool),
    List(Vec<Term>),
    Tuple(Vec<Term>),
    /// A `key: value` pair inside a list or a tuple's trailing keywords.
    Pair(String, Box<Term>),
    Other,
}

impl Term {
    /// The atoms of an atom or a list of atoms (`:dev`, `[:dev, :test]`).
    pub(super) fn atoms(&self) -> Vec<&str> {
        match self {
            Term::Atom(a) => vec![a.as_str()],
            Term::List(items) => items.iter().flat_map(Term::atoms).collect(),
            _ => Vec::new(),
        }
    }
}

/// Deepest nesting of lists and tuples [`parse_term`] reads before giving up on a term.
const MAX_TERM_DEPTH: usize = 32;

/// Reads the term starting at `i`; returns it and the index after it. A term that is not a
/// literal (or nests too deep) is skipped to the next `,` or closing bracket.
pub(super) fn parse_term(toks: &[Tok], i: usize, depth: usize) -> (Term, usize) {
    let term = match toks.get(i) {
        Some(Tok::Atom(a)) => (Term::Atom(a.clone()), i + 1),
        Some(Tok::Str(s)) => (Term::Str(s.clone()), i + 1),
        Some(Tok::Ident(w)) if w == "true" || w == "false" => (Term::Bool(w == "true"), i + 1),
        Some(Tok::Label(key)) => {
            let (value, next) = parse_term(toks, i + 1, depth);
            (Term::Pair(key.clone(), Box::new(value)), next)
        }
        Some(Tok::Punct("[")) if depth < MAX_TERM_DEPTH => {
            let (items, next) = parse_items(toks, i + 1, "]", depth + 1);
            (Term::List(items), next)
        }
        Some(Tok::Punct("{")) if depth < MAX_TERM_DEPTH => {
            let (items, next) = parse_items(toks, i + 1, "}", depth + 1);
            (Term::Tuple(items), next)
        }
        _ => return (Term::Other, skip_term(toks, i)),
    };
    match toks.get(term.1) {
        None | Some(Tok::Punct("," | "]" | "}" | ")")) => term,
        // `Mix.env() == :dev`, `"a" <> b`: an expression that starts with a literal.
        Some(_) => (Term::Other, skip_term(toks, term.1)),
    }
}

/// Comma-separated terms up to `close`; returns them and the index after `close`.
fn parse_items(toks: &[Tok], mut i: usize, close: &str, depth: usize) -> (Vec<Term>, usize) {
    let mut items = Vec::new();
    loop {
        match toks.get(i) {
            None => return (items, i),
            Some(Tok::Punct(p)) if *p == close => return (items, i + 1),
            Some(_) => {}
        }
        let (item, next) = parse_term(toks, i, depth);
        items.push(item);
        match toks.get(next) {
            Some(Tok::Punct(",")) => i = next + 1,
            Some(Tok::Punct(p)) if *p == close => return (items, next + 1),
            // A stray closing bracket of another kind: step over it.
            Some(_) => i = next + 1,
            None => return (items, next),
        }
    }
}

/// Index of the `,` or closing bracket that ends the expression starting at `i`.
fn skip_term(toks: &[Tok], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some(tok) = toks.get(i) {
        match tok {
            Tok::Punct("(" | "[" | "{" | "%{") => depth += 1,
            Tok::Punct(")" | "]" | "}") if depth == 0 => return i,
            Tok::Punct(")" | "]" | "}") => depth -= 1,
            Tok::Punct(",") if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Index of the bracket closing the one opened just before `i` (or the end).
pub(super) fn matching_close(toks: &[Tok], i: usize) -> usize {
    let mut at = i;
    loop {
        at = skip_term(toks, at);
        match toks.get(at) {
            Some(Tok::Punct(",")) => at += 1,
            _ => return at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_labels() {
        let toks = tokenize(r#"{:a, "b\"c", only: :test, "k": 1, :"q x"} # {:no}"#).unwrap();
        assert_eq!(
            toks,
            [
                Tok::Punct("{"),
                Tok::Atom("a".into()),
                Tok::Punct(","),
                Tok::Str("b\"c".into()),
                Tok::Punct(","),
                Tok::Label("only".into()),
                Tok::Atom("test".into()),
                Tok::Punct(","),
                Tok::Label("k".into()),
                Tok::Value,
                Tok::Punct(","),
                Tok::Atom("q x".into()),
                Tok::Punct("}"),
            ]
        );
    }

    #[test]
    fn heredocs_sigils_and_charlists_are_single_values() {
        let toks = tokenize("@doc \"\"\"\n{:a, \"1\"}\n\"\"\"\nx = ~w(a {b)\ny = 'c'\n").unwrap();
        assert!(!toks.contains(&Tok::Atom("a".into())), "{toks:?}");
    }

    #[test]
    fn terms_with_computed_parts() {
        let toks =
            tokenize(r#"{:esbuild, "~> 0.8", runtime: Mix.env() == :dev, only: [:dev, :test]}"#)
                .unwrap();
        let (term, next) = parse_term(&toks, 0, 0);
        assert_eq!(next, toks.len());
        let Term::Tuple(items) = term else {
            panic!("{term:?}")
        };
        assert_eq!(
            items[2],
            Term::Pair("runtime".into(), Box::new(Term::Other))
        );
        assert_eq!(
            items[3],
            Term::Pair(
                "only".into(),
                Box::new(Term::List(vec![
                    Term::Atom("dev".into()),
                    Term::Atom("test".into())
                ]))
            )
        );
    }

    #[test]
    fn unclosed_strings_are_reported_and_odd_input_does_not_panic() {
        assert_eq!(tokenize("a\n\"b\n"), Err(Unterminated { line: 2 }));
        assert!(tokenize("x = \"\"\"\nabc\n").is_err());
        for src in ["~", "~w(", "?", "?\\", ":\"", "'", "#{", "\"#{", "é:", "?é"] {
            let toks = tokenize(src).unwrap_or_default();
            let _ = parse_term(&toks, 0, 0);
        }
        let deep = "[".repeat(10_000);
        let toks = tokenize(&deep).unwrap();
        let _ = parse_term(&toks, 0, 0);
    }
}
