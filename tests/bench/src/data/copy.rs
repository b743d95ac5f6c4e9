//! Rows into PostgreSQL through `COPY … FROM STDIN` (text format): the fastest way in
//! short of writing the files by hand, and the only one that loads ten million edges in
//! minutes on two cores.

use bytes::{BufMut, BytesMut};
use futures_util::SinkExt;
use tokio_postgres::{Client, CopyInSink};

/// Flush to the server every this many bytes.
const CHUNK: usize = 1 << 20;

/// One `COPY` under way.
pub struct Copy {
    sink: std::pin::Pin<Box<CopyInSink<bytes::Bytes>>>,
    buffer: BytesMut,
    rows: u64,
}

impl std::fmt::Debug for Copy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Copy")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// One row being written: fields in the order of the `COPY` column list.
#[derive(Debug)]
pub struct Row<'a> {
    buffer: &'a mut BytesMut,
    first: bool,
}

impl Copy {
    /// Starts `COPY table (columns) FROM STDIN`.
    pub async fn start(client: &Client, table: &str, columns: &[&str]) -> anyhow::Result<Copy> {
        let statement = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
        let sink = client.copy_in(&statement).await?;
        Ok(Copy {
            sink: Box::pin(sink),
            buffer: BytesMut::with_capacity(CHUNK * 2),
            rows: 0,
        })
    }

    /// Writes one row through `fill`.
    pub async fn row(&mut self, fill: impl FnOnce(&mut Row<'_>)) -> anyhow::Result<()> {
        let mut row = Row {
            buffer: &mut self.buffer,
            first: true,
        };
        fill(&mut row);
        self.buffer.put_u8(b'\n');
        self.rows += 1;
        if self.buffer.len() >= CHUNK {
            let chunk = self.buffer.split().freeze();
            self.sink.send(chunk).await?;
        }
        Ok(())
    }

    /// Sends what is left and ends the `COPY`; returns the rows the server took.
    pub async fn finish(mut self) -> anyhow::Result<u64> {
        if !self.buffer.is_empty() {
            let chunk = self.buffer.split().freeze();
            self.sink.send(chunk).await?;
        }
        let taken = self.sink.as_mut().finish().await?;
        anyhow::ensure!(
            taken == self.rows,
            "COPY took {taken} of {} rows",
            self.rows
        );
        Ok(taken)
    }
}

impl Row<'_> {
    fn separate(&mut self) {
        if !self.first {
            self.buffer.put_u8(b'\t');
        }
        self.first = false;
    }

    /// A text field, escaped as the text format wants.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.separate();
        escape_into(self.buffer, value);
        self
    }

    /// A field written with `Display` (numbers, booleans, uuids, timestamps).
    pub fn display(&mut self, value: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write as _;
        self.separate();
        let mut text = String::new();
        let _ = write!(text, "{value}");
        escape_into(self.buffer, &text);
        self
    }

    /// NULL, or the value through `display`.
    pub fn optional(&mut self, value: Option<impl std::fmt::Display>) -> &mut Self {
        match value {
            Some(value) => self.display(value),
            None => {
                self.separate();
                self.buffer.put_slice(b"\\N");
                self
            }
        }
    }

    /// A `text[]` literal of simple words (no quotes, commas or braces in them).
    pub fn words(&mut self, values: &[&str]) -> &mut Self {
        debug_assert!(
            values
                .iter()
                .all(|v| !v.contains([',', '{', '}', '"', ' ', '\\']))
        );
        self.display(format_args!("{{{}}}", values.join(",")))
    }
}

/// The text format's escapes: backslash, and the characters that end fields and rows.
fn escape_into(buffer: &mut BytesMut, value: &str) {
    for byte in value.bytes() {
        match byte {
            b'\\' => buffer.put_slice(b"\\\\"),
            b'\t' => buffer.put_slice(b"\\t"),
            b'\n' => buffer.put_slice(b"\\n"),
            b'\r' => buffer.put_slice(b"\\r"),
            other => buffer.put_u8(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_would_end_a_field_or_row_are_escaped() {
        let mut buffer = BytesMut::new();
        escape_into(&mut buffer, "a\tb\nc\\d\re");
        assert_eq!(&buffer[..], b"a\\tb\\nc\\\\d\\re");
    }
}
