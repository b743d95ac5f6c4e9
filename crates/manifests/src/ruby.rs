//! Just enough of Ruby to read Bundler and CocoaPods DSL files without running them.
//!
//! [`tokenize`] turns source into tokens, resolving the ambiguities that matter for
//! finding calls (`/` regex or division, `%w[]` or modulo, `<<~EOS` heredoc or shift,
//! `?x` or ternary) from the previous token, as Ruby's own lexer does. [`walk`] then
//! follows statements and `do … end`/`{ … }` blocks and hands every method call, with
//! its literal arguments and the calls that opened the enclosing blocks, to a visitor.
//! Both are single forward passes, so time is linear in the input.

use crate::{
    Format, MAX_DEPTH, ManifestError,
    scan::{Scanner, closing, is_ident_char, is_ident_start, opening},
};

/// One Ruby token; literals carry their decoded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An identifier, constant or keyword (`gem`, `Gem`, `do`, `present?`).
    Ident(String),
    /// A string literal; interpolations are kept as written (`#{x}`).
    Str(String),
    /// A symbol literal without its colon (`:test` → `test`).
    Sym(String),
    /// A hash key in label form (`require:` or `"require":`), without the colon.
    Label(String),
    /// Punctuation or an operator.
    Punct(&'static str),
    /// End of a line, which may end a statement.
    Newline,
    /// Any other value: numbers, regexes, heredocs, variables, backticks.
    Value,
}

const KEYWORDS: &[&str] = &[
    "alias", "and", "begin", "break", "case", "class", "def", "defined?", "do", "else", "elsif",
    "end", "ensure", "false", "for", "if", "in", "module", "next", "nil", "not", "or", "redo",
    "rescue", "retry", "return", "self", "super", "then", "true", "undef", "unless", "until",
    "when", "while", "yield",
];

/// Keywords after which an expression has ended (so `if` is a modifier, `/` a division).
const VALUE_KEYWORDS: &[&str] = &[
    "end", "self", "true", "false", "nil", "return", "break", "next", "redo", "retry",
];

const PUNCTS: &[&str] = &[
    "**=", "<=>", "===", "...", "||=", "&&=", "<<=", ">>=", "::", "=>", "->", "&.", "..", "**",
    "==", "!=", ">=", "<=", "&&", "||", "<<", ">>", "=~", "!~", "+=", "-=", "*=", "/=", "|=", "&=",
    "%=", "^=", "(", ")", "[", "]", "{", "}", ",", ";", ".", "=", "+", "-", "*", "/", "%", "<",
    ">", "!", "&", "|", "^", "~", "?", ":",
];

impl Tok {
    fn is_keyword(&self) -> bool {
        matches!(self, Tok::Ident(w) if KEYWORDS.contains(&w.as_str()))
    }

    /// Whether an expression can end with this token (Ruby's `EXPR_END` state).
    fn ends_value(&self) -> bool {
        match self {
            Tok::Ident(w) => {
                !KEYWORDS.contains(&w.as_str()) || VALUE_KEYWORDS.contains(&w.as_str())
            }
            Tok::Str(_) | Tok::Sym(_) | Tok::Value => true,
            Tok::Punct(p) => matches!(*p, ")" | "]" | "}"),
            Tok::Label(_) | Tok::Newline => false,
        }
    }
}

/// A heredoc whose body starts after the current line.
struct PendingHeredoc {
    terminator: String,
    indented: bool,
}

struct Lexer<'a> {
    scan: Scanner<'a>,
    /// Where the first string literal that never closes starts.
    unterminated: Option<usize>,
    /// Whether the last [`Lexer::delimited`] literal found its closing delimiter.
    closed: bool,
    toks: Vec<Tok>,
    space_before: bool,
    heredocs: Vec<PendingHeredoc>,
}

/// A quoted string that is never closed, which no valid Ruby file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unterminated {
    /// 1-based line where the string starts.
    pub(crate) line: usize,
}

/// Splits Ruby source into tokens. Text it does not understand becomes [`Tok::Value`] or
/// punctuation; only a `'…'` or `"…"` string running to the end of input is an error.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Tok>, Unterminated> {
    let mut lexer = Lexer {
        scan: Scanner::new(src),
        unterminated: None,
        closed: true,
        toks: Vec::new(),
        space_before: false,
        heredocs: Vec::new(),
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
    fn prev_ends_value(&self) -> bool {
        self.toks.last().is_some_and(Tok::ends_value)
    }

    /// Whether an ambiguous character starts a literal: at the start of an expression,
    /// or as the first argument of a command call (`foo /re/`, `foo %w[a]`).
    fn literal_position(&self) -> bool {
        if !self.prev_ends_value() {
            return true;
        }
        let command_arg = matches!(self.toks.last(), Some(t @ Tok::Ident(_)) if !t.is_keyword());
        let next = self.scan.peek(1).unwrap_or(b' ');
        command_arg && self.space_before && !next.is_ascii_whitespace() && next != b'='
    }

    fn run(&mut self) {
        while let Some(b) = self.scan.peek(0) {
            match b {
                b' ' | b'\t' | b'\r' | b'\x0c' => {
                    self.scan.pos += 1;
                    self.space_before = true;
                    continue;
                }
                b'\\' if matches!(self.scan.peek(1), Some(b'\n')) => self.scan.pos += 2,
                b'\\' if self.scan.peek(1) == Some(b'\r') && self.scan.peek(2) == Some(b'\n') => {
                    self.scan.pos += 3
                }
                b'\n' => {
                    self.scan.pos += 1;
                    self.toks.push(Tok::Newline);
                    self.skip_heredoc_bodies();
                }
                b'#' => self.scan.skip_line(),
                b'=' if self.scan.at_line_start() && self.scan.rest().starts_with("=begin") => {
                    self.skip_block_comment()
                }
                b'_' if self.scan.at_line_start()
                    && self.scan.rest_of_line().trim_end() == "__END__" =>
                {
                    return;
                }
                b'\'' => self.quoted(b'\'', false),
                b'"' => self.quoted(b'"', true),
                b'`' => {
                    self.scan.pos += 1;
                    let _ = self.delimited(b'`', true);
                    self.toks.push(Tok::Value);
                }
                b':' if self.scan.peek(1) == Some(b':') => self.punct(),
                b':' if matches!(self.scan.peek(1), Some(b'"' | b'\'')) => self.quoted_symbol(),
                b':' if self.scan.peek(1).is_some_and(is_ident_start) => self.symbol(),
                b'@' | b'$' => self.variable(),
                b'%' if self.literal_position() && self.percent_literal() => {}
                b'/' if self.literal_position() => {
                    self.scan.pos += 1;
                    let _ = self.delimited(b'/', true);
                    self.scan.skip_while(|c| c.is_ascii_alphabetic());
                    self.toks.push(Tok::Value);
                }
                b'?' if self.literal_position() && self.char_literal() => {}
                b'<' if self.scan.peek(1) == Some(b'<') && self.heredoc_start() => {}
                b'0'..=b'9' => {
                    self.scan.skip_number();
                    self.toks.push(Tok::Value);
                }
                b if is_ident_start(b) => self.identifier(),
                _ => self.punct(),
            }
            self.space_before = false;
        }
    }

    fn skip_block_comment(&mut self) {
        loop {
            self.scan.skip_line();
            if self.scan.peek(0).is_none() {
                return;
            }
            self.scan.pos += 1;
            if self.scan.rest().starts_with("=end") {
                self.scan.skip_line();
                return;
            }
        }
    }

    fn skip_heredoc_bodies(&mut self) {
        for heredoc in std::mem::take(&mut self.heredocs) {
            while self.scan.peek(0).is_some() {
                let line = self.scan.rest_of_line();
                let line_len = line.len();
                let line = line.trim_end_matches('\r');
                let done = if heredoc.indented {
                    line.trim_start() == heredoc.terminator
                } else {
                    line == heredoc.terminator
                };
                self.scan.advance_clamped(line_len + 1);
                if done {
                    break;
                }
            }
        }
    }

    fn punct(&mut self) {
        match self.scan.punct(PUNCTS) {
            Some(op) => self.toks.push(Tok::Punct(op)),
            // A stray byte (or the start of a multi-byte character): step over the character.
            None => {
                self.scan.skip_char();
                self.toks.push(Tok::Value);
            }
        }
    }

    fn identifier(&mut self) {
        let start = self.scan.pos;
        self.scan.skip_while(is_ident_char);
        if matches!(self.scan.peek(0), Some(b'?' | b'!')) && self.scan.peek(1) != Some(b'=') {
            self.scan.pos += 1;
        }
        let word = self.scan.slice(start, self.scan.pos).to_owned();
        if self.scan.peek(0) == Some(b':') && self.scan.peek(1) != Some(b':') {
            self.scan.pos += 1;
            self.toks.push(Tok::Label(word));
        } else {
            self.toks.push(Tok::Ident(word));
        }
    }

    fn variable(&mut self) {
        self.scan.pos += 1;
        if self.scan.bytes().get(self.scan.pos - 1) == Some(&b'$')
            && !self.scan.peek(0).is_some_and(is_ident_start)
        {
            // Special globals such as `$:` or `$0`.
            self.scan.advance_clamped(1);
        } else {
            self.scan.skip_while(|c| is_ident_char(c) || c == b'@');
        }
        self.toks.push(Tok::Value);
    }

    fn symbol(&mut self) {
        self.scan.pos += 1;
        let start = self.scan.pos;
        self.scan.skip_while(is_ident_char);
        if matches!(self.scan.peek(0), Some(b'?' | b'!' | b'=')) && self.scan.peek(1) != Some(b'>')
        {
            self.scan.pos += 1;
        }
        let name = self.scan.slice(start, self.scan.pos).to_owned();
        self.toks.push(Tok::Sym(name));
    }

    fn quoted_symbol(&mut self) {
        self.scan.pos += 1;
        let quote = self.scan.peek(0).unwrap_or(b'"');
        self.scan.pos += 1;
        let text = self.delimited(quote, quote == b'"');
        self.toks.push(Tok::Sym(text));
    }

    fn quoted(&mut self, quote: u8, interpolating: bool) {
        let start = self.scan.pos;
        self.scan.pos += 1;
        let text = self.delimited(quote, interpolating);
        if !self.closed {
            self.unterminated.get_or_insert(start);
        }
        if self.scan.peek(0) == Some(b':')
            && self.scan.peek(1) != Some(b':')
            && self.prev_allows_label()
        {
            self.scan.pos += 1;
            self.toks.push(Tok::Label(text));
        } else {
            self.toks.push(Tok::Str(text));
        }
    }

    /// `"key": value` only appears where a hash key or argument may start.
    fn prev_allows_label(&self) -> bool {
        matches!(
            self.toks.last(),
            Some(Tok::Punct("{" | "," | "(")) | Some(Tok::Ident(_))
        )
    }

    /// Reads a literal up to `close` (the opening delimiter already consumed), returning its
    /// decoded text. Paired delimiters nest; `#{…}` interpolation is kept verbatim.
    fn delimited(&mut self, close: u8, interpolating: bool) -> String {
        let open = opening(close);
        let mut out = Vec::new();
        let mut nesting = 0usize;
        self.closed = false;
        while let Some(b) = self.scan.peek(0) {
            self.scan.pos += 1;
            match b {
                b'\\' => {
                    let Some(next) = self.scan.peek(0) else { break };
                    self.scan.pos += 1;
                    if interpolating {
                        out.push(match next {
                            b'n' => b'\n',
                            b't' => b'\t',
                            other => other,
                        });
                    } else {
                        if next != close && next != b'\\' && Some(next) != open {
                            out.push(b'\\');
                        }
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
                b if b == close => {
                    self.closed = true;
                    break;
                }
                b => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Steps over `{…}` after a `#`, counting braces and skipping simple nested strings.
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
                b'"' | b'\'' => {
                    while let Some(c) = self.scan.peek(0) {
                        self.scan.pos += 1;
                        if c == b'\\' {
                            self.scan.advance_clamped(1);
                        } else if c == b {
                            break;
                        }
                    }
                }
                b'\\' => self.scan.advance_clamped(1),
                _ => {}
            }
        }
    }

    /// `%q(…)`, `%w[…]`, `%i[…]` and friends; returns false when `%` is an operator.
    fn percent_literal(&mut self) -> bool {
        let (kind, delim_at) = match self.scan.peek(1) {
            Some(k) if b"qQwWiIsrx".contains(&k) => (k, 2),
            _ => (b'Q', 1),
        };
        let Some(open) = self.scan.peek(delim_at) else {
            return false;
        };
        if open.is_ascii_alphanumeric() || open.is_ascii_whitespace() || open == b'=' {
            return false;
        }
        let close = closing(open);
        self.scan.pos += delim_at + 1;
        let interpolating = matches!(kind, b'Q' | b'W' | b'I' | b'r' | b'x');
        let text = self.delimited(close, interpolating);
        match kind {
            b'w' | b'W' | b'i' | b'I' => self.word_list(&text, matches!(kind, b'i' | b'I')),
            b'q' | b'Q' => self.toks.push(Tok::Str(text)),
            b's' => self.toks.push(Tok::Sym(text)),
            _ => self.toks.push(Tok::Value),
        }
        true
    }

    /// Emits `%w[a b]` as the tokens of `["a", "b"]` so argument parsing sees one shape.
    fn word_list(&mut self, text: &str, symbols: bool) {
        self.toks.push(Tok::Punct("["));
        for (i, word) in text.split_ascii_whitespace().enumerate() {
            if i > 0 {
                self.toks.push(Tok::Punct(","));
            }
            let word = word.to_owned();
            self.toks.push(if symbols {
                Tok::Sym(word)
            } else {
                Tok::Str(word)
            });
        }
        self.toks.push(Tok::Punct("]"));
    }

    /// `?a` / `?\n`; returns false when `?` is the ternary operator.
    fn char_literal(&mut self) -> bool {
        let (Some(c), after) = (self.scan.peek(1), self.scan.peek(2)) else {
            return false;
        };
        if c.is_ascii_whitespace() || !c.is_ascii() || after.is_some_and(|a| !a.is_ascii()) {
            return false;
        }
        let width = if c == b'\\' { 3 } else { 2 };
        if c != b'\\' && after.is_some_and(is_ident_char) {
            return false;
        }
        self.scan.advance_clamped(width);
        self.toks.push(Tok::Value);
        true
    }

    /// `<<~EOS`, `<<-EOS`, `<<EOS`, `<<~'EOS'`; returns false for the `<<` operator.
    fn heredoc_start(&mut self) -> bool {
        let mut at = 2;
        let indented = matches!(self.scan.peek(at), Some(b'~' | b'-'));
        if indented {
            at += 1;
        }
        let quoted = matches!(self.scan.peek(at), Some(b'\'' | b'"' | b'`'));
        let bare_ident = self
            .scan
            .peek(at)
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_');
        if !(quoted || bare_ident) || (!indented && !quoted && !self.literal_position()) {
            return false;
        }
        let start = self.scan.pos + at;
        let terminator = if quoted {
            let quote = self.scan.peek(at).unwrap_or(b'"');
            let body = start + 1;
            let Some(len) = self
                .scan
                .bytes()
                .get(body..)
                .and_then(|r| r.iter().position(|&c| c == quote || c == b'\n'))
            else {
                return false;
            };
            self.scan.pos = body + len + 1;
            self.scan.slice(body, body + len).to_owned()
        } else {
            self.scan.pos = start;
            self.scan.skip_while(is_ident_char);
            self.scan.slice(start, self.scan.pos).to_owned()
        };
        self.heredocs.push(PendingHeredoc {
            terminator,
            indented,
        });
        self.toks.push(Tok::Value);
        true
    }
}

/// Tokenizes `text`, a file of `format`, and [`walk`]s it, reporting an unclosed string
/// or too deep nesting as the file's error.
pub(crate) fn visit_calls(
    format: Format,
    text: &str,
    visit: impl FnMut(&Call, &[&Call]),
) -> Result<(), ManifestError> {
    let toks = tokenize(text).map_err(|e| {
        let message = format!("string opened on line {} is never closed", e.line);
        ManifestError::syntax(format, message)
    })?;
    walk(&toks, visit).map_err(|TooDeep| ManifestError::TooDeep { limit: MAX_DEPTH })
}

/// A literal argument value, as far as a DSL reader cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Str(String),
    Sym(String),
    Bool(bool),
    List(Vec<Value>),
    /// Anything computed: a variable, a call, an expression.
    Other,
}

impl Value {
    /// The text of a string or symbol.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Sym(s) => Some(s),
            _ => None,
        }
    }

    /// Strings and symbols of a value or of a list of them.
    pub(crate) fn texts(&self) -> Vec<&str> {
        match self {
            Value::List(items) => items.iter().filter_map(Value::text).collect(),
            other => other.text().into_iter().collect(),
        }
    }
}

/// The arguments of one call: positional values, then `key: value` / `:key => value` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) positional: Vec<Value>,
    pub(crate) options: Vec<(String, Value)>,
}

impl Args {
    /// The value of option `key`, if given.
    pub(crate) fn option(&self, key: &str) -> Option<&Value> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The first of `keys` given as a string or symbol option.
    pub(crate) fn option_text(&self, keys: &[&str]) -> Option<&str> {
        keys.iter()
            .find_map(|k| self.option(k).and_then(Value::text))
    }

    /// The first positional argument, when it is a string literal.
    pub(crate) fn first_str(&self) -> Option<&str> {
        match self.positional.first() {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Version constraints after the first argument, joined as RubyGems prints them.
    pub(crate) fn requirements(&self) -> String {
        let parts: Vec<&str> = self
            .positional
            .iter()
            .skip(1)
            .flat_map(|v| match v {
                Value::Str(s) => vec![s.as_str()],
                Value::List(items) => items.iter().filter_map(Value::text).collect(),
                _ => Vec::new(),
            })
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        parts.join(", ")
    }
}

/// A method call: its name, whether it had an explicit receiver (`spec.add_dependency`),
/// and its literal arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) name: String,
    pub(crate) receiver: bool,
    pub(crate) args: Args,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closer {
    End,
    Brace,
    Paren,
    Bracket,
}

struct Frame {
    closer: Closer,
    head: Option<Call>,
}

/// Walks `toks`, calling `visit` with each call and the calls heading the blocks around it
/// (outermost first). Fails only when blocks nest deeper than [`MAX_DEPTH`].
pub(crate) fn walk(toks: &[Tok], mut visit: impl FnMut(&Call, &[&Call])) -> Result<(), TooDeep> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut pending_head: Option<Call> = None;
    let mut loop_do = false;
    let mut i = 0;
    while let Some(tok) = toks.get(i) {
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        match tok {
            Tok::Newline | Tok::Punct(";") => {
                pending_head = None;
                loop_do = false;
            }
            Tok::Ident(word) if word == "do" => {
                if loop_do {
                    loop_do = false;
                } else {
                    push(&mut stack, Closer::End, pending_head.take())?;
                }
            }
            Tok::Ident(word) if word == "end" => {
                if let Some(at) = stack.iter().rposition(|f| f.closer == Closer::End) {
                    stack.truncate(at);
                }
            }
            Tok::Ident(word) if opens_block(word, prev) => {
                loop_do = matches!(word.as_str(), "while" | "until" | "for");
                push(&mut stack, Closer::End, None)?;
            }
            Tok::Ident(word) if !tok.is_keyword() && starts_statement(prev) => {
                let (args, next) = parse_args(toks, i + 1);
                let call = Call {
                    name: word.clone(),
                    receiver: false,
                    args,
                };
                visit_call(&call, &stack, &mut visit);
                pending_head = Some(call);
                i = next;
                continue;
            }
            Tok::Punct("." | "&.") => {
                if let Some(Tok::Ident(word)) = toks.get(i + 1) {
                    let (args, next) = parse_args(toks, i + 2);
                    let call = Call {
                        name: word.clone(),
                        receiver: true,
                        args,
                    };
                    visit_call(&call, &stack, &mut visit);
                    pending_head = Some(call);
                    i = next;
                    continue;
                }
            }
            Tok::Punct("{") => push(&mut stack, Closer::Brace, pending_head.take())?,
            Tok::Punct("(") => push(&mut stack, Closer::Paren, None)?,
            Tok::Punct("[") => push(&mut stack, Closer::Bracket, None)?,
            Tok::Punct(close @ (")" | "]" | "}")) => {
                let closer = match *close {
                    ")" => Closer::Paren,
                    "]" => Closer::Bracket,
                    _ => Closer::Brace,
                };
                if stack.last().is_some_and(|f| f.closer == closer) {
                    stack.pop();
                }
            }
            Tok::Punct(_) => pending_head = None,
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Blocks nest deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep;

fn push(stack: &mut Vec<Frame>, closer: Closer, head: Option<Call>) -> Result<(), TooDeep> {
    if stack.len() >= MAX_DEPTH {
        return Err(TooDeep);
    }
    stack.push(Frame { closer, head });
    Ok(())
}

/// Keywords that open a block closed by `end`; `if`/`unless`/`while`/`until` only at the
/// start of an expression, since after a value they are modifiers (`gem "x" if y`).
fn opens_block(word: &str, prev: Option<&Tok>) -> bool {
    match word {
        "if" | "unless" | "while" | "until" => !prev.is_some_and(Tok::ends_value),
        "case" | "begin" | "def" | "class" | "module" | "for" => true,
        _ => false,
    }
}

fn visit_call(call: &Call, stack: &[Frame], visit: &mut impl FnMut(&Call, &[&Call])) {
    let heads: Vec<&Call> = stack.iter().filter_map(|f| f.head.as_ref()).collect();
    visit(call, &heads);
}

fn starts_statement(prev: Option<&Tok>) -> bool {
    match prev {
        None | Some(Tok::Newline | Tok::Punct(";" | "{" | "(" | "|")) => true,
        Some(Tok::Ident(w)) => matches!(w.as_str(), "then" | "do" | "else" | "begin" | "ensure"),
        _ => false,
    }
}

/// Whether `tok` ends a command call's argument list.
fn ends_args(tok: &Tok) -> bool {
    match tok {
        Tok::Newline => true,
        Tok::Punct(p) => matches!(*p, ";" | ")" | "]" | "}"),
        Tok::Ident(w) => matches!(
            w.as_str(),
            "do" | "end" | "if" | "unless" | "while" | "until" | "rescue" | "and" | "or" | "then"
        ),
        _ => false,
    }
}

fn starts_arg(tok: &Tok) -> bool {
    match tok {
        Tok::Str(_) | Tok::Sym(_) | Tok::Label(_) | Tok::Value => true,
        Tok::Ident(w) => {
            !tok.is_keyword() || matches!(w.as_str(), "true" | "false" | "nil" | "self")
        }
        Tok::Punct(p) => matches!(*p, "[" | "->" | "::" | "!" | "-" | "*" | "&" | "**"),
        Tok::Newline => false,
    }
}

/// Parses the arguments of a call whose name ends just before `start`: `(…)` or a command
/// argument list up to the end of the statement. Returns them and the index after them.
fn parse_args(toks: &[Tok], start: usize) -> (Args, usize) {
    let mut args = Args::default();
    if toks.get(start) == Some(&Tok::Punct("(")) {
        let next = parse_paren_args(toks, start + 1, &mut args);
        return (args, next);
    }
    if !toks.get(start).is_some_and(starts_arg) {
        return (args, start);
    }
    let mut i = start;
    loop {
        let next = parse_arg(toks, i, &mut args);
        match toks.get(next) {
            Some(Tok::Punct(",")) => i = skip_newlines(toks, next + 1),
            _ => return (args, next),
        }
    }
}

/// Arguments inside `(…)`, where newlines do not matter; returns the index after `)`.
fn parse_paren_args(toks: &[Tok], mut i: usize, args: &mut Args) -> usize {
    loop {
        i = skip_newlines(toks, i);
        match toks.get(i) {
            None => return i,
            Some(Tok::Punct(")")) => return i + 1,
            Some(_) => {}
        }
        let next = parse_arg(toks, i, args);
        i = skip_newlines(toks, next);
        match toks.get(i) {
            None => return i,
            Some(Tok::Punct(")")) => return i + 1,
            // `,` or a token we could not read as part of an argument: step over it.
            Some(_) => i += 1,
        }
    }
}

fn skip_newlines(toks: &[Tok], mut i: usize) -> usize {
    while toks.get(i) == Some(&Tok::Newline) {
        i += 1;
    }
    i
}

/// One argument: `key: value`, `:key => value`, `"key" => value`, a braced hash of such
/// pairs, or a positional value.
fn parse_arg(toks: &[Tok], i: usize, args: &mut Args) -> usize {
    if toks.get(i) != Some(&Tok::Punct("{")) {
        return parse_pair_or_value(toks, i, args);
    }
    let mut hash = Args::default();
    let mut j = skip_newlines(toks, i + 1);
    while let Some(tok) = toks.get(j) {
        if *tok == Tok::Punct("}") {
            j += 1;
            break;
        }
        // Entries are not parsed as hashes again, so nesting cannot recurse.
        let next = parse_pair_or_value(toks, j, &mut hash);
        j = match toks.get(next) {
            Some(Tok::Punct(",")) => skip_newlines(toks, next + 1),
            Some(Tok::Punct("}")) => next,
            _ => return skip_expression(toks, i),
        };
    }
    args.options.extend(hash.options);
    j
}

fn parse_pair_or_value(toks: &[Tok], i: usize, args: &mut Args) -> usize {
    let key_and_value = match (toks.get(i), toks.get(i + 1)) {
        (Some(Tok::Label(key)), _) => Some((key, i + 1)),
        (Some(Tok::Sym(key) | Tok::Str(key)), Some(Tok::Punct("=>"))) => Some((key, i + 2)),
        _ => None,
    };
    if let Some((key, value_at)) = key_and_value {
        let (value, next) = parse_value(toks, skip_newlines(toks, value_at), 0);
        args.options.push((key.clone(), value));
        return next;
    }
    let (value, next) = parse_value(toks, i, 0);
    args.positional.push(value);
    next
}

/// A literal value, or [`Value::Other`] for any expression (skipped to its end).
fn parse_value(toks: &[Tok], i: usize, depth: usize) -> (Value, usize) {
    let (value, next) = match toks.get(i) {
        Some(Tok::Str(s)) => (Value::Str(s.clone()), i + 1),
        Some(Tok::Sym(s)) => (Value::Sym(s.clone()), i + 1),
        Some(Tok::Ident(w)) if w == "true" || w == "false" => (Value::Bool(w == "true"), i + 1),
        Some(Tok::Punct("[")) if depth < 8 => parse_list(toks, i + 1, depth + 1),
        _ => return (Value::Other, skip_expression(toks, i)),
    };
    match toks.get(next) {
        None => (value, next),
        Some(t) if ends_args(t) || matches!(t, Tok::Punct("," | "{")) => (value, next),
        // `"a" + b`, `"x".freeze`: an expression that starts with a literal.
        Some(_) => (Value::Other, skip_expression(toks, next)),
    }
}

fn parse_list(toks: &[Tok], mut i: usize, depth: usize) -> (Value, usize) {
    let mut items = Vec::new();
    loop {
        i = skip_newlines(toks, i);
        match toks.get(i) {
            None => return (Value::List(items), i),
            Some(Tok::Punct("]")) => return (Value::List(items), i + 1),
            Some(_) => {}
        }
        let (item, next) = parse_value(toks, i, depth);
        items.push(item);
        i = skip_newlines(toks, next);
        match toks.get(i) {
            Some(Tok::Punct(",")) => i += 1,
            Some(Tok::Punct("]")) => return (Value::List(items), i + 1),
            _ => return (Value::Other, skip_expression(toks, i)),
        }
    }
}

/// Index of the `,` or statement end that closes the expression starting at `i`,
/// stepping over balanced brackets.
fn skip_expression(toks: &[Tok], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some(tok) = toks.get(i) {
        match tok {
            Tok::Punct("(" | "[" | "{") => depth += 1,
            Tok::Punct(")" | "]" | "}") if depth > 0 => depth -= 1,
            Tok::Newline if depth > 0 => {}
            Tok::Punct(",") if depth == 0 => return i,
            t if depth == 0 && ends_args(t) => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(src: &str) -> Vec<(String, Vec<String>, Args)> {
        let mut out = Vec::new();
        walk(&tokenize(src).unwrap(), |call, heads| {
            let heads = heads.iter().map(|h| h.name.clone()).collect();
            out.push((call.name.clone(), heads, call.args.clone()));
        })
        .unwrap();
        out
    }

    fn gem_names(src: &str) -> Vec<String> {
        calls(src)
            .into_iter()
            .filter(|(name, _, _)| name == "gem")
            .filter_map(|(_, _, args)| args.first_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn string_quoting_variants_are_decoded() {
        let toks = tokenize(r#"gem %q(a(b)), "c\"d", 'e\'f', %Q{g}, %(h)"#).unwrap();
        let strs: Vec<_> = toks
            .iter()
            .filter_map(|t| {
                if let Tok::Str(s) = t {
                    Some(s.as_str())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(strs, ["a(b)", "c\"d", "e'f", "g", "h"]);
    }

    #[test]
    fn heredocs_do_not_leak_into_code() {
        let src =
            "x = <<~EOS\n  gem 'hidden'\n  end\nEOS\ngem 'shown'\ny = <<-'A'\ngem 'no'\n  A\n";
        assert_eq!(gem_names(src), ["shown"]);
    }

    #[test]
    fn comments_and_block_comments_hide_calls() {
        let src = "# gem 'a'\n=begin\ngem 'b'\n=end\ngem 'c' # gem 'd'\n__END__\ngem 'e'\n";
        assert_eq!(gem_names(src), ["c"]);
    }

    #[test]
    fn regex_and_division_are_told_apart() {
        let src = "if RUBY_PLATFORM =~ /darwin|end/\n  gem 'a'\nend\nx = 4 / 2\ngem 'b'\n";
        let all = calls(src);
        let b = all
            .iter()
            .find(|(_, _, a)| a.first_str() == Some("b"))
            .unwrap();
        assert!(
            b.1.is_empty(),
            "the regex must not leave a block open: {:?}",
            b.1
        );
    }

    #[test]
    fn modifiers_do_not_open_blocks() {
        let src = "group :test do\n  gem 'a' if ENV['X']\n  gem 'b' unless false\nend\ngem 'c'\n";
        let all = calls(src);
        let c = all
            .iter()
            .find(|(_, _, a)| a.first_str() == Some("c"))
            .unwrap();
        assert!(c.1.is_empty(), "{:?}", c.1);
    }

    #[test]
    fn options_in_every_spelling_are_read() {
        let src = "gem 'a', '>= 1', :require => false, group: [:x, 'y'], \"platforms\": :ruby, **{path: 'p'}\n";
        let all = calls(src);
        let args = &all[0].2;
        assert_eq!(args.requirements(), ">= 1");
        assert_eq!(args.option("require"), Some(&Value::Bool(false)));
        assert_eq!(args.option("group").unwrap().texts(), ["x", "y"]);
        assert_eq!(args.option_text(&["platforms"]), Some("ruby"));
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        let src = "foo do\n".repeat(MAX_DEPTH + 1);
        assert_eq!(walk(&tokenize(&src).unwrap(), |_, _| {}), Err(TooDeep));
    }

    #[test]
    fn deeply_nested_hashes_and_lists_do_not_recurse() {
        let src = format!("gem 'a', {}\ngem 'b'\n", "{x: [".repeat(50_000));
        assert_eq!(gem_names(&src), ["a"]);
    }

    #[test]
    fn unterminated_literals_do_not_panic() {
        for src in [
            "%w[a b",
            "<<~EOS\nabc",
            ":\"x",
            "?",
            "`x",
            "/x",
            "#{",
            "$",
            "?é",
            "$é",
            "%é",
        ] {
            let _ = walk(&tokenize(src).unwrap_or_default(), |_, _| {});
        }
    }

    #[test]
    fn an_unclosed_string_is_reported_with_its_line() {
        assert_eq!(
            tokenize("gem 'a'\ngem \"b\ngem 'c'\n"),
            Err(Unterminated { line: 2 })
        );
        assert_eq!(tokenize("x = 'a\\'"), Err(Unterminated { line: 1 }));
    }
}
