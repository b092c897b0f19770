//! OpenAI-compatible chat completions with SSE streaming (`providers.md` §2.1): `openai`,
//! `groq`, `mistral`, `deepseek`, `cerebras`, `grok`, `ollama`, `vllm`, `llamacpp`,
//! `openai_compatible`.

use std::collections::{BTreeMap, VecDeque};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{MAX_TOKENS, SseDialect, sse_stream};
use crate::metrics::Metrics;
use crate::services::config::Endpoint;
use crate::services::error::{ProviderMetrics, ServiceError, Stage, clean_detail};
use crate::services::http::{self, Policy};
use crate::services::sse::SseEvent;
use crate::services::{LanguageModel, LlmEvent, LlmStream, Message, ToolCall, Usage};

/// A chat-completions client for one provider of the OpenAI-compatible family.
pub struct OpenAiLlm {
    endpoint: Endpoint,
    policy: Policy,
    metrics: ProviderMetrics,
}

impl OpenAiLlm {
    /// A client for `endpoint` (base URL such as `https://api.openai.com/v1`), counting into
    /// `metrics` when given.
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

    /// The JSON body for `messages` (§2.1): `max_completion_tokens` and `stream_options` for
    /// `openai` only, `max_tokens` for the others; an empty model is left out (llama.cpp).
    pub fn body(&self, messages: &[Message]) -> Value {
        let msgs: Vec<Value> = messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let mut body = json!({"messages": msgs, "stream": true});
        if !self.endpoint.model.is_empty() {
            body["model"] = json!(self.endpoint.model);
        }
        if self.endpoint.provider == "openai" {
            body["max_completion_tokens"] = json!(MAX_TOKENS);
            body["stream_options"] = json!({"include_usage": true});
        } else {
            body["max_tokens"] = json!(MAX_TOKENS);
        }
        body
    }
}

#[async_trait]
impl LanguageModel for OpenAiLlm {
    fn provider(&self) -> &str {
        &self.endpoint.provider
    }
    fn model(&self) -> &str {
        &self.endpoint.model
    }
    async fn complete(&self, messages: &[Message]) -> Result<LlmStream, ServiceError> {
        let url = http::join(&self.endpoint.base_url, "chat/completions");
        let body = serde_json::to_vec(&self.body(messages)).expect("JSON encodes");
        let build = || {
            let mut rb = http::client()
                .post(&url)
                .header("content-type", "application/json")
                .header("accept", "text/event-stream")
                .body(body.clone());
            if let Some(key) = &self.endpoint.key {
                rb = rb.bearer_auth(key.expose());
            }
            rb
        };
        let started = http::send(build, &self.policy, &self.metrics).await?;
        Ok(sse_stream(
            started,
            self.policy.idle,
            self.metrics.clone(),
            ChatDialect::default(),
        ))
    }
}

/// The chat-completions chunk dialect: text deltas, tool-call deltas merged by index,
/// `finish_reason`, `usage`, `[DONE]`, in-stream `error`.
#[derive(Default)]
pub(crate) struct ChatDialect {
    tools: BTreeMap<u32, ToolCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl ChatDialect {
    fn end(&mut self, out: &mut VecDeque<Result<LlmEvent, ServiceError>>) {
        self.flush_tools(out);
        out.push_back(Ok(LlmEvent::End {
            finish_reason: self.finish_reason.take(),
            usage: self.usage.take(),
        }));
    }
    fn flush_tools(&mut self, out: &mut VecDeque<Result<LlmEvent, ServiceError>>) {
        for (_, call) in std::mem::take(&mut self.tools) {
            tracing::info!(tool = %call.name, "LLM tool call ignored (no tools in this version)");
            out.push_back(Ok(LlmEvent::ToolCall(call)));
        }
    }
}

impl SseDialect for ChatDialect {
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<Result<LlmEvent, ServiceError>>,
    ) -> bool {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.end(out);
            return true;
        }
        let v: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(_) => {
                out.push_back(Err(ServiceError::Protocol {
                    stage: Stage::Llm,
                    detail: "an SSE event is not JSON".into(),
                }));
                return true;
            }
        };
        if let Some(err) = v.get("error") {
            let detail = err
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| err.as_str())
                .unwrap_or("error event");
            out.push_back(Err(ServiceError::Provider {
                stage: Stage::Llm,
                detail: clean_detail(detail),
            }));
            return true;
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(Usage {
                input_tokens: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
                output_tokens: u
                    .get("completion_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            });
        }
        let Some(choice) = v.pointer("/choices/0") else {
            return false;
        };
        if let Some(delta) = choice.get("delta") {
            if let Some(text) = delta.get("content").and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push_back(Ok(LlmEvent::Text(text.to_string())));
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for c in calls {
                    let index = c.get("index").and_then(Value::as_u64).unwrap_or(0) as u32;
                    let entry = self.tools.entry(index).or_insert_with(|| ToolCall {
                        index,
                        ..ToolCall::default()
                    });
                    if let Some(id) = c.get("id").and_then(Value::as_str) {
                        entry.id = id.to_string();
                    }
                    if let Some(name) = c.pointer("/function/name").and_then(Value::as_str) {
                        entry.name.push_str(name);
                    }
                    if let Some(args) = c.pointer("/function/arguments").and_then(Value::as_str) {
                        entry.arguments.push_str(args);
                    }
                }
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
            self.flush_tools(out);
        }
        false
    }

    fn on_eof(&mut self, out: &mut VecDeque<Result<LlmEvent, ServiceError>>) {
        if self.finish_reason.is_some() {
            // Some local servers omit `[DONE]`.
            self.end(out);
        } else {
            out.push_back(Err(ServiceError::StreamCut { stage: Stage::Llm }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::sse::SseParser;

    fn run(body: &str) -> Vec<Result<LlmEvent, ServiceError>> {
        let mut p = SseParser::new();
        p.push(body.as_bytes());
        let mut d = ChatDialect::default();
        let mut out = VecDeque::new();
        let mut done = false;
        while let Some(ev) = p.next_event() {
            if d.on_event(ev, &mut out) {
                done = true;
                break;
            }
        }
        if !done {
            d.on_eof(&mut out);
        }
        out.into_iter().collect()
    }

    #[test]
    fn tool_call_deltas_merge_by_index() {
        let body = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n"
        );
        let out = run(body);
        assert_eq!(
            out,
            vec![
                Ok(LlmEvent::ToolCall(ToolCall {
                    index: 0,
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Paris\"}".into()
                })),
                Ok(LlmEvent::End {
                    finish_reason: Some("tool_calls".into()),
                    usage: None
                })
            ]
        );
    }

    #[test]
    fn null_content_reasoning_and_missing_done() {
        let body = concat!(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"hm\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        );
        assert_eq!(
            run(body),
            vec![
                Ok(LlmEvent::Text("Hi".into())),
                Ok(LlmEvent::End {
                    finish_reason: Some("stop".into()),
                    usage: None
                })
            ]
        );
    }

    #[test]
    fn eof_before_finish_is_a_cut_and_error_event_is_a_provider_error() {
        let cut = run("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n");
        assert_eq!(cut[1], Err(ServiceError::StreamCut { stage: Stage::Llm }));
        let err = run("data: {\"error\":{\"message\":\"overloaded\"}}\n\n");
        assert!(matches!(err[0], Err(ServiceError::Provider { .. })));
    }
}
