//! Language-model providers: the OpenAI-compatible family ([`openai`], `providers.md` §2.1)
//! and Anthropic Messages ([`anthropic`], §6), both streamed over SSE through one driver.

pub mod anthropic;
pub mod openai;

use std::collections::VecDeque;
use std::time::Instant;

use futures_util::StreamExt;

use super::error::{ProviderMetrics, ServiceError};
use super::http::{Started, body_stream};
use super::sse::{SseEvent, SseParser};
use super::{LlmEvent, LlmStream};

/// Largest `max_tokens` asked for (`providers.md` §2.1, §6).
pub const MAX_TOKENS: u32 = 256;

/// What a provider's SSE dialect does with events.
pub(crate) trait SseDialect: Send + 'static {
    /// Handle one event, pushing zero or more items. Returns true when the stream is complete
    /// (an `End` or an error was pushed).
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<Result<LlmEvent, ServiceError>>,
    ) -> bool;
    /// The body ended without completion: push the `End` (when the dialect allows it) or the
    /// stream-cut error.
    fn on_eof(&mut self, out: &mut VecDeque<Result<LlmEvent, ServiceError>>);
}

struct Driver<D> {
    body: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, ServiceError>>,
    parser: SseParser,
    dialect: D,
    out: VecDeque<Result<LlmEvent, ServiceError>>,
    done: bool,
    started_at: Instant,
    ttfb_seen: bool,
    metrics: ProviderMetrics,
}

/// Turn a started SSE response into an [`LlmStream`]: parse events with `dialect`, record
/// the TTFB at the first text delta, count and log a failure once. Dropping the stream drops
/// the HTTP response (the connection is closed).
pub(crate) fn sse_stream<D: SseDialect>(
    started: Started,
    idle: std::time::Duration,
    metrics: ProviderMetrics,
    dialect: D,
) -> LlmStream {
    let started_at = started.started_at;
    let body = body_stream(started, idle, metrics.stage);
    let driver = Driver {
        body,
        parser: SseParser::new(),
        dialect,
        out: VecDeque::new(),
        done: false,
        started_at,
        ttfb_seen: false,
        metrics,
    };
    futures_util::stream::unfold(driver, |mut d| async move {
        loop {
            if let Some(item) = d.out.pop_front() {
                match &item {
                    Ok(LlmEvent::Text(_)) if !d.ttfb_seen => {
                        d.ttfb_seen = true;
                        d.metrics.ttfb(d.started_at.elapsed());
                    }
                    Err(e) => {
                        d.metrics.error(e);
                        d.out.clear();
                        d.done = true;
                    }
                    _ => {}
                }
                return Some((item, d));
            }
            if d.done {
                return None;
            }
            match d.body.next().await {
                Some(Ok(chunk)) => {
                    d.parser.push(&chunk);
                    while let Some(ev) = d.parser.next_event() {
                        if d.dialect.on_event(ev, &mut d.out) {
                            d.done = true;
                            break;
                        }
                    }
                }
                Some(Err(e)) => {
                    d.out.push_back(Err(e));
                    d.done = true;
                }
                None => {
                    d.dialect.on_eof(&mut d.out);
                    d.done = true;
                }
            }
        }
    })
    .boxed()
}
