//! Markdown text that stays what it says: escaped text, safe links.

/// `text` with Markdown's (and a table's) special characters escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '(' | ')'
        ) {
            out.push('\\');
        }
        if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// `[text](url)`, the URL's spaces, parentheses and pipes percent-encoded; a URL that is
/// not `http(s)` becomes plain text.
pub(crate) fn link(text: &str, url: &str) -> String {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return escape(text);
    }
    let url: String = url
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '(' => "%28".to_owned(),
            ')' => "%29".to_owned(),
            '|' => "%7C".to_owned(),
            '<' => "%3C".to_owned(),
            '>' => "%3E".to_owned(),
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect();
    format!("[{}]({url})", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_text_cannot_break_the_table() {
        assert_eq!(
            link("a|b", "https://x.org/a b(c)|"),
            "[a\\|b](https://x.org/a%20b%28c%29%7C)"
        );
        assert_eq!(link("evil", "javascript:alert(1)"), "evil");
        assert_eq!(escape("[x](y)"), "\\[x\\]\\(y\\)");
    }
}
