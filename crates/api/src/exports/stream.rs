//! Writing an export as it is read: a task walks the listing's keyset batches and sends
//! each one, encoded, through a small channel that the response body drains, so memory
//! holds a batch or two however long the list, and a slow client slows the walk.

use std::future::Future;

use actix_web::{
    HttpResponse,
    http::header::{self, HeaderValue},
    web::Bytes,
};

use std::sync::Arc;

use super::{ExportFormat, markdown, rows::ExportRow, rows::safe_cell};
use crate::{auth::Caller, limits::RateLimiter, problem::ApiError};

/// Batches encoded ahead of the client.
const CHANNEL_BATCHES: usize = 2;

/// Where an export's rows come from: the listing's query, one keyset batch at a time.
pub(crate) trait Source: Send + 'static {
    /// The listing item it yields.
    type Row: ExportRow;
    /// The next at most `limit` rows after those already given (fewer: the end).
    fn batch(
        &mut self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Self::Row>, ApiError>> + Send;
}

/// An export, decided before its first byte.
#[derive(Debug, Clone)]
pub(crate) struct Export {
    pub(crate) format: ExportFormat,
    /// The file name without extension, e.g. `npm-left-pad-dependents` (sanitized here).
    pub(crate) file_stem: String,
    /// The Markdown report's title and summary.
    pub(crate) title: String,
    /// What the rows are, in the Markdown closing line (`repositories`).
    pub(crate) noun: &'static str,
    pub(crate) truncated: bool,
    /// How many rows it holds, when known before the first byte.
    pub(crate) rows: Option<u64>,
    /// The caller's bound (`None`: unlimited).
    pub(crate) max_rows: Option<u64>,
    /// Rows per query.
    pub(crate) batch_rows: u32,
    /// Who pays for the rows sent, once the stream ends.
    pub(crate) charge: Charge,
}

/// What an export costs its caller: one request of its rate limit per `rows_per_request`
/// rows sent (the first paid by the request itself).
#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) caller: Caller,
    pub(crate) rows_per_request: u32,
}

impl Charge {
    /// The requests beyond the first that `rows` sent cost.
    fn extra_units(&self, rows: u64) -> u32 {
        if self.rows_per_request == 0 {
            return 0;
        }
        let units = rows.div_ceil(u64::from(self.rows_per_request)).max(1) - 1;
        u32::try_from(units).unwrap_or(u32::MAX)
    }
}

/// `stem` with anything but ASCII letters, digits, `.`, `-` and `_` replaced by `_`.
fn sanitize(stem: &str) -> String {
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Export {
    /// The streamed response: headers now, rows as `source` yields them.
    pub(crate) fn respond<S: Source>(self, source: S) -> HttpResponse {
        let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_BATCHES);
        let mut response = HttpResponse::Ok();
        response
            .insert_header((header::CONTENT_TYPE, self.format.content_type()))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}.{}\"",
                    sanitize(&self.file_stem),
                    self.format.extension()
                ),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::VARY, "Accept"))
            .insert_header((
                "Wump-Export-Truncated",
                HeaderValue::from_static(if self.truncated { "true" } else { "false" }),
            ));
        if let Some(rows) = self.rows {
            response.insert_header(("Wump-Export-Rows", rows));
        }
        if let Some(max) = self.max_rows {
            response.insert_header(("Wump-Export-Limit", max));
        }
        tokio::spawn(async move {
            let charge = self.charge.clone();
            // Rows sent are paid for however the stream ended: a client that leaves early
            // pays for what it got.
            let sent = self.produce(source, tx).await;
            charge
                .limiter
                .charge(&charge.caller, charge.extra_units(sent))
                .await;
        });
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        response.streaming(body)
    }

    /// Walks `source` into `tx` until the end, the bound, an error or a departed client;
    /// returns how many rows it sent.
    async fn produce<S: Source>(
        self,
        mut source: S,
        tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    ) -> u64 {
        if tx.send(Ok(self.start::<S::Row>())).await.is_err() {
            return 0;
        }
        let mut written: u64 = 0;
        loop {
            let batch = u64::from(self.batch_rows.max(1));
            let limit = match self.max_rows {
                Some(max) => batch.min(max.saturating_sub(written)),
                None => batch,
            };
            if limit == 0 {
                break;
            }
            let rows = match source.batch(limit as i64).await {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::warn!(
                        error = %error,
                        export.rows = written,
                        "export failed in the middle: ending the stream incomplete"
                    );
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return written;
                }
            };
            let count = rows.len() as u64;
            if count > 0 && tx.send(Ok(self.encode(&rows))).await.is_err() {
                return written;
            }
            written += count;
            if count < limit {
                break;
            }
        }
        if self.truncated && self.format == ExportFormat::Markdown {
            let _ = tx.send(Ok(self.closing(written))).await;
        }
        written
    }

    /// What comes before the rows: the CSV header, the Markdown title and table header.
    fn start<R: ExportRow>(&self) -> Bytes {
        match self.format {
            ExportFormat::Csv => {
                csv_bytes(&[R::CSV_HEADER.iter().map(|h| (*h).to_owned()).collect()])
            }
            ExportFormat::Jsonl => Bytes::new(),
            ExportFormat::Markdown => Bytes::from(format!("{}{}", self.title, R::MARKDOWN_HEADER)),
        }
    }

    /// One batch of rows.
    fn encode<R: ExportRow>(&self, rows: &[R]) -> Bytes {
        match self.format {
            ExportFormat::Csv => {
                let records: Vec<Vec<String>> = rows
                    .iter()
                    .map(|row| {
                        row.csv_record()
                            .iter()
                            .map(|cell| safe_cell(cell).into_owned())
                            .collect()
                    })
                    .collect();
                csv_bytes(&records)
            }
            ExportFormat::Jsonl => {
                let mut out = Vec::new();
                for row in rows {
                    // Serializing our own views cannot fail.
                    if serde_json::to_writer(&mut out, row).is_ok() {
                        out.push(b'\n');
                    }
                }
                Bytes::from(out)
            }
            ExportFormat::Markdown => {
                Bytes::from(rows.iter().map(ExportRow::markdown_row).collect::<String>())
            }
        }
    }

    /// The Markdown report's last line when the bound cut it.
    fn closing(&self, written: u64) -> Bytes {
        Bytes::from(format!(
            "\n_Only the first {written} {}: the export limit of this caller's tier._\n",
            markdown::escape(self.noun)
        ))
    }
}

/// `records` as RFC 4180 CSV (quoted where needed, CRLF line ends).
fn csv_bytes(records: &[Vec<String>]) -> Bytes {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for record in records {
        // Writing to memory cannot fail.
        let _ = writer.write_record(record);
    }
    Bytes::from(writer.into_inner().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(
            sanitize("npm-@scope/pkg-dependents"),
            "npm-_scope_pkg-dependents"
        );
        assert_eq!(sanitize("a\"b\r\nc"), "a_b__c");
    }

    #[test]
    fn csv_quotes_as_rfc_4180_says() {
        let bytes = csv_bytes(&[vec!["a,b".into(), "say \"hi\"".into(), "plain".into()]]);
        assert_eq!(&bytes[..], b"\"a,b\",\"say \"\"hi\"\"\",plain\r\n");
    }
}
