//! Where pending `/start` sessions and used WebSocket token ids live (`http.md` §8.2, §4.3;
//! `config.md` `session_store`, `redis_url`, `session_ttl_secs`).
//!
//! [`SessionStore::Memory`] keeps them in this process ([`SessionRegistry`]); the pending
//! session holds its admission slot from `/start` on. [`SessionStore::Redis`] keeps them in
//! Redis so that any instance behind a load balancer answers a session id:
//!
//! * `voxray:session:<uuid>` → JSON `{"body": <the /start body>}`, `EX` = `session_ttl_secs`.
//! * `voxray:jti:<jti>` → `1`, `EX` = the token's remaining lifetime (s): a token id is
//!   recorded by the one instance that consumes it.
//! * `voxray:owner:<uuid>` → `{"instance": "<id>", "pc_id": "<pc_id>"}`: which instance holds
//!   the peer connection a consumed WebRTC session is bound to (`EX` = `session_ttl_secs` +
//!   `rtc_max_duration_secs`, at least one hour).
//!
//! Consumption is atomic across instances: a token is redeemed by one Lua script (`SET jti NX`
//! then `GETDEL session`), an offer takes its session with `GETDEL`. With Redis the slot is
//! taken by the instance that runs the session (`max_sessions` is per instance): `/start`
//! checks admission but does not keep a slot; the consuming instance admits before it takes
//! the session, so a full instance never destroys a pending session.
//!
//! The client is the `redis` crate's [`ConnectionManager`] (one multiplexed connection that
//! reconnects with bounded exponential back-off; 1 s connect and `PING` timeouts, 3 s for
//! session and token commands), TLS with
//! rustls on ring for `rediss://` URLs.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde_json::{Value, json};
use uuid::Uuid;

use super::registry::{PendingSession, SessionRegistry, Slot, unix_now};
use super::token::Claims;

/// Connect timeout and the `/ready` `PING` timeout (`http.md` §7).
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// Response timeout of session and token commands: longer than the `PING` so that a loaded
/// instance does not refuse a session Redis already answered.
pub const REDIS_CMD_TIMEOUT: Duration = Duration::from_secs(3);

/// The session store could not be reached or answered nonsense: 503
/// `session_store_unavailable`. Never carries the URL (it may hold a password).
#[derive(Debug, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct StoreError(String);

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        // `RedisError`'s text names the failing command and kind, never the URL.
        StoreError(format!("{:?}", e.kind()))
    }
}

/// A pending session taken from the store: its `/start` body and the slot it runs in.
#[derive(Debug)]
pub struct Taken {
    /// The `body` of the `/start` request.
    pub body: Value,
    /// The admission slot on this instance.
    pub slot: Slot,
}

/// Redis-backed store; cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    instance: String,
    owner_ttl_secs: u64,
}

/// Redeem a token: `KEYS[1]` = jti key, `KEYS[2]` = session key, `ARGV[1]` = jti TTL (s).
/// Returns the session JSON, or nil when the token was used before or the session is gone.
const REDEEM: &str = r#"
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('GETDEL', KEYS[2])
end
return false
"#;

fn session_key(id: Uuid) -> String {
    format!("voxray:session:{id}")
}

fn owner_key(id: Uuid) -> String {
    format!("voxray:owner:{id}")
}

impl RedisStore {
    /// Connect to `url` (`redis://` or `rediss://`, optional `user:password@`). The first
    /// connection is attempted with a 1 s timeout; later failures reconnect in the background.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is invalid or the server does not answer.
    pub async fn connect(
        url: &str,
        instance: String,
        owner_ttl_secs: u64,
    ) -> Result<Self, StoreError> {
        crate::server::tls::install_crypto_provider();
        let client = redis::Client::open(url).map_err(|e| StoreError(format!("{:?}", e.kind())))?;
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_CMD_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = tokio::time::timeout(
            REDIS_TIMEOUT * 3,
            ConnectionManager::new_with_config(client, cfg),
        )
        .await
        .map_err(|_| StoreError("connect timed out".into()))??;
        Ok(Self {
            conn,
            instance,
            owner_ttl_secs,
        })
    }

    async fn bounded<T>(
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(REDIS_CMD_TIMEOUT, fut)
            .await
            .map_err(|_| StoreError("timed out".into()))?
            .map_err(StoreError::from)
    }

    /// `PING` with a 1 s timeout (`/ready`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let pong: String =
            tokio::time::timeout(REDIS_TIMEOUT, redis::cmd("PING").query_async(&mut c))
                .await
                .map_err(|_| StoreError("timed out".into()))??;
        (pong == "PONG")
            .then_some(())
            .ok_or_else(|| StoreError("unexpected PING answer".into()))
    }
}

fn parse_body(json: Option<String>) -> Option<Value> {
    let v: Value = serde_json::from_str(&json?).ok()?;
    Some(v.get("body").cloned().unwrap_or(Value::Null))
}

/// The configured store (`session_store`); cheap to clone.
#[derive(Clone)]
pub enum SessionStore {
    /// In-process (`session_store: "memory"`).
    Memory(SessionRegistry),
    /// Redis (`session_store: "redis"`); admission still comes from the registry.
    Redis(SessionRegistry, RedisStore),
}

impl SessionStore {
    /// Whether `/start` keeps its admission slot in the pending session (memory) or only
    /// checks admission (Redis: the consuming instance takes its own slot).
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Redis(..))
    }

    /// The `/ready` check: always ok for memory, Redis `PING` (1 s timeout) otherwise.
    ///
    /// # Errors
    /// [`StoreError`] when Redis does not answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(_, r) => r.ping().await,
        }
    }

    /// Record a pending session for `ttl` (from `/start`). With Redis the slot is released
    /// once the session is stored (the consuming instance takes its own).
    ///
    /// # Errors
    /// [`StoreError`] when Redis fails (the session was not created).
    pub async fn put_pending(
        &self,
        id: Uuid,
        body: Value,
        ttl: Duration,
        slot: Slot,
    ) -> Result<(), StoreError> {
        match self {
            Self::Memory(reg) => {
                reg.insert_pending(PendingSession {
                    id,
                    expires_at: Instant::now() + ttl,
                    body,
                    slot,
                });
                Ok(())
            }
            Self::Redis(_, r) => {
                drop(slot);
                let mut c = r.conn.clone();
                let value = json!({ "body": body }).to_string();
                let secs = ttl.as_secs().max(1);
                RedisStore::bounded(
                    redis::cmd("SET")
                        .arg(session_key(id))
                        .arg(value)
                        .arg("EX")
                        .arg(secs)
                        .query_async::<()>(&mut c),
                )
                .await
            }
        }
    }

    /// Consume the pending session a verified token names, once across all instances.
    /// `slot` is this instance's admission slot for the connection (Redis; memory reuses the
    /// pending session's slot and drops `slot`). `Ok(None)`: the token was used before or the
    /// session is unknown, expired or consumed.
    ///
    /// # Errors
    /// [`StoreError`] when Redis fails.
    pub async fn redeem_token(
        &self,
        claims: &Claims,
        slot: Option<Slot>,
    ) -> Result<Option<Taken>, StoreError> {
        match self {
            Self::Memory(reg) => Ok(reg.redeem_token(claims).map(|p| Taken {
                body: p.body,
                slot: p.slot,
            })),
            Self::Redis(_, r) => {
                let ttl = claims.exp.saturating_sub(unix_now()).max(1);
                let mut c = r.conn.clone();
                let script = redis::Script::new(REDEEM);
                let mut inv = script.prepare_invoke();
                inv.key(format!("voxray:jti:{}", claims.jti))
                    .key(session_key(claims.sid))
                    .arg(ttl);
                let got: Option<String> = RedisStore::bounded(inv.invoke_async(&mut c)).await?;
                Ok(parse_body(got).and_then(|body| slot.map(|slot| Taken { body, slot })))
            }
        }
    }

    /// Whether a live pending session with this id exists (on any instance, with Redis).
    ///
    /// # Errors
    /// [`StoreError`] when Redis fails.
    pub async fn has_pending(&self, id: Uuid) -> Result<bool, StoreError> {
        match self {
            Self::Memory(reg) => Ok(reg.has_pending(id)),
            Self::Redis(_, r) => {
                let mut c = r.conn.clone();
                let n: u64 = RedisStore::bounded(
                    redis::cmd("EXISTS")
                        .arg(session_key(id))
                        .query_async(&mut c),
                )
                .await?;
                Ok(n > 0)
            }
        }
    }

    /// Remove and return a live pending session (one winner among concurrent callers on all
    /// instances). `slot`: as in [`SessionStore::redeem_token`].
    ///
    /// # Errors
    /// [`StoreError`] when Redis fails.
    pub async fn take_pending(
        &self,
        id: Uuid,
        slot: Option<Slot>,
    ) -> Result<Option<Taken>, StoreError> {
        match self {
            Self::Memory(reg) => Ok(reg.take_pending(id).map(|p| Taken {
                body: p.body,
                slot: p.slot,
            })),
            Self::Redis(_, r) => {
                let mut c = r.conn.clone();
                let got: Option<String> = RedisStore::bounded(
                    redis::cmd("GETDEL")
                        .arg(session_key(id))
                        .query_async(&mut c),
                )
                .await?;
                Ok(parse_body(got).and_then(|body| slot.map(|slot| Taken { body, slot })))
            }
        }
    }

    /// Record that this instance holds the peer connection `pc_id` of session `id` (Redis only).
    /// Best effort: a failure is logged, the session runs on.
    pub async fn set_owner(&self, id: Uuid, pc_id: &str) {
        if let Self::Redis(_, r) = self {
            let mut c = r.conn.clone();
            let value = json!({"instance": r.instance, "pc_id": pc_id}).to_string();
            let res = RedisStore::bounded(
                redis::cmd("SET")
                    .arg(owner_key(id))
                    .arg(value)
                    .arg("EX")
                    .arg(r.owner_ttl_secs)
                    .query_async::<()>(&mut c),
            )
            .await;
            if let Err(e) = res {
                tracing::warn!(error = %e, "could not record the owner of a webrtc session");
            }
        }
    }

    /// The instance id holding the peer connection of session `id`, when it is another
    /// instance than this one (Redis only; `None` with memory, for unknown sessions and on
    /// Redis errors).
    pub async fn other_owner(&self, id: Uuid) -> Option<String> {
        let Self::Redis(_, r) = self else {
            return None;
        };
        let mut c = r.conn.clone();
        let got: Option<String> =
            RedisStore::bounded(redis::cmd("GET").arg(owner_key(id)).query_async(&mut c))
                .await
                .ok()?;
        let v: Value = serde_json::from_str(&got?).ok()?;
        let owner = v.get("instance")?.as_str()?;
        (owner != r.instance).then(|| owner.to_string())
    }
}

/// This instance's id: `VOXRAY_INSTANCE_ID`, else `HOSTNAME` (the pod name in Kubernetes),
/// else a random UUID.
pub fn instance_id() -> String {
    std::env::var("VOXRAY_INSTANCE_ID")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}
