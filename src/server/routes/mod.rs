//! Route handlers, one file per surface of `http.md` §2.

pub mod client;
pub mod dialin;
pub mod docs;
pub mod health;
pub mod metrics;
pub mod offer;
pub mod start;
pub mod telephony;
pub mod ws;

use axum::Json;
use serde_json::{Value, json};

use super::app::RequestId;

/// The success envelope `{"data":<data>,"meta":{"requestId":"<id>"}}` (`http.md` §3).
pub fn envelope(data: Value, id: &RequestId) -> Json<Value> {
    Json(json!({"data": data, "meta": {"requestId": id.0}}))
}
