//! `build.gradle` (Groovy DSL) and `build.gradle.kts` (Kotlin DSL), read with a small
//! tokenizer rather than an interpreter.
//!
//! Declarations are read inside `dependencies { … }` blocks (also nested ones, as in
//! `subprojects` or Kotlin multiplatform source sets), except those of `buildscript`
//! (classpath entries for the build's own code), `constraints` and the
//! dependency-management plugin's `dependencyManagement` (managed-only versions). The
//! top-level `plugins { … }` block adds the plugins it applies with a version, as build
//! dependencies under their marker artifacts (see [`super::catalog`]).
//!
//! Recognised notations: `conf 'g:a:v'`, `conf("g:a:v")`, several strings in one
//! declaration, `conf group: 'g', name: 'a', version: 'v'` (and Kotlin's `group = "g"` or
//! positional `conf("g", "a", "v")`), `kotlin("stdlib")`, `add("conf", "g:a:v")`,
//! version-catalog accessors (`libs.foo.bar`, `libs.bundles.x`, `alias(libs.plugins.y)`)
//! resolved in the catalogs the build sees, and `project(':x')` or `projects.x` (reported as
//! local). Skipped: `platform(…)` and `enforcedPlatform(…)` (BOMs only pin versions),
//! `files(…)`, `fileTree(…)`, accessors no catalog defines, and other expressions a
//! tokenizer cannot evaluate, including a coordinate built by concatenation
//! (`'g:a:' + v`). Interpolated versions (`"g:a:$v"`, `"${v}"`) are kept verbatim.
//!
//! Kinds come from the configuration name: tools such as `checkstyle`, `detekt` or `pitest`
//! → build; `test…` → test; `compileOnly`, `annotationProcessor`, `kapt` and `ksp` → build;
//! `provided…` → peer; `developmentOnly` → development; anything else → runtime. Every
//! declaration inside a test source set or suite is a test dependency. Versions given as
//! `$v` or `${v}` are filled in from string variables assigned in the same script.

use std::collections::HashMap;

use super::{
    catalog::{Catalogs, Resolved, plugin_marker},
    coordinates,
};
use crate::{Format, MAX_DEPTH, ManifestError, ParsedDependency, ParsedManifest, scan::Scanner};
use wump_core::{DependencyKind, Ecosystem};

/// Deepest `${…}` template nesting inside a string.
const MAX_TEMPLATE_NESTING: usize = 16;
/// Deepest call nesting inside one declaration that is interpreted.
const MAX_CALL_NESTING: usize = 8;

/// Parses a Gradle build script in either DSL (`format` names it in errors), resolving
/// accessors in the version `catalogs` its build sees.
pub(super) fn parse(
    format: Format,
    text: &str,
    catalogs: &Catalogs<'_>,
) -> Result<ParsedManifest, ManifestError> {
    let tokens = Lexer::new(text)
        .tokens()
        .map_err(|e| ManifestError::syntax(format, e))?;
    let dependencies = Declarations::new(&tokens, catalogs).read(format)?;
    Ok(ParsedManifest {
        dependencies,
        ..ParsedManifest::default()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Ident(&'a str),
    /// A string literal's text between its quotes, escapes and templates as written.
    Str(&'a str),
    Punct(u8),
    /// Numbers, operators and anything else that never starts a declaration.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    tok: Tok<'a>,
    /// Whether a line break separates it from the previous token (ends a Groovy statement).
    newline_before: bool,
    line: usize,
}

#[derive(Debug)]
struct Lexer<'a> {
    scan: Scanner<'a>,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            scan: Scanner::new(text),
        }
    }

    /// The 1-based line of the cursor.
    fn line(&self) -> usize {
        self.scan.line_at(self.scan.pos)
    }

    fn tokens(mut self) -> Result<Vec<Token<'a>>, String> {
        let mut tokens = Vec::new();
        if self.scan.rest().starts_with("#!") {
            self.scan.skip_line();
        }
        let mut newline_before = false;
        while let Some(b) = self.scan.peek(0) {
            let line = self.line();
            let tok = match b {
                b'\n' => {
                    self.scan.pos += 1;
                    newline_before = true;
                    continue;
                }
                b if b.is_ascii_whitespace() => {
                    self.scan.pos += 1;
                    continue;
                }
                b'/' if self.scan.peek(1) == Some(b'/') => {
                    self.scan.skip_line();
                    continue;
                }
                b'/' if self.scan.peek(1) == Some(b'*') => {
                    self.skip_block_comment()?;
                    continue;
                }
                b'\'' | b'"' => Tok::Str(self.string(0)?),
                b if b.is_ascii_alphabetic() || b == b'_' || b == b'$' => Tok::Ident(self.ident()),
                b'(' | b')' | b'{' | b'}' | b'[' | b']' | b',' | b':' | b'=' | b';' | b'.'
                | b'+' => {
                    self.scan.pos += 1;
                    Tok::Punct(b)
                }
                _ => {
                    self.scan.pos += 1;
                    Tok::Other
                }
            };
            tokens.push(Token {
                tok,
                newline_before,
                line,
            });
            newline_before = false;
        }
        Ok(tokens)
    }

    fn skip_block_comment(&mut self) -> Result<(), String> {
        let start_line = self.line();
        self.scan.pos += 2;
        loop {
            match self.scan.peek(0) {
                None => {
                    return Err(format!(
                        "comment opened on line {start_line} is never closed"
                    ));
                }
                Some(b'*') if self.scan.peek(1) == Some(b'/') => {
                    self.scan.pos += 2;
                    return Ok(());
                }
                Some(_) => self.scan.pos += 1,
            }
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.scan.pos;
        self.scan
            .skip_while(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
        self.scan.slice(start, self.scan.pos)
    }

    /// Reads a string literal at the cursor (`'…'`, `"…"`, `'''…'''` or `"""…"""`) and returns
    /// its contents. Double-quoted strings may hold `${…}` templates, themselves holding strings.
    fn string(&mut self, nesting: usize) -> Result<&'a str, String> {
        let start_line = self.line();
        let unterminated = || format!("string opened on line {start_line} is never closed");
        let quote = self.scan.peek(0).ok_or_else(unterminated)?;
        let triple = self.scan.peek(1) == Some(quote) && self.scan.peek(2) == Some(quote);
        self.scan.pos += if triple { 3 } else { 1 };
        let start = self.scan.pos;
        loop {
            let b = self.scan.peek(0).ok_or_else(unterminated)?;
            match b {
                b'\\' => self.scan.pos += 2,
                b'\n' if !triple => return Err(unterminated()),
                b'$' if quote == b'"' && self.scan.peek(1) == Some(b'{') => {
                    self.template(nesting)?
                }
                _ if b == quote
                    && (!triple
                        || (self.scan.peek(1) == Some(quote)
                            && self.scan.peek(2) == Some(quote))) =>
                {
                    let end = self.scan.pos;
                    self.scan.pos += if triple { 3 } else { 1 };
                    return Ok(self.scan.slice(start, end));
                }
                _ => self.scan.pos += 1,
            }
        }
    }

    /// Skips a `${…}` template, which may contain braces and strings of its own.
    fn template(&mut self, nesting: usize) -> Result<(), String> {
        if nesting >= MAX_TEMPLATE_NESTING {
            return Err(format!(
                "string templates nested too deeply on line {}",
                self.line()
            ));
        }
        let start_line = self.line();
        self.scan.pos += 2;
        let mut depth = 1usize;
        while depth > 0 {
            match self.scan.peek(0) {
                None => {
                    return Err(format!(
                        "template opened on line {start_line} is never closed"
                    ));
                }
                Some(b'\'' | b'"') => {
                    self.string(nesting + 1)?;
                }
                Some(b) => {
                    match b {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    self.scan.pos += 1;
                }
            }
        }
        Ok(())
    }
}

/// What a `{` opens, as far as dependency declarations go.
#[derive(Debug, Clone, Copy, Default)]
struct Block {
    /// Declarations directly or indirectly inside are dependencies.
    collect: bool,
    /// Inside `buildscript` (plugins) or the dependency-management plugin's
    /// `dependencyManagement` (managed-only versions): no `dependencies` block declares any.
    excluded: bool,
    /// Inside a test source set or suite (`commonTest.dependencies`, `val jvmTest by getting`):
    /// every declaration is a test dependency.
    test_scope: bool,
    /// The script's top-level `plugins { }` block.
    plugins: bool,
    /// Inside any block (a `plugins` block elsewhere, as in `gradlePlugin`, declares the
    /// plugins the project provides, not ones it uses).
    nested: bool,
}

/// A declaration argument, classified from its tokens.
#[derive(Debug)]
enum Arg<'a> {
    Str(&'a str),
    /// A lone identifier: a variable.
    Ident(&'a str),
    Named(&'a str, Box<Arg<'a>>),
    Call(&'a str, Vec<Arg<'a>>),
    /// A type-safe project accessor, `projects.someModule`, as written.
    ProjectAccessor(String),
    /// Any other dotted accessor, such as a version catalog's `libs.foo.bar`, as written.
    Accessor(String),
    Other,
}

#[derive(Debug)]
struct Declarations<'t, 'a, 'c> {
    tokens: &'t [Token<'a>],
    catalogs: &'t Catalogs<'c>,
    /// For each opening bracket, the index of the bracket closing it (computed once, so that
    /// looking ahead stays linear).
    closing: Vec<Option<usize>>,
    variables: Variables<'a>,
    out: Vec<ParsedDependency>,
}

impl<'t, 'a, 'c> Declarations<'t, 'a, 'c> {
    fn new(tokens: &'t [Token<'a>], catalogs: &'t Catalogs<'c>) -> Self {
        let mut closing = vec![None; tokens.len()];
        let mut open = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            match token.tok {
                Tok::Punct(b'(' | b'[' | b'{') => open.push(i),
                Tok::Punct(b')' | b']' | b'}') => {
                    if let Some(slot) = open.pop().and_then(|o| closing.get_mut(o)) {
                        *slot = Some(i);
                    }
                }
                _ => {}
            }
        }
        Declarations {
            tokens,
            catalogs,
            closing,
            variables: Variables::collect(tokens),
            out: Vec::new(),
        }
    }

    fn tok(&self, i: usize) -> Option<Tok<'a>> {
        self.tokens.get(i).map(|t| t.tok)
    }

    fn read(mut self, format: Format) -> Result<Vec<ParsedDependency>, ManifestError> {
        let mut blocks = vec![Block::default()];
        // The token right after the last declaration: a `{` there is its configuration closure.
        let mut after_declaration = None;
        let mut i = 0;
        while let Some(token) = self.tokens.get(i) {
            let current = blocks.last().copied().unwrap_or_default();
            match token.tok {
                Tok::Punct(b'{') => {
                    if blocks.len() > MAX_DEPTH {
                        return Err(ManifestError::TooDeep { limit: MAX_DEPTH });
                    }
                    let block = if after_declaration == Some(i) {
                        Block {
                            collect: false,
                            ..current
                        }
                    } else {
                        self.block(i, current)
                    };
                    blocks.push(block);
                    i += 1;
                }
                Tok::Punct(b'}') => {
                    if blocks.len() == 1 {
                        let message = format!("unmatched `}}` on line {}", token.line);
                        return Err(ManifestError::syntax(format, message));
                    }
                    blocks.pop();
                    i += 1;
                }
                Tok::Ident(_) if current.plugins => {
                    i = self.plugin(i).unwrap_or(i + 1);
                }
                Tok::Ident(_) | Tok::Str(_) if current.collect => {
                    match self.declaration(i, current) {
                        Some(end) => {
                            after_declaration = Some(end);
                            i = end;
                        }
                        None => i += 1,
                    }
                }
                _ => i += 1,
            }
        }
        if blocks.len() > 1 {
            return Err(ManifestError::syntax(format, "a `{` is never closed"));
        }
        Ok(self.out)
    }

    /// What the `{` at `open` starts, judged by the name before it.
    fn block(&self, open: usize, parent: Block) -> Block {
        let label = open.checked_sub(1).and_then(|i| self.tok(i));
        let top_level = !parent.nested;
        let parent = Block {
            test_scope: parent.test_scope || self.names_test_scope(open),
            plugins: false,
            nested: true,
            ..parent
        };
        match label {
            Some(Tok::Ident("plugins")) if top_level => Block {
                plugins: true,
                ..parent
            },
            Some(Tok::Ident("buildscript" | "dependencyManagement")) => Block {
                collect: false,
                excluded: true,
                ..parent
            },
            Some(Tok::Ident("dependencies")) => Block {
                collect: !parent.excluded,
                ..parent
            },
            Some(Tok::Ident("constraints")) => Block {
                collect: false,
                ..parent
            },
            _ => parent,
        }
    }

    /// Whether the statement opening the block at `open` names a test source set or suite
    /// (looking back a few tokens, to the start of its line).
    fn names_test_scope(&self, open: usize) -> bool {
        let start = open.saturating_sub(8);
        for i in (start..open).rev() {
            let Some(token) = self.tokens.get(i) else {
                break;
            };
            if let Tok::Ident(name) = token.tok
                && name.to_ascii_lowercase().contains("test")
            {
                return true;
            }
            if token.newline_before {
                break;
            }
        }
        false
    }

    /// Reads a declaration starting at `start` (a configuration name); returns the index just
    /// past it, or `None` when the tokens there are not a declaration.
    fn declaration(&mut self, start: usize, block: Block) -> Option<usize> {
        let configuration = match self.tok(start)? {
            Tok::Ident(name) if !is_keyword(name) => name,
            // Kotlin's `"kapt"("g:a:v")` for configurations that have no accessor.
            Tok::Str(name)
                if self.tok(start + 1) == Some(Tok::Punct(b'(')) && is_identifier(name) =>
            {
                name
            }
            _ => return None,
        };
        let next = self.tokens.get(start + 1)?;
        let (args, end) = match next.tok {
            Tok::Punct(b'(') => self.parenthesized(start + 1)?,
            Tok::Str(_) | Tok::Ident(_) if !next.newline_before => self.bare(start + 1),
            _ => return None,
        };
        if configuration == "add" {
            if let Some((Arg::Str(configuration), rest)) = args.split_first() {
                self.record(kind(configuration, block), rest);
            }
        } else {
            self.record(kind(configuration, block), &args);
        }
        Some(end)
    }

    /// Arguments inside the parentheses opening at `open`, and the index after `)`.
    fn parenthesized(&self, open: usize) -> Option<(Vec<Arg<'a>>, usize)> {
        let close = self.matching(open)?;
        Some((self.split_args(open + 1, close, 0), close + 1))
    }

    /// Groovy command arguments: up to the end of the line (unless it ends in a comma), a `;`,
    /// or a brace.
    fn bare(&self, start: usize) -> (Vec<Arg<'a>>, usize) {
        let mut i = start;
        while let Some(token) = self.tokens.get(i) {
            let continues_line = i > start && self.tok(i - 1) == Some(Tok::Punct(b','));
            let ends = match token.tok {
                Tok::Punct(b';' | b'{' | b'}' | b')' | b']') => true,
                _ => i > start && token.newline_before && !continues_line,
            };
            if ends {
                break;
            }
            i = match token.tok {
                Tok::Punct(b'(' | b'[') => self.matching(i).map_or(self.tokens.len(), |c| c + 1),
                _ => i + 1,
            };
        }
        let end = i.min(self.tokens.len());
        (self.split_args(start, end, 0), end)
    }

    /// The index of the bracket closing the one at `open`.
    fn matching(&self, open: usize) -> Option<usize> {
        self.closing.get(open).copied().flatten()
    }

    /// Splits tokens `start..end` at top-level commas and classifies each argument.
    fn split_args(&self, start: usize, end: usize, nesting: usize) -> Vec<Arg<'a>> {
        let mut args = Vec::new();
        let mut arg_start = start;
        let mut depth = 0usize;
        for i in start..end {
            match self.tok(i) {
                Some(Tok::Punct(b'(' | b'[' | b'{')) => depth += 1,
                Some(Tok::Punct(b')' | b']' | b'}')) => depth = depth.saturating_sub(1),
                Some(Tok::Punct(b',')) if depth == 0 => {
                    args.push(self.classify(arg_start, i, nesting));
                    arg_start = i + 1;
                }
                _ => {}
            }
        }
        if arg_start < end {
            args.push(self.classify(arg_start, end, nesting));
        }
        args
    }

    fn classify(&self, start: usize, end: usize, nesting: usize) -> Arg<'a> {
        let tok = |i: usize| if i < end { self.tok(i) } else { None };
        match (tok(start), tok(start + 1)) {
            (Some(Tok::Str(s)), None) => Arg::Str(s),
            (Some(Tok::Ident(name)), None) => Arg::Ident(name),
            (Some(Tok::Ident(key)), Some(Tok::Punct(b':' | b'=')))
                if nesting < MAX_CALL_NESTING =>
            {
                Arg::Named(key, Box::new(self.classify(start + 2, end, nesting + 1)))
            }
            (Some(Tok::Str(key)), Some(Tok::Punct(b':'))) if nesting < MAX_CALL_NESTING => {
                Arg::Named(key, Box::new(self.classify(start + 2, end, nesting + 1)))
            }
            (Some(Tok::Ident(name)), Some(Tok::Punct(b'('))) if nesting < MAX_CALL_NESTING => {
                match self.matching(start + 1) {
                    Some(close) if close + 1 == end => {
                        Arg::Call(name, self.split_args(start + 2, close, nesting + 1))
                    }
                    _ => Arg::Other,
                }
            }
            (Some(Tok::Ident(_)), Some(Tok::Punct(b'.'))) => self.accessor(start, end),
            _ => Arg::Other,
        }
    }

    /// `projects.a.b` or `libs.a.b` spanning exactly `start..end` (Kotlin's trailing
    /// `.get()` or `.asProvider()` left out), or [`Arg::Other`].
    fn accessor(&self, start: usize, mut end: usize) -> Arg<'a> {
        if end >= start + 4
            && self.tok(end - 1) == Some(Tok::Punct(b')'))
            && self.tok(end - 2) == Some(Tok::Punct(b'('))
            && matches!(self.tok(end - 3), Some(Tok::Ident("get" | "asProvider")))
        {
            end -= 4;
        }
        let mut path = String::new();
        for (offset, i) in (start..end).enumerate() {
            match (offset % 2, self.tok(i)) {
                (0, Some(Tok::Ident(name))) => path.push_str(name),
                (1, Some(Tok::Punct(b'.'))) => path.push('.'),
                _ => return Arg::Other,
            }
        }
        if path.ends_with('.') || !path.contains('.') {
            Arg::Other
        } else if path.starts_with("projects.") {
            Arg::ProjectAccessor(path)
        } else {
            Arg::Accessor(path)
        }
    }

    /// Reads a statement of the top-level `plugins` block at `start`; returns the index just
    /// past what it read. Counted: `alias(libs.plugins.x)`, and `id("x") version "v"` or
    /// `kotlin("jvm") version "v"` (either DSL). A plugin without a version here (a core
    /// plugin, or one whose version the settings or the root project give) is not counted
    /// in this file.
    fn plugin(&mut self, start: usize) -> Option<usize> {
        let Tok::Ident(function) = self.tok(start)? else {
            return None;
        };
        if function == "id"
            && let Some(Tok::Str(id)) = self.tok(start + 1)
        {
            return Some(self.versioned_plugin(id.to_owned(), start + 2));
        }
        if self.tok(start + 1) != Some(Tok::Punct(b'(')) {
            return None;
        }
        let (args, end) = self.parenthesized(start + 1)?;
        match (function, args.as_slice()) {
            ("alias", [Arg::Accessor(accessor)]) => {
                if let Resolved::Plugin(plugin) =
                    self.catalogs.resolve(accessor, DependencyKind::Build)
                {
                    self.out.push(plugin);
                }
                Some(end)
            }
            ("id", [Arg::Str(id)]) => Some(self.versioned_plugin((*id).to_owned(), end)),
            ("kotlin", [Arg::Str(module)]) => {
                Some(self.versioned_plugin(format!("org.jetbrains.kotlin.{module}"), end))
            }
            _ => Some(end),
        }
    }

    /// Records plugin `id` when a version follows at `at` (`version "v"`, `version("v")` or
    /// `.version("v")`); returns the index past what it read.
    fn versioned_plugin(&mut self, id: String, at: usize) -> usize {
        let at_version = match (self.tok(at), self.tok(at + 1)) {
            (Some(Tok::Ident("version")), _) => at + 1,
            (Some(Tok::Punct(b'.')), Some(Tok::Ident("version"))) => at + 2,
            _ => return at,
        };
        let (version, end) = match self.tok(at_version) {
            Some(Tok::Str(version)) => (version, at_version + 1),
            Some(Tok::Punct(b'(')) => match self.parenthesized(at_version) {
                Some((args, end)) => match args.as_slice() {
                    [Arg::Str(version)] => (*version, end),
                    _ => return end,
                },
                None => return at_version,
            },
            _ => return at_version,
        };
        if !id.is_empty() && !id.contains(char::is_whitespace) {
            let requirement = self.variables.substitute(version);
            self.out.push(ParsedDependency::new(
                Ecosystem::Maven,
                plugin_marker(&id),
                requirement,
                DependencyKind::Build,
            ));
        }
        end
    }

    fn record(&mut self, kind: DependencyKind, args: &[Arg<'a>]) {
        let named = |key: &str| {
            args.iter().find_map(|arg| match arg {
                Arg::Named(k, value) if *k == key => match **value {
                    Arg::Str(s) => Some(s),
                    Arg::Ident(variable) => self.variables.value(variable),
                    _ => None,
                },
                _ => None,
            })
        };
        let positional = positional_coordinates(args);
        if let Some((group, name, requirement)) = positional.or_else(|| {
            Some((
                named("group")?,
                named("name")?,
                named("version").unwrap_or(""),
            ))
        }) {
            let name = format!("{group}:{name}");
            let requirement = self.variables.substitute(requirement);
            self.out.push(ParsedDependency::new(
                Ecosystem::Maven,
                name,
                requirement,
                kind,
            ));
            return;
        }
        for arg in args {
            if let Arg::Accessor(accessor) = arg {
                if let Resolved::Libraries(libraries) = self.catalogs.resolve(accessor, kind) {
                    self.out.extend(libraries);
                }
                continue;
            }
            if let Some(mut dep) = dependency(arg, kind) {
                dep.requirement = self.variables.substitute(&dep.requirement);
                self.out.push(dep);
            }
        }
    }
}

/// The dependency a positional argument declares, if any.
fn dependency(arg: &Arg<'_>, kind: DependencyKind) -> Option<ParsedDependency> {
    match arg {
        Arg::ProjectAccessor(path) => {
            Some(ParsedDependency::new(Ecosystem::Maven, path.as_str(), "", kind).local())
        }
        Arg::Str(notation) => {
            let (name, requirement) = coordinates(notation)?;
            Some(ParsedDependency::new(
                Ecosystem::Maven,
                name,
                requirement,
                kind,
            ))
        }
        Arg::Call("project", args) => {
            let path = args.iter().find_map(|arg| match arg {
                Arg::Str(path) => Some(*path),
                Arg::Named("path", value) => match **value {
                    Arg::Str(path) => Some(path),
                    _ => None,
                },
                _ => None,
            })?;
            Some(ParsedDependency::new(Ecosystem::Maven, path, "", kind).local())
        }
        Arg::Call("kotlin", args) => {
            let mut strings = args.iter().filter_map(|arg| match arg {
                Arg::Str(s) => Some(*s),
                _ => None,
            });
            let module = strings.next()?;
            let version = strings.next().unwrap_or("");
            let name = format!("org.jetbrains.kotlin:kotlin-{module}");
            Some(ParsedDependency::new(Ecosystem::Maven, name, version, kind))
        }
        // `testFixtures(project(":lib"))`, `variantOf(…)` and the like wrap a dependency.
        Arg::Call("testFixtures", args) => args.first().and_then(|inner| dependency(inner, kind)),
        _ => None,
    }
}

/// Variables assigned a plain string literal in the script (`def v = '1.0'`, `val v = "1.0"`,
/// `ext.v = '1.0'`, `v = '1.0'` in an `ext { }` block), used to fill in `$v` and `${v}` in
/// versions. A name assigned two different values is ambiguous and left alone; properties
/// from other files (`gradle.properties`, the root project) are kept verbatim.
#[derive(Debug, Default)]
struct Variables<'a>(HashMap<&'a str, Option<&'a str>>);

impl<'a> Variables<'a> {
    fn collect(tokens: &[Token<'a>]) -> Self {
        let mut values: HashMap<&'a str, Option<&'a str>> = HashMap::new();
        for (i, window) in tokens.windows(3).enumerate() {
            let [name, equals, value] = window else {
                continue;
            };
            let (Tok::Ident(name), Tok::Punct(b'='), Tok::Str(value)) =
                (name.tok, equals.tok, value.tok)
            else {
                continue;
            };
            // The literal must be the whole right-hand side, not the start of an expression or
            // a named argument (`version = "1.0")`).
            let ends_statement = tokens.get(i + 3).is_none_or(|next| {
                next.newline_before || matches!(next.tok, Tok::Punct(b';' | b'}'))
            });
            if !ends_statement || value.contains('$') {
                continue;
            }
            values
                .entry(name)
                .and_modify(|known| {
                    if *known != Some(value) {
                        *known = None;
                    }
                })
                .or_insert(Some(value));
        }
        Variables(values)
    }

    fn value(&self, name: &str) -> Option<&'a str> {
        self.0.get(name).copied().flatten()
    }

    /// `text` with `$name` and `${name}` replaced where `name` is a known variable.
    fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let (name, len) = match after.strip_prefix('{') {
                Some(braced) => match braced.find('}') {
                    Some(close) => (&braced[..close], close + 2),
                    None => ("", 0),
                },
                None => {
                    let len = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    // `$a.b` reads property `b` of `a`, not variable `a`.
                    let name = if after[len..].starts_with('.') {
                        ""
                    } else {
                        &after[..len]
                    };
                    (name, len)
                }
            };
            match self.value(name) {
                Some(value) => {
                    out.push_str(value);
                    rest = &after[len..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Kotlin's `implementation("group", "name", "version")`: two or three plain strings.
fn positional_coordinates<'a>(args: &[Arg<'a>]) -> Option<(&'a str, &'a str, &'a str)> {
    let plain = |arg: &Arg<'a>| match arg {
        Arg::Str(s) if !s.is_empty() && !s.contains(|c: char| c == ':' || c.is_whitespace()) => {
            Some(*s)
        }
        _ => None,
    };
    match args {
        [group, name] => Some((plain(group)?, plain(name)?, "")),
        [group, name, Arg::Str(version)] => Some((plain(group)?, plain(name)?, *version)),
        _ => None,
    }
}

/// The kind of dependency a configuration name declares inside `block`.
fn kind(configuration: &str, block: Block) -> DependencyKind {
    let lower = configuration.to_ascii_lowercase();
    if block.test_scope {
        DependencyKind::Test
    } else if is_tool_configuration(&lower) {
        // Before the `test` match: `pitest` holds the mutation-testing tool, not tests' code.
        DependencyKind::Build
    } else if lower.contains("test") {
        DependencyKind::Test
    } else if lower.contains("compileonly")
        || lower.contains("annotationprocessor")
        || lower.starts_with("kapt")
        || lower.starts_with("ksp")
    {
        DependencyKind::Build
    } else if lower.starts_with("provided") {
        // The war plugin's providedCompile/providedRuntime: Maven's `provided` scope.
        DependencyKind::Peer
    } else if lower == "developmentonly" {
        DependencyKind::Development
    } else {
        DependencyKind::Runtime
    }
}

/// Configurations of code-quality and build tools: what they resolve runs during the build
/// and never ships.
fn is_tool_configuration(lower: &str) -> bool {
    [
        "checkstyle",
        "pmd",
        "spotbugs",
        "detekt",
        "ktlint",
        "errorprone",
        "codenarc",
        "jacoco",
        "pitest",
    ]
    .iter()
    .any(|tool| lower.starts_with(tool))
        || matches!(lower, "lintchecks" | "signature")
}

/// Names that start statements or calls in a `dependencies` block but never name a
/// configuration.
fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "if" | "else"
            | "for"
            | "while"
            | "when"
            | "def"
            | "val"
            | "var"
            | "return"
            | "platform"
            | "enforcedPlatform"
            | "project"
            | "files"
            | "fileTree"
            | "exclude"
            | "constraints"
            | "components"
            | "modules"
            | "println"
            | "classpath"
    )
}

fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(text: &str) -> Vec<ParsedDependency> {
        parse(Format::Gradle, text, &Catalogs::default())
            .unwrap()
            .dependencies
    }

    fn summary(deps: &[ParsedDependency]) -> Vec<(&str, &str, DependencyKind, bool)> {
        deps.iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str(), d.kind, d.local))
            .collect()
    }

    const RUNTIME: DependencyKind = DependencyKind::Runtime;

    #[test]
    fn groovy_string_notation() {
        let text = "dependencies {\n  implementation 'org.slf4j:slf4j-api:2.0.9'\n  api \"com.google.guava:guava\"\n}";
        assert_eq!(
            summary(&deps(text)),
            [
                ("org.slf4j:slf4j-api", "2.0.9", RUNTIME, false),
                ("com.google.guava:guava", "", RUNTIME, false)
            ]
        );
    }

    #[test]
    fn kotlin_call_notation_and_spacing() {
        let text = "dependencies {\n  implementation(\"io.ktor:ktor-client-core:2.3.7\")\n  testImplementation  ( \"org.junit.jupiter:junit-jupiter\" )\n}";
        assert_eq!(
            summary(&deps(text)),
            [
                ("io.ktor:ktor-client-core", "2.3.7", RUNTIME, false),
                (
                    "org.junit.jupiter:junit-jupiter",
                    "",
                    DependencyKind::Test,
                    false
                ),
            ]
        );
    }

    #[test]
    fn map_notation_in_both_dsls() {
        let groovy = "dependencies {\n  runtimeOnly group: 'org.postgresql', name: 'postgresql', version: '42.7.1'\n}";
        let kotlin = "dependencies {\n  runtimeOnly(group = \"org.postgresql\", name = \"postgresql\", version = \"42.7.1\")\n}";
        for text in [groovy, kotlin] {
            assert_eq!(
                summary(&deps(text)),
                [("org.postgresql:postgresql", "42.7.1", RUNTIME, false)]
            );
        }
    }

    #[test]
    fn configurations_map_to_kinds() {
        let text = "dependencies {
  compileOnly 'org.projectlombok:lombok:1.18.30'
  annotationProcessor 'org.projectlombok:lombok:1.18.30'
  kapt 'com.google.dagger:dagger-compiler:2.50'
  testRuntimeOnly 'org.junit.platform:junit-platform-launcher'
  androidTestImplementation 'androidx.test:runner:1.5.2'
  debugImplementation 'com.squareup.leakcanary:leakcanary-android:2.12'
  developmentOnly 'org.springframework.boot:spring-boot-devtools'
  providedCompile 'javax.servlet:javax.servlet-api:4.0.1'
  checkstyle 'com.puppycrawl.tools:checkstyle:10.12.5'
  pitest 'org.pitest:pitest-junit5-plugin:1.2.3'
}";
        let kinds: Vec<_> = deps(text).iter().map(|d| d.kind).collect();
        use DependencyKind::*;
        assert_eq!(
            kinds,
            [
                Build,
                Build,
                Build,
                Test,
                Test,
                Runtime,
                Development,
                Peer,
                Build,
                // The gradle-pitest-plugin's configuration: a tool, although its name holds `test`.
                Build
            ]
        );
    }

    #[test]
    fn projects_are_local_and_platforms_and_files_skipped() {
        let text = "dependencies {
  implementation project(':core')
  implementation(project(path: ':api', configuration: 'default'))
  implementation(platform(\"org.springframework.boot:spring-boot-dependencies:3.2.0\"))
  api enforcedPlatform('com.fasterxml.jackson:jackson-bom:2.16.0')
  implementation files('libs/a.jar')
  implementation fileTree(dir: 'libs', include: ['*.jar'])
}";
        assert_eq!(
            summary(&deps(text)),
            [(":core", "", RUNTIME, true), (":api", "", RUNTIME, true)]
        );
    }

    #[test]
    fn interpolated_versions_are_kept_verbatim() {
        let text = r#"dependencies {
  implementation "com.google.guava:guava:${versions['guava']}"
  testImplementation "hello.there:im.a.dep:$versionThing" // a comment
  implementation("androidx.annotation:annotation:${rootProject.extra["annotation_version"]}")
}"#;
        let got: Vec<_> = deps(text).iter().map(|d| d.requirement.clone()).collect();
        assert_eq!(
            got,
            [
                "${versions['guava']}",
                "$versionThing",
                r#"${rootProject.extra["annotation_version"]}"#
            ]
        );
    }

    #[test]
    fn versions_from_variables_in_the_same_script() {
        let text = r#"def okhttpVersion = '4.12.0'
ext.junitVersion = "5.10.1"
ext {
  springVersion = '6.1.2'
}
val ambiguous = "1"
val ambiguous = "2"
dependencies {
  implementation "com.squareup.okhttp3:okhttp:$okhttpVersion"
  testImplementation "org.junit.jupiter:junit-jupiter:${junitVersion}"
  implementation group: 'org.springframework', name: 'spring-core', version: springVersion
  implementation "a:b:$ambiguous"
  implementation "a:c:$versions.c"
  implementation "a:d:${gradleProperty}"
}"#;
        let got: Vec<_> = deps(text).iter().map(|d| d.requirement.clone()).collect();
        assert_eq!(
            got,
            [
                "4.12.0",
                "5.10.1",
                "6.1.2",
                "$ambiguous",
                "$versions.c",
                "${gradleProperty}"
            ]
        );
    }

    #[test]
    fn closures_and_classifiers() {
        let text = "dependencies {
  implementation('org.hibernate:hibernate-core:6.4.1.Final') {
    exclude group: 'org.jboss', module: 'jandex'
  }
  compile 'junit:junit:4.13.2', { force = true }
  implementation 'com.android.support:appcompat-v7:28.0.0@aar'
  implementation 'net.java.dev.jna:jna:5.14.0:jpms'
  implementation 'a:one:1', 'a:two:2'
}";
        let got: Vec<_> = deps(text)
            .iter()
            .map(|d| (d.name.clone(), d.requirement.clone()))
            .collect();
        let want = [
            ("org.hibernate:hibernate-core", "6.4.1.Final"),
            ("junit:junit", "4.13.2"),
            ("com.android.support:appcompat-v7", "28.0.0"),
            ("net.java.dev.jna:jna", "5.14.0"),
            ("a:one", "1"),
            ("a:two", "2"),
        ];
        assert_eq!(got, want.map(|(n, r)| (n.to_owned(), r.to_owned())));
    }

    #[test]
    fn buildscript_plugins_and_constraints_are_not_dependencies() {
        let text = "buildscript {
  dependencies { classpath 'com.android.tools.build:gradle:8.2.0' }
}
plugins { id 'java' }
dependencies {
  constraints { implementation 'org.apache.commons:commons-text:1.11.0' }
  implementation 'org.apache.commons:commons-lang3:3.14.0'
}
allprojects { dependencies { implementation 'org.slf4j:slf4j-api:2.0.9' } }
dependencyManagement {
  imports { mavenBom \"org.springframework.cloud:spring-cloud-dependencies:2023.0.0\" }
  dependencies { dependency 'com.google.guava:guava:33.0.0-jre' }
}";
        let names: Vec<_> = deps(text).iter().map(|d| d.name.clone()).collect();
        assert_eq!(
            names,
            ["org.apache.commons:commons-lang3", "org.slf4j:slf4j-api"]
        );
    }

    #[test]
    fn kotlin_shorthands_and_add() {
        let text = "dependencies {
  implementation(kotlin(\"stdlib\"))
  testImplementation(kotlin(\"test\", \"1.9.22\"))
  \"kapt\"(\"com.google.dagger:dagger-compiler:2.50\")
  add(\"implementation\", \"com.squareup.okio:okio:3.7.0\")
  implementation(libs.kotlinx.coroutines)
  testImplementation(projects.testingSupport)
}";
        assert_eq!(
            summary(&deps(text)),
            [
                ("org.jetbrains.kotlin:kotlin-stdlib", "", RUNTIME, false),
                (
                    "org.jetbrains.kotlin:kotlin-test",
                    "1.9.22",
                    DependencyKind::Test,
                    false
                ),
                (
                    "com.google.dagger:dagger-compiler",
                    "2.50",
                    DependencyKind::Build,
                    false
                ),
                ("com.squareup.okio:okio", "3.7.0", RUNTIME, false),
                ("projects.testingSupport", "", DependencyKind::Test, true),
            ]
        );
    }

    #[test]
    fn plugins_with_versions_are_build_dependencies_under_their_markers() {
        let groovy = "plugins {
  id 'java'
  id 'org.springframework.boot' version '3.3.5'
  id 'io.spring.dependency-management' version \"$dmVersion\" apply false
}
def dmVersion = '1.1.6'
gradlePlugin { plugins { create(\"x\") { id = \"com.example.provided\" } } }";
        let kotlin = "plugins {
  `java-library`
  kotlin(\"jvm\") version \"2.0.21\"
  id(\"com.diffplug.spotless\").version(\"6.25.0\")
  id(\"org.jetbrains.dokka\")
  alias(libs.plugins.ksp)
}";
        let marker = |id: &str| format!("{id}:{id}.gradle.plugin");
        let got = |format, text| -> Vec<(String, String, DependencyKind)> {
            parse(format, text, &Catalogs::default())
                .unwrap()
                .dependencies
                .into_iter()
                .map(|d| (d.name, d.requirement, d.kind))
                .collect()
        };
        let build = DependencyKind::Build;
        assert_eq!(
            got(Format::Gradle, groovy),
            [
                (marker("org.springframework.boot"), "3.3.5".into(), build),
                (
                    marker("io.spring.dependency-management"),
                    "1.1.6".into(),
                    build
                ),
            ]
        );
        assert_eq!(
            got(Format::GradleKts, kotlin),
            [
                (marker("org.jetbrains.kotlin.jvm"), "2.0.21".into(), build),
                (marker("com.diffplug.spotless"), "6.25.0".into(), build),
            ]
        );
    }

    #[test]
    fn catalog_accessors_take_the_configurations_kind() {
        let catalog = super::super::catalog::read(
            "[versions]\nroom = \"2.6.1\"\n[libraries]\n\
             androidx-room-runtime = { module = \"androidx.room:room-runtime\", version.ref = \"room\" }\n\
             androidx-room-compiler = { module = \"androidx.room:room-compiler\", version.ref = \"room\" }\n\
             junit = \"junit:junit:4.13.2\"\ntruth = \"com.google.truth:truth:1.4.4\"\n\
             compose-bom = \"androidx.compose:compose-bom:2024.10.01\"\n\
             [bundles]\ntesting = [\"junit\", \"truth\"]\n\
             [plugins]\nandroid-application = \"com.android.application:8.7.2\"",
        )
        .unwrap();
        let catalogs = Catalogs::new(vec![("libs", &catalog)]);
        let kotlin = "plugins { alias(libs.plugins.android.application) apply false }
dependencies {
  implementation(platform(libs.compose.bom))
  implementation(libs.androidx.room.runtime)
  ksp(libs.androidx.room.compiler.get())
  testImplementation(libs.bundles.testing)
  implementation(libs.versions.room)
  implementation(other.thing)
}";
        let groovy = "dependencies {
  implementation libs.androidx.room.runtime
  kapt libs.androidx.room.compiler
  testImplementation libs.bundles.testing
}";
        use DependencyKind::{Build, Runtime, Test};
        let names = |format, text| -> Vec<(String, DependencyKind)> {
            parse(format, text, &catalogs)
                .unwrap()
                .dependencies
                .into_iter()
                .map(|d| (d.name, d.kind))
                .collect()
        };
        assert_eq!(
            names(Format::GradleKts, kotlin),
            [
                (
                    "com.android.application:com.android.application.gradle.plugin".into(),
                    Build
                ),
                ("androidx.room:room-runtime".into(), Runtime),
                ("androidx.room:room-compiler".into(), Build),
                ("junit:junit".into(), Test),
                ("com.google.truth:truth".into(), Test),
            ]
        );
        assert_eq!(
            names(Format::Gradle, groovy),
            [
                ("androidx.room:room-runtime".into(), Runtime),
                ("androidx.room:room-compiler".into(), Build),
                ("junit:junit".into(), Test),
                ("com.google.truth:truth".into(), Test),
            ]
        );
    }

    #[test]
    fn test_source_sets_and_positional_coordinates() {
        let text = "kotlin {
  sourceSets {
    commonMain.dependencies { implementation(\"io.ktor:ktor-client-core:2.3.7\") }
    commonTest.dependencies { implementation(kotlin(\"test\")) }
    val jvmTest by getting {
      dependencies { implementation(\"io.mockk\", \"mockk\", \"1.13.8\") }
    }
  }
}";
        assert_eq!(
            summary(&deps(text)),
            [
                ("io.ktor:ktor-client-core", "2.3.7", RUNTIME, false),
                (
                    "org.jetbrains.kotlin:kotlin-test",
                    "",
                    DependencyKind::Test,
                    false
                ),
                ("io.mockk:mockk", "1.13.8", DependencyKind::Test, false),
            ]
        );
    }

    #[test]
    fn strings_and_comments_do_not_confuse_blocks() {
        let text = "def s = '}' /* { */\ndependencies {\n  // implementation 'commented:out:1'\n  implementation \"\"\"a:b:1\"\"\"\n}\ntask x { doLast { println \"{\" } }";
        assert_eq!(summary(&deps(text)), [("a:b", "1", RUNTIME, false)]);
    }

    #[test]
    fn malformed_scripts_are_errors() {
        for (text, message) in [
            (
                "dependencies {\n  implementation 'a:b:1\n}",
                "string opened on line 2 is never closed",
            ),
            ("dependencies {\n", "a `{` is never closed"),
            ("}\n", "unmatched `}` on line 1"),
            ("/* open", "comment opened on line 1 is never closed"),
        ] {
            let err = parse(Format::Gradle, text, &Catalogs::default()).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
        }
    }

    #[test]
    fn pathological_input_is_bounded() {
        let deep = "dependencies ".to_owned() + &"{".repeat(MAX_DEPTH + 2);
        assert_eq!(
            parse(Format::Gradle, &deep, &Catalogs::default()),
            Err(ManifestError::TooDeep { limit: MAX_DEPTH })
        );
        let nested_templates = format!("x = \"{}\"", "${\"".repeat(MAX_TEMPLATE_NESTING + 1));
        assert!(parse(Format::GradleKts, &nested_templates, &Catalogs::default()).is_err());
        let calls = format!(
            "dependencies {{ implementation {}'a:b:1'{} }}",
            "f(".repeat(1000),
            ")".repeat(1000)
        );
        assert!(deps(&calls).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_scripts_never_panic(text in r#"[a-z:'"$\\{}()\[\],=;/*+.\n é]{0,300}"#) {
            let _ = parse(Format::Gradle, &text, &Catalogs::default());
        }
    }
}
