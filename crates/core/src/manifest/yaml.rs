//! Reading YAML manifests (pnpm-lock, yarn berry, pubspec, Podfile.lock, workflows,
//! FUNDING.yml) within bounded time.

use serde_norway::Value;

use super::{Format, MAX_DEPTH, ManifestError};

/// Parses a YAML document after [`check_flow_depth`]; aliases and nesting are bounded by
/// serde_norway itself.
pub(crate) fn parse(format: Format, text: &str) -> Result<Value, ManifestError> {
    check_flow_depth(text)?;
    serde_norway::from_str(text).map_err(|e| ManifestError::syntax(format, e))
}

/// Refuses YAML whose `[`/`{` flow collections nest deeper than [`MAX_DEPTH`] before
/// serde_norway sees it: it would refuse them too, but only after several seconds per
/// megabyte. Brackets inside quotes and comments are not counted; stray brackets in plain
/// text can only make the count larger, and real files never come near the limit.
fn check_flow_depth(text: &str) -> Result<(), ManifestError> {
    let mut depth = 0usize;
    for line in text.lines() {
        let mut quote = None;
        let mut prev = b' ';
        for &b in line.as_bytes() {
            match (quote, b) {
                (Some(q), b) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'\'' | b'"') => quote = Some(b),
                (None, b'#') if prev.is_ascii_whitespace() => break,
                (None, b'[' | b'{') => depth += 1,
                (None, b']' | b'}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > MAX_DEPTH {
                return Err(ManifestError::TooDeep { limit: MAX_DEPTH });
            }
            prev = b;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeply_nested_flow_collections_are_refused_before_parsing() {
        let deep = format!(
            "a: {}{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            parse(Format::PnpmLock, &deep),
            Err(ManifestError::TooDeep { limit: MAX_DEPTH })
        );
        let quoted = format!("a: '{}'", "[".repeat(MAX_DEPTH + 1));
        assert!(parse(Format::PnpmLock, &quoted).is_ok());
    }
}
