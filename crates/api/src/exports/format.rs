//! Which form a listing answers in: `format=` first, else the `Accept` header.

use actix_web::{HttpRequest, http::header};
use utoipa::ToSchema;

use crate::params::{self, Choice};

/// `format` of the dependents and organizations listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum FormatParam {
    /// One page of JSON (the default).
    Json,
    /// The whole list as CSV with a header row (`text/csv`).
    Csv,
    /// The whole list as JSON Lines, one listing item per line (`application/jsonl`).
    Jsonl,
    /// The whole list as a Markdown report (`text/markdown`).
    Markdown,
}

params::choice_param!(FormatParam);

impl Choice for FormatParam {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("json", FormatParam::Json),
        ("csv", FormatParam::Csv),
        ("jsonl", FormatParam::Jsonl),
        ("markdown", FormatParam::Markdown),
    ];
}

/// An export's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    Csv,
    Jsonl,
    Markdown,
}

impl ExportFormat {
    /// Its `Content-Type`.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Jsonl => "application/jsonl",
            ExportFormat::Markdown => "text/markdown; charset=utf-8",
        }
    }

    /// Its file name extension.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Markdown => "md",
        }
    }
}

/// The media types `Accept` may ask for, and what each means (`None`: a JSON page).
const MEDIA_TYPES: [(&str, Option<ExportFormat>); 6] = [
    ("application/json", None),
    ("application/problem+json", None),
    ("text/csv", Some(ExportFormat::Csv)),
    ("application/jsonl", Some(ExportFormat::Jsonl)),
    ("application/x-ndjson", Some(ExportFormat::Jsonl)),
    ("text/markdown", Some(ExportFormat::Markdown)),
];

/// The export a request asks for, `None` for today's JSON page: `format` when given, else
/// the `Accept` type of highest quality wump can give (ties: the first written; wildcards
/// and unknown types leave JSON).
pub(crate) fn negotiate(format: Option<FormatParam>, req: &HttpRequest) -> Option<ExportFormat> {
    if let Some(format) = format {
        return match format {
            FormatParam::Json => None,
            FormatParam::Csv => Some(ExportFormat::Csv),
            FormatParam::Jsonl => Some(ExportFormat::Jsonl),
            FormatParam::Markdown => Some(ExportFormat::Markdown),
        };
    }
    let mut best: Option<(f32, Option<ExportFormat>)> = None;
    let accept = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok());
    for range in accept.flat_map(|v| v.split(',')) {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let Some((_, format)) = MEDIA_TYPES.iter().find(|(m, _)| *m == media) else {
            continue;
        };
        if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, *format));
        }
    }
    best.and_then(|(_, format)| format)
}
