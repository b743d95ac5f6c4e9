//! The OpenAPI document and the interactive docs page (assets inside the binary).

use utoipa_swagger_ui::SwaggerUi;

/// Swagger UI at `/docs/`, reading the document it also serves at `/api/v1/openapi.json`.
pub(crate) fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", crate::openapi::document().clone())
}
