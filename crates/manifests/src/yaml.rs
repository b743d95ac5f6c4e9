//! A guard run before any YAML reaches serde_norway.
//!
//! serde_norway wraps a port of libyaml, whose scanner revisits every open flow collection
//! (`[…]`, `{…}`) for each token it reads, and serde_norway only applies its recursion limit
//! after the whole document is scanned. A file that opens thousands of flow collections
//! therefore takes quadratic time: 120 KB of `[` took a minute in the fuzz build. Real
//! manifests nest flow collections a few levels deep, so deeper than [`MAX_DEPTH`] is refused
//! before the scanner runs.
//!
//! The count follows YAML's lexical rules closely enough for that (quoted scalars, comments,
//! plain and block scalars are not brackets), and every stretch it skips as text is also
//! counted bracket by bracket, so a quote it misreads does not simply hide a deep nesting.
//! It is a lexer, not a parser: the thorough fix is a scanner without the quadratic step.

use serde_norway::Value;

use super::{Format, MAX_DEPTH, ManifestError};

/// Reads a YAML document of `format`. [`super::parse_with_limit`] has already run
/// [`check_flow_depth`] on every YAML format, so the scanner sees only bounded nesting.
pub(crate) fn parse(format: Format, text: &str) -> Result<Value, ManifestError> {
    serde_norway::from_str(text).map_err(|e| ManifestError::syntax(format, e))
}

/// The formats written in YAML (yarn.lock only since berry, but a v1 file passes the check).
pub(super) const FORMATS: [Format; 8] = [
    Format::PnpmLock,
    Format::YarnLock,
    Format::Pubspec,
    Format::PubspecLock,
    Format::PodfileLock,
    Format::GithubWorkflow,
    Format::GithubAction,
    Format::FundingYml,
];

/// Refuses `text` when its flow collections nest deeper than [`MAX_DEPTH`].
pub(super) fn check_flow_depth(text: &str) -> Result<(), ManifestError> {
    if flow_depth_exceeds(text.as_bytes(), MAX_DEPTH) {
        return Err(ManifestError::TooDeep { limit: MAX_DEPTH });
    }
    Ok(())
}

fn flow_depth_exceeds(text: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    // Whether a quote, bracket or block indicator here would start a token.
    let mut token_start = true;
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        let next_is_blank = text.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        let skipped = match c {
            b'[' | b'{' if token_start || depth > 0 => {
                depth += 1;
                if depth > limit {
                    return true;
                }
                token_start = true;
                i += 1;
                continue;
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                token_start = depth > 0;
                i += 1;
                continue;
            }
            b'\n' => {
                token_start = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b',' if depth > 0 => {
                token_start = true;
                i += 1;
                continue;
            }
            b':' | b'-' | b'?' if next_is_blank || (c == b':' && depth > 0) => {
                token_start = true;
                i += 1;
                continue;
            }
            b'#' if i == 0 || text[i - 1].is_ascii_whitespace() => i..line_end(text, i),
            b'\'' | b'"' if token_start => i..quoted_end(text, i),
            b'&' | b'!' | b'*' if token_start => {
                // An anchor, tag or alias: the token after it may still be a collection.
                i = word_end(text, i);
                continue;
            }
            b'|' | b'>' if token_start && depth == 0 => i..block_scalar_end(text, i),
            _ => i..plain_end(text, i, depth > 0),
        };
        if depth + naive_depth(&text[skipped.clone()]) > limit {
            return true;
        }
        token_start = false;
        i = skipped.end.max(i + 1);
    }
    false
}

/// The deepest bracket nesting in `text` counted without any YAML rules.
fn naive_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for &c in text {
        match c {
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn line_end(text: &[u8], from: usize) -> usize {
    text[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(text.len(), |n| from + n)
}

fn word_end(text: &[u8], from: usize) -> usize {
    text[from..]
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .map_or(text.len(), |n| from + n)
}

/// The end of a quoted scalar opened at `from` (`''` and `\"` escape the quote).
fn quoted_end(text: &[u8], from: usize) -> usize {
    let quote = text[from];
    let mut i = from + 1;
    while let Some(&c) = text.get(i) {
        let escaped = if quote == b'"' {
            c == b'\\'
        } else {
            c == quote && text.get(i + 1) == Some(&quote)
        };
        if escaped {
            i += 2;
        } else if c == quote {
            return i + 1;
        } else {
            i += 1;
        }
    }
    text.len()
}

/// The end of a plain scalar: the line's end, `: `, ` #`, and in a flow collection also
/// `,` and brackets.
fn plain_end(text: &[u8], from: usize, in_flow: bool) -> usize {
    let mut i = from;
    while let Some(&c) = text.get(i) {
        let next_is_blank = text.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        let ends = match c {
            b'\n' => true,
            b':' => next_is_blank,
            b'#' => i > from && text[i - 1].is_ascii_whitespace(),
            b',' | b'[' | b']' | b'{' | b'}' => in_flow,
            _ => false,
        };
        if ends {
            return i;
        }
        i += 1;
    }
    text.len()
}

/// The end of a block scalar (`|` or `>`) whose indicator is at `from`: every following
/// line that is blank or indented deeper than the indicator's line.
fn block_scalar_end(text: &[u8], from: usize) -> usize {
    let line_start = text[..from]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |n| n + 1);
    let indent = indentation(&text[line_start..]);
    let mut end = line_end(text, from);
    while end < text.len() {
        let next = end + 1;
        let line = &text[next..line_end(text, next)];
        let blank = line.iter().all(u8::is_ascii_whitespace);
        if !blank && indentation(line) <= indent {
            break;
        }
        end = next + line.len();
    }
    end
}

fn indentation(line: &[u8]) -> usize {
    line.iter().take_while(|&&c| c == b' ').count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn exceeds(text: &str) -> bool {
        flow_depth_exceeds(text.as_bytes(), 8)
    }

    #[test]
    fn ordinary_yaml_is_shallow() {
        // Brackets in comments, quoted, plain and block scalars are text: each stretch of
        // text counts on its own (six at most here, under the limit of eight), they never
        // add up across stretches.
        let workflow = r#"
on: { push: { branches: [main, "release/*"] } }
jobs:
  test:
    runs-on: ${{ matrix.os }}
    strategy: { matrix: { os: [ubuntu-latest, macos-latest] } }
    steps:
      - uses: actions/checkout@v4 # [[[[[[ a comment
      - run: |
          if [ -f x ]; then echo "[[["; fi
          echo '{{{'
      - name: "[[[[[[" and 'it''s [[[[[['
        run: echo don't [[[[[[
      - with: { a: "[[[[[[", b: '{{{{{{', c: [ "]]]]", '}}}}' ] }
"#;
        assert!(!exceeds(workflow));
        let pnpm = "packages:\n  '@babel/core@7.24.0':\n    resolution: {integrity: sha512-AAAA}\n    engines: {node: '>=6.9.0'}\n";
        assert!(!exceeds(&pnpm.repeat(100)));
    }

    #[test]
    fn deep_flow_collections_are_refused() {
        assert!(exceeds(&format!("a: {}{}", "[".repeat(9), "]".repeat(9))));
        assert!(exceeds(&format!(
            "a: {}1{}",
            "{b: ".repeat(9),
            "}".repeat(9)
        )));
        assert!(exceeds(&"- [\n".repeat(9)));
        assert!(!exceeds(&format!("a: {}{}", "[".repeat(8), "]".repeat(8))));
    }

    #[test]
    fn brackets_hidden_in_text_still_count() {
        // Closing brackets inside quoted scalars do not close anything.
        assert!(exceeds(&format!("a: {}", "[ \"]\", ".repeat(9))));
        assert!(exceeds(&format!("a: {}", "[ ']', ".repeat(9))));
        // A stretch read as text (here an unterminated quote) is counted bracket by bracket.
        assert!(exceeds(&format!("a: 'x\nb: {}", "[".repeat(9))));
        assert!(exceeds(&format!("a: |\n  {}", "[".repeat(9))));
    }

    /// Found while probing the fuzz builds with deeply nested inputs: 120 KB of `[` in a
    /// pnpm-lock.yaml (or any YAML file) kept libyaml's scanner busy for a minute. Every
    /// YAML format is guarded before serde_norway runs.
    #[test]
    fn deep_yaml_is_refused_before_parsing_in_every_yaml_format() {
        let bomb = format!("a: {}{}\n", "[".repeat(60_000), "]".repeat(60_000));
        for format in FORMATS {
            assert_eq!(
                parse(format, format.id(), bomb.as_bytes()),
                Err(ManifestError::TooDeep { limit: MAX_DEPTH }),
                "{format}"
            );
        }
    }
}
