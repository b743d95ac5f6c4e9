//! Just enough of Elixir to read `mix.exs` and `mix.lock` terms without running them.
//!
//! [`tokenize`] is a single forward pass; [`parse_term`] reads a literal term (atoms,
//! strings, booleans, lists, tuples, keyword pairs) with bounded recursion, turning
//! anything computed into [`Term::Other`].

use crate::scan::{Scanner, closing, is_ident_char, is_ident_start, opening};

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

struct Lexer<'a> {
    scan: Scanner<'a>,
    toks: Vec<Tok>,
    unterminated: Option<usize>,
}

/// Splits Elixir source into tokens; only an unclosed double-quoted string is an error.
pub(super) fn tokenize(src: &str) -> Result<Vec<Tok>, Unterminated> {
    let mut lexer = Lexer {
        scan: Scanner::new(src),
        toks: Vec::new(),
        unterminated: None,
    };
    lexer.run();
    match lexer.unterminated {
        Some(at) => Err(Unterminated {
            line: lexer.scan.line_at(at),
        }),
        None => Ok(lexer.toks),
    }
}

impl Lexer<'_> {
    /// A `key:` label needs whitespace (or the end) right after its colon.
    fn label_colon_follows(&self) -> bool {
        self.scan.peek(0) == Some(b':') && self.scan.peek(1).is_none_or(|c| c.is_ascii_whitespace())
    }

    fn run(&mut self) {
        while let Some(b) = self.scan.peek(0) {
            match b {
                b if b.is_ascii_whitespace() => self.scan.pos += 1,
                b'#' => self.scan.skip_while(|c| c != b'\n'),
                b'"' | b'\''
                    if self
                        .scan
                        .rest()
                        .starts_with(if b == b'"' { "\"\"\"" } else { "'''" }) =>
                {
                    let start = self.scan.pos;
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
                    let start = self.scan.pos;
                    self.scan.pos += 1;
                    let (text, closed) = self.delimited(b'"', true);
                    if !closed {
                        self.unterminated.get_or_insert(start);
                    }
                    if self.label_colon_follows() {
                        self.scan.pos += 1;
                        self.toks.push(Tok::Label(text));
                    } else {
                        self.toks.push(Tok::Str(text));
                    }
                }
                b'\'' => {
                    self.scan.pos += 1;
                    let _ = self.delimited(b'\'', true);
                    self.toks.push(Tok::Value);
                }
                b'~' if self.scan.peek(1).is_some_and(|c| c.is_ascii_alphabetic()) => self.sigil(),
                b':' if self.scan.peek(1) == Some(b'"') => {
                    self.scan.pos += 2;
                    let (text, _) = self.delimited(b'"', true);
                    self.toks.push(Tok::Atom(text));
                }
                b':' if self.scan.peek(1).is_some_and(is_ident_start) => {
                    self.scan.pos += 1;
                    let start = self.scan.pos;
                    self.scan
                        .skip_while(|c| is_ident_char(c) || c == b'.' || c == b'@');
                    if matches!(self.scan.peek(0), Some(b'?' | b'!')) {
                        self.scan.pos += 1;
                    }
                    let name = self.scan.slice(start, self.scan.pos).to_owned();
                    self.toks.push(Tok::Atom(name));
                }
                b'?' if self
                    .scan
                    .peek(1)
                    .is_some_and(|c| c.is_ascii() && !c.is_ascii_whitespace()) =>
                {
                    let width = if self.scan.peek(1) == Some(b'\\') {
                        3
                    } else {
                        2
                    };
                    self.scan.advance_clamped(width);
                    self.toks.push(Tok::Value);
                }
                b'0'..=b'9' => {
                    self.scan.skip_number();
                    self.toks.push(Tok::Value);
                }
                b if is_ident_start(b) => self.identifier(),
                _ => self.punct(),
            }
        }
    }

    fn identifier(&mut self) {
        let start = self.scan.pos;
        self.scan.skip_while(is_ident_char);
        if matches!(self.scan.peek(0), Some(b'?' | b'!')) {
            self.scan.pos += 1;
        }
        let word = self.scan.slice(start, self.scan.pos).to_owned();
        if self.label_colon_follows() {
            self.scan.pos += 1;
            self.toks.push(Tok::Label(word));
        } else {
            self.toks.push(Tok::Ident(word));
        }
    }

    fn punct(&mut self) {
        match self.scan.punct(PUNCTS) {
            Some(op) => self.toks.push(Tok::Punct(op)),
            None => {
                self.scan.skip_char();
                self.toks.push(Tok::Value);
            }
        }
    }

    /// Reads up to `close` (opening delimiter consumed); returns the text and whether it closed.
    fn delimited(&mut self, close: u8, interpolating: bool) -> (String, bool) {
        let open = opening(close);
        let mut out = Vec::new();
        let mut nesting = 0usize;
        while let Some(b) = self.scan.peek(0) {
            self.scan.pos += 1;
            match b {
                b'\\' => {
                    if let Some(next) = self.scan.peek(0) {
                        self.scan.pos += 1;
                        out.push(next);
                    }
                }
                b'#' if interpolating && self.scan.peek(0) == Some(b'{') => {
                    let start = self.scan.pos - 1;
                    self.skip_interpolation();
                    out.extend_from_slice(
                        self.scan
                            .bytes()
                            .get(start..self.scan.pos)
                            .unwrap_or_default(),
                    );
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
        while let Some(b) = self.scan.peek(0) {
            self.scan.pos += 1;
            match b {
                b'{' => depth += 1,
                b'}' => {
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
                        } else if c == b'"' {
                            break;
                        }
                    }
                }
                b'\\' => self.scan.advance_clamped(1),
                _ => {}
            }
        }
    }

    /// `"""` or `'''` heredoc: runs to a line whose trimmed text is the same three quotes.
    fn heredoc(&mut self, quote: u8) -> (String, bool) {
        let fence = if quote == b'"' { "\"\"\"" } else { "'''" };
        self.scan.pos += 3;
        let body_start = self.scan.pos;
        while self.scan.peek(0).is_some() {
            let line = self.scan.rest_of_line();
            let line_end = self.scan.pos + line.len();
            if self.scan.pos > body_start && line.trim_start().starts_with(fence) {
                let text = self.scan.slice(body_start, self.scan.pos).to_owned();
                self.scan.pos += line.len() - line.trim_start().len() + 3;
                return (text, true);
            }
            self.scan.pos = line_end;
            self.scan.advance_clamped(1);
        }
        (self.scan.slice(body_start, self.scan.pos).to_owned(), false)
    }

    /// `~w(a b)a`, `~r/x/`, `~S"""…"""`: skipped as one value.
    fn sigil(&mut self) {
        self.scan.pos += 1;
        self.scan.skip_while(|c| c.is_ascii_alphabetic());
        match self.scan.peek(0) {
            Some(q @ (b'"' | b'\''))
                if self
                    .scan
                    .rest()
                    .starts_with(if q == b'"' { "\"\"\"" } else { "'''" }) =>
            {
                let _ = self.heredoc(q);
            }
            Some(open) if !open.is_ascii_alphanumeric() && !open.is_ascii_whitespace() => {
                let close = closing(open);
                self.scan.pos += 1;
                let _ = self.delimited(close, true);
                self.scan.skip_while(|c| c.is_ascii_alphabetic());
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
