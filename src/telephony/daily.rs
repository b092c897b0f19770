//! The Daily dial-in webhook (`http.md` §10): request validation and the Daily REST calls
//! that create the call's room and owner token.
//!
//! Daily REST reference: `POST /rooms` with `{"properties":{…}}` answers the room object
//! (`name`, `url`, …); `POST /meeting-tokens` with `{"properties":{…}}` answers
//! `{"token":"…"}`; errors are non-2xx with `{"error":"…","info":"…"}`. Both calls carry
//! `Authorization: Bearer <DAILY_API_KEY>` and share one 10 s deadline.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::config::Secret;

/// The deadline for both Daily calls together.
pub const DAILY_TIMEOUT: Duration = Duration::from_secs(10);
/// Room and token lifetime: 2 h.
pub const ROOM_TTL_SECS: i64 = 2 * 60 * 60;
/// The header Daily sends the webhook secret in.
pub const SECRET_HEADER: &str = "x-webhook-secret";

/// A dial-in call as Daily posts it.
#[derive(Debug, Clone, PartialEq)]
pub struct DialinCall {
    /// `From`, the caller's number.
    pub from: String,
    /// `To`, the dialled number.
    pub to: String,
    /// `callId`.
    pub call_id: String,
    /// `callDomain`.
    pub call_domain: String,
    /// `sipHeaders`, when present (any JSON).
    pub sip_headers: Option<Value>,
}

impl DialinCall {
    /// What the session keeps (`http.md` §10): `{call_id, call_domain, From, To, sip_headers}`.
    pub fn session_data(&self) -> Value {
        json!({
            "call_id": self.call_id,
            "call_domain": self.call_domain,
            "From": self.from,
            "To": self.to,
            "sip_headers": self.sip_headers.clone().unwrap_or(Value::Null),
        })
    }
}

/// A parsed webhook body.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialin {
    /// Daily's verification ping (a truthy `test` or `Test` member): answer 200 `{"status":"OK"}`.
    Test,
    /// A call to connect.
    Call(DialinCall),
}

/// Whether a JSON value is truthy in the ping's sense: `true`, a non-empty string, a non-zero
/// number.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        _ => false,
    }
}

/// Parse the webhook body (a JSON object).
///
/// # Errors
/// The names of the missing or empty required fields, in the order `From`, `To`, `callId`,
/// `callDomain` (one 422 detail each).
pub fn parse(body: &Map<String, Value>) -> Result<Dialin, Vec<&'static str>> {
    if ["test", "Test"]
        .iter()
        .any(|k| body.get(*k).is_some_and(truthy))
    {
        return Ok(Dialin::Test);
    }
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut missing = Vec::new();
    let mut take = |name: &'static str| {
        let v = field(name);
        if v.is_none() {
            missing.push(name);
        }
        v.unwrap_or_default()
    };
    let call = DialinCall {
        from: take("From"),
        to: take("To"),
        call_id: take("callId"),
        call_domain: take("callDomain"),
        sip_headers: body.get("sipHeaders").filter(|v| !v.is_null()).cloned(),
    };
    if missing.is_empty() {
        Ok(Dialin::Call(call))
    } else {
        Err(missing)
    }
}

/// The room and token Daily made for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyRoom {
    /// The room URL (`https://<domain>.daily.co/<name>`).
    pub url: String,
    /// The room name.
    pub name: String,
    /// The owner meeting token (a secret: never logged).
    pub token: String,
}

/// A Daily REST failure (answered as 502 `upstream_error`). Messages carry no key or token.
#[derive(Debug, thiserror::Error)]
pub enum DailyError {
    /// Daily answered a non-2xx status.
    #[error("Daily {call} answered HTTP {status}")]
    Status {
        /// `rooms` or `meeting-tokens`.
        call: &'static str,
        /// The status.
        status: u16,
    },
    /// The answer lacked the expected member.
    #[error("Daily {call} answer has no {member}")]
    Shape {
        /// `rooms` or `meeting-tokens`.
        call: &'static str,
        /// The missing member.
        member: &'static str,
    },
    /// Network error or timeout.
    #[error("Daily {call} failed: {reason}")]
    Network {
        /// `rooms` or `meeting-tokens`.
        call: &'static str,
        /// reqwest's description without the URL.
        reason: String,
    },
    /// `daily_api_url` is not an http(s) URL.
    #[error("daily_api_url is not an http(s) URL")]
    BadBaseUrl,
    /// The deadline passed.
    #[error("Daily did not answer within {0:?}")]
    Timeout(Duration),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] super::http::ClientError),
}

/// Creates dial-in rooms through the Daily REST API; cheap to clone.
#[derive(Debug, Clone)]
pub struct DailyClient {
    http: reqwest::Client,
    base: url::Url,
    key: Secret,
}

impl DailyClient {
    /// A client for `daily_api_url` (e.g. `https://api.daily.co/v1`) with the Daily key.
    ///
    /// # Errors
    /// [`DailyError::BadBaseUrl`] or [`DailyError::Client`].
    pub fn new(daily_api_url: &str, key: Secret) -> Result<Self, DailyError> {
        let base = url::Url::parse(daily_api_url).map_err(|_| DailyError::BadBaseUrl)?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(DailyError::BadBaseUrl);
        }
        Ok(Self {
            http: super::http::shared()?,
            base,
            key,
        })
    }

    fn url(&self, segment: &str) -> url::Url {
        let mut u = self.base.clone();
        if let Ok(mut segs) = u.path_segments_mut() {
            segs.pop_if_empty().push(segment);
        }
        u
    }

    async fn post(&self, call: &'static str, body: Value) -> Result<Value, DailyError> {
        let res = self
            .http
            .post(self.url(call))
            .timeout(DAILY_TIMEOUT)
            .bearer_auth(self.key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| DailyError::Network {
                call,
                reason: e.without_url().to_string(),
            })?;
        let status = res.status();
        if !status.is_success() {
            return Err(DailyError::Status {
                call,
                status: status.as_u16(),
            });
        }
        res.json::<Value>().await.map_err(|e| DailyError::Network {
            call,
            reason: e.without_url().to_string(),
        })
    }

    /// Create the room (SIP dial-in, one endpoint, expiring at `now_unix` + 2 h) and an owner
    /// token for it, within [`DAILY_TIMEOUT`] overall.
    ///
    /// # Errors
    /// [`DailyError`] on any Daily failure or the deadline.
    pub async fn create_dialin_room(
        &self,
        call: &DialinCall,
        now_unix: i64,
    ) -> Result<DailyRoom, DailyError> {
        let exp = now_unix + ROOM_TTL_SECS;
        let work = async {
            let room = self
                .post(
                    "rooms",
                    json!({"properties": {
                        "exp": exp,
                        "eject_at_room_exp": true,
                        "sip": {
                            "display_name": call.from,
                            "video": false,
                            "sip_mode": "dial-in",
                            "num_endpoints": 1,
                        },
                    }}),
                )
                .await?;
            let text = |v: &Value, call, member| {
                v[member]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .ok_or(DailyError::Shape { call, member })
            };
            let name = text(&room, "rooms", "name")?;
            let url = text(&room, "rooms", "url")?;
            let token = self
                .post(
                    "meeting-tokens",
                    json!({"properties": {"room_name": name, "is_owner": true, "exp": exp}}),
                )
                .await?;
            let token = text(&token, "meeting-tokens", "token")?;
            Ok(DailyRoom { url, name, token })
        };
        tokio::time::timeout(DAILY_TIMEOUT, work)
            .await
            .map_err(|_| DailyError::Timeout(DAILY_TIMEOUT))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn ping_and_missing_fields() {
        for ping in [
            json!({"test": true}),
            json!({"Test": "yes"}),
            json!({"test": 1}),
        ] {
            assert_eq!(parse(&obj(ping)), Ok(Dialin::Test));
        }
        assert_eq!(
            parse(&obj(json!({"test": false}))),
            Err(vec!["From", "To", "callId", "callDomain"])
        );
        assert_eq!(
            parse(&obj(
                json!({"test": "", "From": "+1", "To": " ", "callId": 3})
            )),
            Err(vec!["To", "callId", "callDomain"])
        );
        let ok = parse(&obj(json!({
            "From": "+15551234567", "To": "+15559876543", "callId": "c1", "callDomain": "d1",
            "sipHeaders": {"X-Foo": "bar"}
        })))
        .unwrap();
        let Dialin::Call(call) = ok else {
            panic!("call")
        };
        assert_eq!(
            call.session_data(),
            json!({"call_id": "c1", "call_domain": "d1", "From": "+15551234567",
                   "To": "+15559876543", "sip_headers": {"X-Foo": "bar"}})
        );
    }
}
