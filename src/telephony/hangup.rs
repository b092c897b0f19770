//! Hanging up a call through the carrier's REST API when voxray ends it (`wire.md` §3.4).
//!
//! | Carrier | Request | Already ended (not an error) |
//! |---|---|---|
//! | Twilio | `POST {base}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`, form `Status=completed`, Basic `AccountSid:AuthToken` | 404 with JSON `code` 20404 |
//! | Telnyx | `POST {base}/v2/calls/{call_control_id}/actions/hangup`, `Authorization: Bearer <key>`, JSON body `{}` | 422 with an `errors[].code` of `"90018"` |
//! | Plivo | `DELETE {base}/v1/Account/{auth_id}/Call/{callId}/`, Basic `auth_id:auth_token` | 404 |
//! | Exotel | none: the socket is closed | – |
//!
//! Sources: Twilio "Call resource: update a Call" (`Status=completed`), Telnyx Call Control
//! "Hangup call", Plivo Voice API "Hang up a call". Each request has a 5 s timeout and is
//! retried once on a 5xx answer or a network error. Call ids come from the carrier's stream
//! messages and are inserted as percent-encoded path segments, so they cannot change the path.
//! Errors never carry credentials.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use super::Carrier;
use crate::config::{Config, Secret, Secrets};

/// Per-attempt timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The call to end, with the id the carrier's `start` message gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallRef {
    /// Twilio `start.callSid`.
    Twilio { call_sid: String },
    /// Telnyx `start.call_control_id`.
    Telnyx { call_control_id: String },
    /// Plivo `start.callId`.
    Plivo { call_id: String },
    /// Exotel `start.call_sid` (no REST hang-up).
    Exotel { call_sid: String },
}

impl CallRef {
    /// The carrier of this call.
    pub fn carrier(&self) -> Carrier {
        match self {
            Self::Twilio { .. } => Carrier::Twilio,
            Self::Telnyx { .. } => Carrier::Telnyx,
            Self::Plivo { .. } => Carrier::Plivo,
            Self::Exotel { .. } => Carrier::Exotel,
        }
    }
}

/// Base URLs and credentials (`config.md` §5.4). Secrets stay wrapped ([`Secret`] redacts
/// itself in `Debug`).
#[derive(Debug, Clone, Default)]
pub struct HangupSettings {
    /// `twilio_api_base_url`, e.g. `https://api.twilio.com`.
    pub twilio_api_base_url: String,
    /// `telnyx_api_base_url`, e.g. `https://api.telnyx.com`.
    pub telnyx_api_base_url: String,
    /// `plivo_api_base_url`, e.g. `https://api.plivo.com`.
    pub plivo_api_base_url: String,
    /// `twilio_account_sid` (empty = unset).
    pub twilio_account_sid: String,
    /// `twilio_auth_token`.
    pub twilio_auth_token: Option<Secret>,
    /// `telnyx_api_key`.
    pub telnyx_api_key: Option<Secret>,
    /// `plivo_auth_id` (empty = unset).
    pub plivo_auth_id: String,
    /// `plivo_auth_token`.
    pub plivo_auth_token: Option<Secret>,
}

impl HangupSettings {
    /// The settings of a loaded configuration.
    pub fn from_config(config: &Config, secrets: &Secrets) -> Self {
        Self {
            twilio_api_base_url: config.twilio_api_base_url.clone(),
            telnyx_api_base_url: config.telnyx_api_base_url.clone(),
            plivo_api_base_url: config.plivo_api_base_url.clone(),
            twilio_account_sid: config.twilio_account_sid.clone(),
            twilio_auth_token: secrets.twilio_auth_token.as_ref().map(|r| r.value.clone()),
            telnyx_api_key: secrets.telnyx_api_key.as_ref().map(|r| r.value.clone()),
            plivo_auth_id: config.plivo_auth_id.clone(),
            plivo_auth_token: secrets.plivo_auth_token.as_ref().map(|r| r.value.clone()),
        }
    }
}

/// What happened to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupOutcome {
    /// The carrier accepted the hang-up.
    Ended,
    /// The carrier said the call was already over (the documented answer above).
    AlreadyEnded,
    /// The carrier has no hang-up API (Exotel): closing the socket ends the call.
    NoRestCall,
}

/// Why a hang-up failed.
#[derive(Debug, thiserror::Error)]
pub enum HangupError {
    /// Credentials are not configured: no request was made (the caller logs a WARN).
    #[error("{carrier} hang-up needs {keys}: no REST call made")]
    MissingCredentials {
        /// `twilio`, `telnyx`, `plivo`.
        carrier: &'static str,
        /// The config keys to set.
        keys: &'static str,
    },
    /// The configured base URL is not an absolute http(s) URL.
    #[error("{key} is not an http(s) URL")]
    BadBaseUrl {
        /// The config key.
        key: &'static str,
    },
    /// The carrier answered with an error status (after the retry for 5xx).
    #[error("{carrier} hang-up answered HTTP {status}")]
    Rejected {
        /// The carrier.
        carrier: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// The request failed or timed out twice.
    #[error("{carrier} hang-up failed: {reason}")]
    Network {
        /// The carrier.
        carrier: &'static str,
        /// reqwest's description without the URL.
        reason: String,
    },
    /// The call id is empty or a dot segment (`.`, `..`): no request was made.
    #[error("{carrier} hang-up: the call id is not usable in a URL path")]
    BadCallId {
        /// The carrier.
        carrier: &'static str,
    },
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] super::http::ClientError),
}

/// Ends calls through the carriers' REST APIs; cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct HangupClient {
    http: reqwest::Client,
    settings: HangupSettings,
}

/// One prepared request.
struct Prepared {
    method: Method,
    url: url::Url,
    basic: Option<(String, String)>,
    bearer: Option<String>, // voxray:allow (a field name, not a value)
    form: Option<[(&'static str, &'static str); 1]>,
    json_empty: bool,
}

impl HangupClient {
    /// A client on the process-wide connection pool, [`ATTEMPT_TIMEOUT`] per request.
    ///
    /// # Errors
    /// [`HangupError::Client`] when TLS cannot be set up.
    pub fn new(settings: HangupSettings) -> Result<Self, HangupError> {
        Ok(Self {
            http: super::http::shared()?,
            settings,
        })
    }

    /// End `call`: one request, retried once on 5xx or a network error.
    ///
    /// # Errors
    /// [`HangupError`] as documented on its variants; "already ended" answers are
    /// [`HangupOutcome::AlreadyEnded`], not errors.
    pub async fn hang_up(&self, call: &CallRef) -> Result<HangupOutcome, HangupError> {
        let Some(prepared) = self.prepare(call)? else {
            return Ok(HangupOutcome::NoRestCall);
        };
        let carrier = call.carrier().name();
        let mut last = None;
        for _attempt in 0..2 {
            match self.send(&prepared).await {
                Ok((status, _)) if status.is_success() => return Ok(HangupOutcome::Ended),
                Ok((status, body)) if already_ended(call.carrier(), status, &body) => {
                    return Ok(HangupOutcome::AlreadyEnded);
                }
                Ok((status, _)) if status.is_server_error() => {
                    last = Some(HangupError::Rejected {
                        carrier,
                        status: status.as_u16(),
                    });
                }
                Ok((status, _)) => {
                    return Err(HangupError::Rejected {
                        carrier,
                        status: status.as_u16(),
                    });
                }
                Err(e) => {
                    last = Some(HangupError::Network {
                        carrier,
                        reason: e.without_url().to_string(),
                    });
                }
            }
        }
        Err(last.expect("two attempts made"))
    }

    async fn send(&self, p: &Prepared) -> Result<(StatusCode, String), reqwest::Error> {
        let mut req = self
            .http
            .request(p.method.clone(), p.url.clone())
            .timeout(ATTEMPT_TIMEOUT);
        if let Some((user, pass)) = &p.basic {
            req = req.basic_auth(user, Some(pass));
        }
        if let Some(token) = &p.bearer {
            req = req.bearer_auth(token);
        }
        if let Some(form) = &p.form {
            req = req.form(form);
        }
        if p.json_empty {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body("{}");
        }
        let res = req.send().await?;
        let status = res.status();
        // Error bodies are small JSON documents; cap what we keep.
        let body = res.text().await.unwrap_or_default();
        Ok((status, body.chars().take(4096).collect()))
    }

    fn prepare(&self, call: &CallRef) -> Result<Option<Prepared>, HangupError> {
        let s = &self.settings;
        let id = match call {
            CallRef::Twilio { call_sid: id }
            | CallRef::Telnyx {
                call_control_id: id,
            }
            | CallRef::Plivo { call_id: id }
            | CallRef::Exotel { call_sid: id } => id,
        };
        if id.is_empty() || id == "." || id == ".." {
            return Err(HangupError::BadCallId {
                carrier: call.carrier().name(),
            });
        }
        let prepared = match call {
            CallRef::Twilio { call_sid } => {
                let token = s
                    .twilio_auth_token
                    .as_ref()
                    .filter(|_| !s.twilio_account_sid.is_empty());
                let Some(token) = token else {
                    return Err(HangupError::MissingCredentials {
                        carrier: "twilio",
                        keys: "twilio_account_sid and twilio_auth_token",
                    });
                };
                Prepared {
                    method: Method::POST,
                    url: join(
                        &s.twilio_api_base_url,
                        "twilio_api_base_url",
                        &[
                            "2010-04-01",
                            "Accounts",
                            &s.twilio_account_sid,
                            "Calls",
                            &format!("{call_sid}.json"),
                        ],
                    )?,
                    basic: Some((s.twilio_account_sid.clone(), token.expose().to_string())),
                    bearer: None,
                    form: Some([("Status", "completed")]),
                    json_empty: false,
                }
            }
            CallRef::Telnyx { call_control_id } => {
                let Some(key) = &s.telnyx_api_key else {
                    return Err(HangupError::MissingCredentials {
                        carrier: "telnyx",
                        keys: "telnyx_api_key",
                    });
                };
                Prepared {
                    method: Method::POST,
                    url: join(
                        &s.telnyx_api_base_url,
                        "telnyx_api_base_url",
                        &["v2", "calls", call_control_id, "actions", "hangup"],
                    )?,
                    basic: None,
                    bearer: Some(key.expose().to_string()),
                    form: None,
                    json_empty: true,
                }
            }
            CallRef::Plivo { call_id } => {
                let token = s
                    .plivo_auth_token
                    .as_ref()
                    .filter(|_| !s.plivo_auth_id.is_empty());
                let Some(token) = token else {
                    return Err(HangupError::MissingCredentials {
                        carrier: "plivo",
                        keys: "plivo_auth_id and plivo_auth_token",
                    });
                };
                Prepared {
                    method: Method::DELETE,
                    url: join(
                        &s.plivo_api_base_url,
                        "plivo_api_base_url",
                        &["v1", "Account", &s.plivo_auth_id, "Call", call_id, ""],
                    )?,
                    basic: Some((s.plivo_auth_id.clone(), token.expose().to_string())),
                    bearer: None,
                    form: None,
                    json_empty: false,
                }
            }
            CallRef::Exotel { .. } => return Ok(None),
        };
        Ok(Some(prepared))
    }
}

/// `base` (any path prefix kept) with `segments` appended, each percent-encoded.
fn join(base: &str, key: &'static str, segments: &[&str]) -> Result<url::Url, HangupError> {
    let bad = || HangupError::BadBaseUrl { key };
    let mut url = url::Url::parse(base).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(bad());
    }
    url.path_segments_mut()
        .map_err(|_| bad())?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// The documented "call already over" answers.
fn already_ended(carrier: Carrier, status: StatusCode, body: &str) -> bool {
    let json = || serde_json::from_str::<serde_json::Value>(body).unwrap_or_default();
    match carrier {
        Carrier::Twilio => {
            status == StatusCode::NOT_FOUND && json()["code"].as_i64() == Some(20404)
        }
        Carrier::Telnyx => {
            status == StatusCode::UNPROCESSABLE_ENTITY
                && json()["errors"].as_array().is_some_and(|errors| {
                    errors.iter().any(|e| {
                        e["code"].as_str() == Some("90018") || e["code"].as_i64() == Some(90018)
                    })
                })
        }
        Carrier::Plivo => status == StatusCode::NOT_FOUND,
        Carrier::Exotel => false,
    }
}

#[cfg(test)]
mod tests {
    //! Each carrier's REST API faked on loopback with its real answers; the fake records
    //! method, path, headers and body so the tests check the request shapes.
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, Uri};
    use base64::Engine;

    use super::*;

    #[derive(Debug, Clone)]
    struct Recorded {
        method: Method,
        path: String,
        headers: HeaderMap,
        body: String,
    }

    #[derive(Clone, Default)]
    struct Fake {
        seen: Arc<Mutex<Vec<Recorded>>>,
        answers: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
    }

    impl Fake {
        /// Serve on 127.0.0.1:0; answers are popped in order (JSON bodies).
        async fn start(answers: &[(u16, &'static str)]) -> (Fake, String) {
            let fake = Fake::default();
            fake.answers.lock().unwrap().extend(answers.iter().copied());
            let state = fake.clone();
            let app = axum::Router::new().fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let state = state.clone();
                    async move {
                        state.seen.lock().unwrap().push(Recorded {
                            method,
                            path: uri.path().to_string(),
                            headers,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        let (status, body) = state
                            .answers
                            .lock()
                            .unwrap()
                            .pop_front()
                            .unwrap_or((500, "{}"));
                        let status = axum::http::StatusCode::from_u16(status).unwrap();
                        if body.is_empty() {
                            return axum::response::IntoResponse::into_response(status);
                        }
                        axum::response::IntoResponse::into_response((
                            status,
                            [("content-type", "application/json")],
                            body,
                        ))
                    }
                },
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
            (fake, format!("http://{addr}"))
        }

        fn seen(&self) -> Vec<Recorded> {
            self.seen.lock().unwrap().clone()
        }
    }

    fn settings(base: &str) -> HangupSettings {
        HangupSettings {
            twilio_api_base_url: base.into(),
            telnyx_api_base_url: base.into(),
            plivo_api_base_url: base.into(),
            twilio_account_sid: "AC0123456789abcdef0123456789abcdef".into(),
            twilio_auth_token: Some(Secret::new("twilio-token-xyz")),
            telnyx_api_key: Some(Secret::new("KEYtelnyx123")),
            plivo_auth_id: "MAPLIVOID1234567890".into(),
            plivo_auth_token: Some(Secret::new("plivo-token-abc")),
        }
    }

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    fn header(r: &Recorded, name: &str) -> String {
        r.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    const TWILIO_CALL: &str = r#"{"sid":"CA1111","status":"completed","account_sid":"AC0123456789abcdef0123456789abcdef"}"#;
    const TWILIO_404: &str = r#"{"code":20404,"message":"The requested resource /2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1111.json was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}"#;
    const TELNYX_OK: &str = r#"{"data":{"result":"ok"}}"#;
    const TELNYX_ENDED: &str = r#"{"errors":[{"code":"90018","title":"Call has already ended","detail":"This call is no longer active and can't receive commands."}]}"#;

    #[tokio::test]
    async fn twilio_request_shape_and_already_ended() {
        let (fake, base) = Fake::start(&[(200, TWILIO_CALL), (404, TWILIO_404)]).await;
        let client = HangupClient::new(settings(&base)).unwrap();
        let call = CallRef::Twilio {
            call_sid: "CA1111".into(),
        };
        assert_eq!(client.hang_up(&call).await.unwrap(), HangupOutcome::Ended);
        assert_eq!(
            client.hang_up(&call).await.unwrap(),
            HangupOutcome::AlreadyEnded
        );
        let seen = fake.seen();
        assert_eq!(seen.len(), 2);
        let r = &seen[0];
        assert_eq!(r.method, Method::POST);
        assert_eq!(
            r.path,
            "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1111.json"
        );
        assert_eq!(
            header(r, "authorization"),
            basic("AC0123456789abcdef0123456789abcdef", "twilio-token-xyz")
        );
        assert_eq!(
            header(r, "content-type"),
            "application/x-www-form-urlencoded"
        );
        assert_eq!(r.body, "Status=completed");
    }

    #[tokio::test]
    async fn telnyx_request_shape_and_already_ended() {
        let (fake, base) = Fake::start(&[(200, TELNYX_OK), (422, TELNYX_ENDED)]).await;
        let client = HangupClient::new(settings(&base)).unwrap();
        let call = CallRef::Telnyx {
            call_control_id: "v3:abc_DEF-123".into(),
        };
        assert_eq!(client.hang_up(&call).await.unwrap(), HangupOutcome::Ended);
        assert_eq!(
            client.hang_up(&call).await.unwrap(),
            HangupOutcome::AlreadyEnded
        );
        let r = &fake.seen()[0];
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.path, "/v2/calls/v3:abc_DEF-123/actions/hangup");
        assert_eq!(header(r, "authorization"), "Bearer KEYtelnyx123");
        assert_eq!(header(r, "content-type"), "application/json");
        assert_eq!(r.body, "{}");
    }

    #[tokio::test]
    async fn plivo_request_shape_and_already_ended() {
        let (fake, base) =
            Fake::start(&[(204, ""), (404, r#"{"api_id":"c1b2","error":"not found"}"#)]).await;
        let client = HangupClient::new(settings(&base)).unwrap();
        let call = CallRef::Plivo {
            call_id: "8a6f2b1e-0d0e-4e55-9c2d-3d4f0a1b2c3d".into(),
        };
        assert_eq!(client.hang_up(&call).await.unwrap(), HangupOutcome::Ended);
        assert_eq!(
            client.hang_up(&call).await.unwrap(),
            HangupOutcome::AlreadyEnded
        );
        let r = &fake.seen()[0];
        assert_eq!(r.method, Method::DELETE);
        assert_eq!(
            r.path,
            "/v1/Account/MAPLIVOID1234567890/Call/8a6f2b1e-0d0e-4e55-9c2d-3d4f0a1b2c3d/"
        );
        assert_eq!(
            header(r, "authorization"),
            basic("MAPLIVOID1234567890", "plivo-token-abc")
        );
        assert!(r.body.is_empty());
    }

    #[tokio::test]
    async fn retries_once_on_5xx_and_reports_other_errors() {
        let (fake, base) = Fake::start(&[
            (503, r#"{"code":20500,"message":"Internal Server Error"}"#),
            (200, TWILIO_CALL),
            (500, "{}"),
            (502, "{}"),
            (401, r#"{"code":20003,"message":"Authenticate"}"#),
            (404, r#"{"code":20008,"message":"not found"}"#),
        ])
        .await;
        let client = HangupClient::new(settings(&base)).unwrap();
        let call = CallRef::Twilio {
            call_sid: "CA1111".into(),
        };
        assert_eq!(client.hang_up(&call).await.unwrap(), HangupOutcome::Ended);
        assert_eq!(fake.seen().len(), 2);
        let err = client.hang_up(&call).await.unwrap_err();
        assert!(
            matches!(err, HangupError::Rejected { status: 502, .. }),
            "{err}"
        );
        assert_eq!(fake.seen().len(), 4);
        // A 4xx is not retried; a 404 without code 20404 is an error.
        let err = client.hang_up(&call).await.unwrap_err();
        assert!(
            matches!(err, HangupError::Rejected { status: 401, .. }),
            "{err}"
        );
        let err = client.hang_up(&call).await.unwrap_err();
        assert!(
            matches!(err, HangupError::Rejected { status: 404, .. }),
            "{err}"
        );
        assert_eq!(fake.seen().len(), 6);
        // No credential in the message.
        assert!(!err.to_string().contains("twilio-token-xyz"));
    }

    #[tokio::test]
    async fn network_error_is_retried_then_reported() {
        // A port nobody listens on: bind, note it, close.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = HangupClient::new(settings(&format!("http://127.0.0.1:{port}"))).unwrap();
        let err = client
            .hang_up(&CallRef::Telnyx {
                call_control_id: "x".into(),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                HangupError::Network {
                    carrier: "telnyx",
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.to_string().contains("KEYtelnyx123"));
    }

    #[tokio::test]
    async fn missing_credentials_exotel_and_hostile_ids_make_no_stray_request() {
        let (fake, base) = Fake::start(&[(200, TWILIO_CALL)]).await;
        let mut s = settings(&base);
        s.twilio_account_sid.clear();
        s.telnyx_api_key = None;
        s.plivo_auth_token = None;
        let client = HangupClient::new(s).unwrap();
        for call in [
            CallRef::Twilio {
                call_sid: "CA1".into(),
            },
            CallRef::Telnyx {
                call_control_id: "x".into(),
            },
            CallRef::Plivo {
                call_id: "y".into(),
            },
        ] {
            let err = client.hang_up(&call).await.unwrap_err();
            assert!(
                matches!(err, HangupError::MissingCredentials { .. }),
                "{err}"
            );
        }
        assert_eq!(
            client
                .hang_up(&CallRef::Exotel {
                    call_sid: "z".into()
                })
                .await
                .unwrap(),
            HangupOutcome::NoRestCall
        );
        assert!(fake.seen().is_empty());

        // A call id from the socket cannot leave its path segment.
        let client = HangupClient::new(settings(&base)).unwrap();
        client
            .hang_up(&CallRef::Twilio {
                call_sid: "../../x?y#z".into(),
            })
            .await
            .unwrap();
        let path = &fake.seen()[0].path;
        assert!(
            path.starts_with("/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/"),
            "{path}"
        );
        assert!(path.ends_with("..%2F..%2Fx%3Fy%23z.json"), "{path}");

        let err = client
            .hang_up(&CallRef::Plivo {
                call_id: "..".into(),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, HangupError::BadCallId { .. }), "{err}");
        assert_eq!(fake.seen().len(), 1);

        // A base URL with a path prefix keeps it; a bad base URL is named.
        let err = HangupClient::new(HangupSettings {
            twilio_api_base_url: "ftp://x".into(),
            ..settings(&base)
        })
        .unwrap()
        .hang_up(&CallRef::Twilio {
            call_sid: "CA1".into(),
        })
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "twilio_api_base_url is not an http(s) URL");
        assert_eq!(
            join("http://h/prefix/", "k", &["v2", "calls"])
                .unwrap()
                .as_str(),
            "http://h/prefix/v2/calls"
        );
    }
}
