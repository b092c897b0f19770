//! Session admission and lifetimes (`http.md` §8).
//!
//! [`SessionRegistry`] hands out [`Slot`]s atomically up to `max_sessions` (0 = unlimited);
//! dropping a slot frees it. Pending sessions from `POST /start` hold a slot until they are
//! consumed (by `/ws` with their token) or expire. The registry also carries the server's
//! lifecycle state (starting, ready, draining) and the signal that closes running sessions at
//! the end of a graceful shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;

use super::token::Claims;

/// Why a slot could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_sessions` slots are taken: 503 `too_many_sessions`.
    Capacity,
    /// The server is draining: 503 `shutting_down`.
    ShuttingDown,
}

impl Refusal {
    /// The `reason` label of `voxray_sessions_rejected_total`.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Capacity => "capacity",
            Refusal::ShuttingDown => "shutting_down",
        }
    }
}

/// Server lifecycle as seen by `/ready` and admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Lifecycle {
    /// Start-up not complete: `/ready` 503 `starting`.
    Starting = 0,
    /// Serving.
    Ready = 1,
    /// SIGTERM/SIGINT received: `/ready` 503 `draining`, no new sessions.
    Draining = 2,
}

/// One admission slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    inner: Arc<Inner>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.inner.used.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A session created by `POST /start`, waiting for its first connection.
#[derive(Debug)]
pub struct PendingSession {
    /// The session id (UUIDv4).
    pub id: Uuid,
    /// When it stops being usable.
    pub expires_at: Instant,
    /// The `body` of the `/start` request, handed to the pipeline.
    pub body: serde_json::Value,
    /// The admission slot it holds.
    pub slot: Slot,
}

#[derive(Debug)]
struct Inner {
    max: u64,
    used: AtomicU64,
    state: AtomicU8,
    pending: Mutex<HashMap<Uuid, PendingSession>>,
    used_tokens: Mutex<HashMap<String, u64>>,
}

/// Admission, pending sessions and lifecycle; cheap to clone.
#[derive(Debug, Clone)]
pub struct SessionRegistry {
    inner: Arc<Inner>,
    /// Flips to `true` when running sessions must close (shutdown drain expired).
    close_tx: Arc<watch::Sender<bool>>,
}

impl SessionRegistry {
    /// A registry with `max_sessions` slots (0 = unlimited), in the `Starting` state.
    pub fn new(max_sessions: u64) -> Self {
        let (close_tx, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                max: max_sessions,
                used: AtomicU64::new(0),
                state: AtomicU8::new(Lifecycle::Starting as u8),
                pending: Mutex::new(HashMap::new()),
                used_tokens: Mutex::new(HashMap::new()),
            }),
            close_tx: Arc::new(close_tx),
        }
    }

    /// Current lifecycle state.
    pub fn lifecycle(&self) -> Lifecycle {
        match self.inner.state.load(Ordering::Acquire) {
            0 => Lifecycle::Starting,
            1 => Lifecycle::Ready,
            _ => Lifecycle::Draining,
        }
    }

    /// Set the lifecycle state.
    pub fn set_lifecycle(&self, state: Lifecycle) {
        self.inner.state.store(state as u8, Ordering::Release);
    }

    /// Slots in use (pending and running sessions).
    pub fn slots_in_use(&self) -> u64 {
        self.inner.used.load(Ordering::Acquire)
    }

    /// Take a slot atomically. When all are taken, expired pending sessions are swept first,
    /// so an expired `/start` never holds a slot a new client needs (issue 10 item 9).
    ///
    /// # Errors
    /// [`Refusal::ShuttingDown`] while draining, [`Refusal::Capacity`] when all are taken.
    pub fn admit(&self) -> Result<Slot, Refusal> {
        if self.lifecycle() == Lifecycle::Draining {
            return Err(Refusal::ShuttingDown);
        }
        match self.take_slot() {
            Err(Refusal::Capacity) if self.sweep() > 0 => self.take_slot(),
            other => other,
        }
    }

    fn take_slot(&self) -> Result<Slot, Refusal> {
        let max = self.inner.max;
        self.inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (max == 0 || n < max).then_some(n + 1)
            })
            .map_err(|_| Refusal::Capacity)?;
        Ok(Slot {
            inner: self.inner.clone(),
        })
    }

    /// Record a pending session.
    pub fn insert_pending(&self, session: PendingSession) {
        self.sweep();
        self.inner
            .pending
            .lock()
            .expect("registry lock")
            .insert(session.id, session);
    }

    /// Consume the pending session a verified token names, once: the token's `jti` is recorded
    /// until it expires and the session is removed. `None` when the token was used before or
    /// the session is unknown, expired or already consumed.
    pub fn redeem_token(&self, claims: &Claims) -> Option<PendingSession> {
        let now = unix_now();
        {
            let mut used = self.inner.used_tokens.lock().expect("registry lock");
            used.retain(|_, exp| *exp > now);
            if used.insert(claims.jti.clone(), claims.exp).is_some() {
                return None;
            }
        }
        self.take_pending(claims.sid)
    }

    /// Whether a live pending session with this id exists.
    pub fn has_pending(&self, id: Uuid) -> bool {
        let now = Instant::now();
        self.inner
            .pending
            .lock()
            .expect("registry lock")
            .get(&id)
            .is_some_and(|s| s.expires_at > now)
    }

    /// Remove and return a live pending session.
    pub fn take_pending(&self, id: Uuid) -> Option<PendingSession> {
        let session = self
            .inner
            .pending
            .lock()
            .expect("registry lock")
            .remove(&id)?;
        (session.expires_at > Instant::now()).then_some(session)
    }

    /// Drop expired pending sessions, freeing their slots; returns how many were dropped.
    /// Called on insert, when admission finds every slot taken, and by the periodic sweeper.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let expired: Vec<PendingSession> = {
            let mut pending = self.inner.pending.lock().expect("registry lock");
            let ids: Vec<Uuid> = pending
                .iter()
                .filter(|(_, s)| s.expires_at <= now)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| pending.remove(id)).collect()
        };
        // Slots are released here, outside the lock.
        expired.len()
    }

    /// Start the periodic sweeper (every `period`).
    pub fn spawn_sweeper(&self, period: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                this.sweep();
            }
        });
    }

    /// A receiver that turns `true` when running sessions must close (drain expired).
    pub fn close_signal(&self) -> watch::Receiver<bool> {
        self.close_tx.subscribe()
    }

    /// Tell every running session to close now (WS close 1001 `shutdown`).
    pub fn close_all(&self) {
        self.close_tx.send_replace(true);
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_freed() {
        let r = SessionRegistry::new(2);
        r.set_lifecycle(Lifecycle::Ready);
        let a = r.admit().unwrap();
        let _b = r.admit().unwrap();
        assert_eq!(r.admit().unwrap_err(), Refusal::Capacity);
        drop(a);
        assert!(r.admit().is_ok());
        r.set_lifecycle(Lifecycle::Draining);
        assert_eq!(r.admit().unwrap_err(), Refusal::ShuttingDown);
    }

    #[test]
    fn expired_pending_sessions_free_their_slots_on_admission() {
        let r = SessionRegistry::new(1);
        r.set_lifecycle(Lifecycle::Ready);
        let slot = r.admit().unwrap();
        r.inner.pending.lock().unwrap().insert(
            Uuid::nil(),
            PendingSession {
                id: Uuid::nil(),
                expires_at: Instant::now(),
                body: serde_json::Value::Null,
                slot,
            },
        );
        assert_eq!(r.slots_in_use(), 1);
        let again = r
            .admit()
            .expect("the expired session's slot is reused at once");
        assert_eq!(r.slots_in_use(), 1);
        drop(again);
        assert_eq!(r.slots_in_use(), 0);
    }

    #[test]
    fn tokens_redeem_once() {
        let r = SessionRegistry::new(0);
        r.set_lifecycle(Lifecycle::Ready);
        let id = Uuid::new_v4();
        let slot = r.admit().unwrap();
        r.insert_pending(PendingSession {
            id,
            expires_at: Instant::now() + Duration::from_secs(60),
            body: serde_json::Value::Null,
            slot,
        });
        let claims = Claims {
            sid: id,
            exp: unix_now() + 60,
            jti: "a".repeat(32),
        };
        assert!(r.redeem_token(&claims).is_some());
        assert!(r.redeem_token(&claims).is_none());
        assert_eq!(r.slots_in_use(), 0);
    }
}
