//! JSON request bodies: a size limit, and every failure as a problem naming what is wrong
//! (malformed JSON → 400 `body`; an unknown, missing or mistyped field → 422 naming it;
//! too large → 413).

use std::{future::Future, pin::Pin};

use actix_web::{
    FromRequest, HttpRequest,
    body::{BodyStream, to_bytes_limited},
    dev::Payload,
    http::header,
};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// Largest accepted body.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;

/// A JSON body deserialized into `T` (which should `deny_unknown_fields`).
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let stream = BodyStream::new(payload.take());
        Box::pin(async move {
            if content_type.as_deref() != Some("application/json") {
                return Err(ApiError::invalid(
                    "Content-Type",
                    "the body must be application/json",
                ));
            }
            if declared_length.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(ApiError::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                });
            }
            let bytes = to_bytes_limited(stream, MAX_BODY_BYTES)
                .await
                .map_err(|_| ApiError::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                })?
                .map_err(|e| ApiError::invalid("body", format!("cannot be read: {e}")))?;
            parse(&bytes).map(JsonBody)
        })
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            let message = e.to_string();
            ApiError::Unprocessable {
                field: field_of(&message).unwrap_or("body").to_owned(),
                reason: message,
            }
        }
        _ => ApiError::invalid("body", format!("is not valid JSON: {e}")),
    })
}

/// The field a serde data error is about, when its message names one.
fn field_of(message: &str) -> Option<&str> {
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|start| message.split_once(start))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(field, _)| field)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code)]
    struct Body {
        name: String,
        days: Option<u32>,
    }

    fn field(json: &str) -> (u16, String) {
        use actix_web::ResponseError;
        let error = parse::<Body>(json.as_bytes()).unwrap_err();
        let name = match &error {
            ApiError::Unprocessable { field, .. } => field.clone(),
            ApiError::InvalidParameter { parameter, .. } => parameter.clone(),
            other => panic!("{other:?}"),
        };
        (error.status_code().as_u16(), name)
    }

    #[test]
    fn errors_name_the_field_or_the_body() {
        assert_eq!(field(r#"{"name":"a","extra":1}"#), (422, "extra".into()));
        assert_eq!(field(r#"{"days":1}"#), (422, "name".into()));
        assert_eq!(field(r#"{"name":"a","days":-1}"#).0, 422);
        assert_eq!(field(r#"{"name":"#), (400, "body".into()));
        assert!(parse::<Body>(br#"{"name":"a"}"#).is_ok());
    }
}
