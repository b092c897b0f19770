//! `GET /`: the built-in browser client, embedded in the binary (no external hosts).

use axum::http::header;
use axum::response::IntoResponse;

/// The page (HTML with inline script; `web/index.html` in the repository).
pub const INDEX_HTML: &str = include_str!("../../../web/index.html");

/// Serve the page.
pub async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        INDEX_HTML,
    )
}
