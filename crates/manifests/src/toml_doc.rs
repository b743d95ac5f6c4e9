//! Reading TOML manifests (Cargo, pyproject, Pipfile, the Python lockfiles): parsing with
//! the error's line, and typed access that names the offending key path.

use toml::{Table, Value};

use super::{Format, ManifestError};

/// Parses a TOML document (the toml crate bounds its own nesting depth), naming the line
/// of a syntax error.
pub(crate) fn parse(format: Format, text: &str) -> Result<Table, ManifestError> {
    text.parse::<Table>().map_err(|e| {
        let message = e.message().trim();
        match e.span() {
            Some(span) => {
                let line = text
                    .bytes()
                    .take(span.start)
                    .filter(|&b| b == b'\n')
                    .count()
                    + 1;
                ManifestError::syntax(format, format!("line {line}: {message}"))
            }
            None => ManifestError::syntax(format, message),
        }
    })
}

/// The table at `key`, if any; an error naming `path` if it is something else.
pub(crate) fn table<'a>(
    format: Format,
    parent: &'a Table,
    key: &str,
    path: &str,
) -> Result<Option<&'a Table>, ManifestError> {
    match parent.get(key) {
        None => Ok(None),
        Some(Value::Table(table)) => Ok(Some(table)),
        Some(_) => Err(ManifestError::syntax(
            format,
            format!("expected a table at `{path}`"),
        )),
    }
}

/// The array at `key`, if any; an error naming `path` if it is something else.
pub(crate) fn array<'a>(
    format: Format,
    parent: &'a Table,
    key: &str,
    path: &str,
) -> Result<Option<&'a [Value]>, ManifestError> {
    match parent.get(key) {
        None => Ok(None),
        Some(Value::Array(array)) => Ok(Some(array)),
        Some(_) => Err(ManifestError::syntax(
            format,
            format!("expected an array at `{path}`"),
        )),
    }
}

/// The string at `key`, ignoring other types (optional details such as a version).
pub(crate) fn str_at<'a>(table: &'a Table, key: &str) -> Option<&'a str> {
    table.get(key).and_then(Value::as_str)
}
