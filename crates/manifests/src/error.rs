//! Why a file could not be read as a manifest.

use super::Format;

/// A manifest that could not be parsed. The caller adds the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("file is not valid UTF-8: {0}")]
    Encoding(String),
    #[error("nesting deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("malformed {format}: {message}")]
    Syntax { format: Format, message: String },
    #[error("{format} is not supported yet")]
    Unsupported { format: Format },
}

impl ManifestError {
    /// A syntax error in `format`, with the underlying parser's message.
    pub fn syntax(format: Format, message: impl ToString) -> Self {
        ManifestError::Syntax {
            format,
            message: message.to_string(),
        }
    }
}
