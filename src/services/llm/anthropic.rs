//! Anthropic Messages with SSE (`providers.md` §6): `POST {base}/v1/messages`, `x-api-key`,
//! `anthropic-version: 2023-06-01`; the system prompt goes in `system`, `messages` start with
//! `user` and alternate (same-role neighbours merged, a leading assistant message dropped).

use std::collections::VecDeque;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{MAX_TOKENS, SseDialect, sse_stream};
use crate::metrics::Metrics;
use crate::services::config::Endpoint;
use crate::services::error::{ProviderMetrics, ServiceError, Stage, clean_detail};
use crate::services::http::{self, Policy};
use crate::services::sse::SseEvent;
use crate::services::{LanguageModel, LlmEvent, LlmStream, Message, Role, Usage};

/// The `anthropic-version` header value.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// An Anthropic Messages client.
pub struct AnthropicLlm {
    endpoint: Endpoint,
    policy: Policy,
    metrics: ProviderMetrics,
}

impl AnthropicLlm {
    /// A client for `endpoint` (base URL `https://api.anthropic.com`).
    pub fn new(endpoint: Endpoint, metrics: Option<&Metrics>) -> Self {
        let metrics = ProviderMetrics::new(metrics, Stage::Llm, &endpoint.provider);
        Self {
            endpoint,
            policy: Policy::llm(),
            metrics,
        }
    }

    /// Replace the retry/timeout policy (tests shorten the timeouts).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The JSON body for `messages` (§6).
    pub fn body(&self, messages: &[Message]) -> Value {
        let system: Vec<&str> = messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let mut turns: Vec<(Role, String)> = Vec::new();
        for m in messages.iter().filter(|m| m.role != Role::System) {
            if turns.is_empty() && m.role == Role::Assistant {
                continue;
            }
            match turns.last_mut() {
                Some((role, text)) if *role == m.role => {
                    text.push('\n');
                    text.push_str(&m.content);
                }
                _ => turns.push((m.role, m.content.clone())),
            }
        }
        let msgs: Vec<Value> = turns
            .iter()
            .map(|(r, c)| json!({"role": r.as_str(), "content": c}))
            .collect();
        let mut body = json!({
            "model": self.endpoint.model,
            "max_tokens": MAX_TOKENS,
            "messages": msgs,
            "stream": true,
        });
        if !system.is_empty() {
            body["system"] = json!(system.join("\n"));
        }
        body
    }
}

#[async_trait]
impl LanguageModel for AnthropicLlm {
    fn provider(&self) -> &str {
        &self.endpoint.provider
    }
    fn model(&self) -> &str {
        &self.endpoint.model
    }
    async fn complete(&self, messages: &[Message]) -> Result<LlmStream, ServiceError> {
        let url = http::join(&self.endpoint.base_url, "v1/messages");
        let body = serde_json::to_vec(&self.body(messages)).expect("JSON encodes");
        let build = || {
            let mut rb = http::client()
                .post(&url)
                .header("content-type", "application/json")
                .header("anthropic-version", ANTHROPIC_VERSION)
                .header("accept", "text/event-stream")
                .body(body.clone());
            if let Some(key) = &self.endpoint.key {
                rb = rb.header("x-api-key", key.expose());
            }
            rb
        };
        let started = http::send(build, &self.policy, &self.metrics).await?;
        Ok(sse_stream(
            started,
            self.policy.idle,
            self.metrics.clone(),
            MessagesDialect::default(),
        ))
    }
}

/// The Messages event dialect.
#[derive(Default)]
pub(crate) struct MessagesDialect {
    stop_reason: Option<String>,
    usage: Usage,
}

impl SseDialect for MessagesDialect {
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<Result<LlmEvent, ServiceError>>,
    ) -> bool {
        let Ok(v) = serde_json::from_str::<Value>(&event.data) else {
            out.push_back(Err(ServiceError::Protocol {
                stage: Stage::Llm,
                detail: "an SSE event is not JSON".into(),
            }));
            return true;
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(&event.event);
        match kind {
            "message_start" => {
                if let Some(n) = v
                    .pointer("/message/usage/input_tokens")
                    .and_then(Value::as_u64)
                {
                    self.usage.input_tokens = n;
                }
            }
            "content_block_delta" => {
                if v.pointer("/delta/type").and_then(Value::as_str) == Some("text_delta")
                    && let Some(text) = v.pointer("/delta/text").and_then(Value::as_str)
                    && !text.is_empty()
                {
                    out.push_back(Ok(LlmEvent::Text(text.to_string())));
                }
            }
            "message_delta" => {
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(r.to_string());
                }
                if let Some(n) = v.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                    self.usage.output_tokens = n;
                }
            }
            "message_stop" => {
                out.push_back(Ok(LlmEvent::End {
                    finish_reason: self.stop_reason.take(),
                    usage: Some(self.usage),
                }));
                return true;
            }
            "error" => {
                let detail = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("error event");
                out.push_back(Err(ServiceError::Provider {
                    stage: Stage::Llm,
                    detail: clean_detail(detail),
                }));
                return true;
            }
            _ => {} // ping, content_block_start/stop, unknown events.
        }
        false
    }

    fn on_eof(&mut self, out: &mut VecDeque<Result<LlmEvent, ServiceError>>) {
        out.push_back(Err(ServiceError::StreamCut { stage: Stage::Llm }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_alternates_starting_with_user() {
        let llm = AnthropicLlm::new(
            Endpoint {
                provider: "anthropic".into(),
                model: "m".into(),
                ..Endpoint::default()
            },
            None,
        );
        let body = llm.body(&[
            Message::new(Role::System, "be brief"),
            Message::new(Role::Assistant, "Hello!"),
            Message::new(Role::User, "hi"),
            Message::new(Role::User, "there"),
            Message::new(Role::Assistant, "yes"),
        ]);
        assert_eq!(body["system"], "be brief");
        assert_eq!(
            body["messages"],
            json!([{"role":"user","content":"hi\nthere"},{"role":"assistant","content":"yes"}])
        );
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["stream"], true);
    }
}
