//! A loopback fake of the carriers' REST APIs for call hang-up (`wire.md` §3.4): Twilio
//! `POST /2010-04-01/Accounts/{sid}/Calls/{sid}.json`, Telnyx
//! `POST /v2/calls/{id}/actions/hangup`, Plivo `DELETE /v1/Account/{id}/Call/{id}/`. It
//! records method, path, headers and body of every request and answers from a script of
//! (status, JSON body) pairs, e.g. Twilio's already-ended `404 {"code":20404,…}`; an empty
//! script answers 200 `{}`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use tokio::sync::Notify;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct CarrierRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl CarrierRequest {
    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct State {
    seen: Mutex<Vec<CarrierRequest>>,
    answers: Mutex<VecDeque<(u16, String)>>,
    arrived: Notify,
}

/// The fake; serves until dropped.
pub struct CarrierFake {
    state: Arc<State>,
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl CarrierFake {
    /// Serve on `127.0.0.1:0` with these answers, in order.
    pub async fn start(answers: &[(u16, &str)]) -> CarrierFake {
        let state = Arc::new(State::default());
        state
            .answers
            .lock()
            .unwrap()
            .extend(answers.iter().map(|(s, b)| (*s, b.to_string())));
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move {
                    st.seen.lock().unwrap().push(CarrierRequest {
                        method,
                        path: uri.path().to_string(),
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    st.arrived.notify_waiters();
                    let (status, body) = st
                        .answers
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((200, "{}".into()));
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [(header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        CarrierFake { state, addr, task }
    }

    /// `http://127.0.0.1:<port>` (the `*_api_base_url` value).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<CarrierRequest> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Wait until at least `n` requests arrived (or `within` passed); the requests.
    pub async fn wait_requests(&self, n: usize, within: Duration) -> Vec<CarrierRequest> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.state.arrived.notified();
            let seen = self.requests();
            if seen.len() >= n || tokio::time::Instant::now() >= deadline {
                return seen;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }
}

impl Drop for CarrierFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}
