//! Server-sent events parser (WHATWG HTML "Server-sent events" §9.2.6, `providers.md` §2.1),
//! shared by the OpenAI-compatible family and Anthropic.
//!
//! Incremental: feed body chunks split at any byte with [`SseParser::push`], take complete
//! events with [`SseParser::next_event`]. Lines end in `\n`, `\r\n` or `\r`; a line starting
//! with `:` is a comment; `data:` lines of one event join with `\n`; one optional space after
//! the colon is removed; `event:` names the event; `id:` and `retry:` are ignored; a blank line
//! dispatches; an event with no `data` line is not dispatched; an unterminated event at end of
//! body is discarded. (Written here rather than taken from `eventsource-stream`, which has not
//! been released since 2022 and is not in the offline registry cache.)

use std::collections::VecDeque;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` name, empty when none was given (the spec's `message`).
    pub event: String,
    /// The joined `data:` lines.
    pub data: String,
}

/// Incremental SSE parser. Memory: the unterminated tail of the body plus the event being
/// built (bounded by `max_event` bytes; longer events are dropped).
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a leading `\n` of the next chunk belongs to it.
    after_cr: bool,
    event: String,
    data: String,
    has_data: bool,
    overflow: bool,
    ready: VecDeque<SseEvent>,
}

/// Largest event kept, bytes (1 MiB).
const MAX_EVENT: usize = 1 << 20;

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next body bytes.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.after_cr {
            self.after_cr = false;
            if let [b'\n', rest @ ..] = bytes {
                bytes = rest;
            }
        }
        while let Some(pos) = memchr::memchr2(b'\n', b'\r', bytes) {
            self.line.extend_from_slice(&bytes[..pos]);
            let cr = bytes[pos] == b'\r';
            bytes = &bytes[pos + 1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    None => self.after_cr = true,
                    _ => {}
                }
            }
            let line = std::mem::take(&mut self.line);
            self.line_done(&line);
            self.line = line;
            self.line.clear();
        }
        self.line.extend_from_slice(bytes);
        if self.line.len() > MAX_EVENT {
            self.line.clear();
            self.overflow = true;
        }
    }

    /// The next complete event, if any.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    fn line_done(&mut self, line: &[u8]) {
        if line.is_empty() {
            if self.has_data && !self.overflow {
                self.ready.push_back(SseEvent {
                    event: std::mem::take(&mut self.event),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.event.clear();
            self.data.clear();
            self.has_data = false;
            self.overflow = false;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
                if self.data.len() > MAX_EVENT {
                    self.overflow = true;
                    self.data.clear();
                }
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&value);
            }
            _ => {} // id, retry and unknown fields are ignored.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut SseParser) -> Vec<SseEvent> {
        std::iter::from_fn(|| p.next_event()).collect()
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn lf_crlf_and_cr_line_ends() {
        for body in [
            "data: a\n\ndata: b\n\n",
            "data: a\r\n\r\ndata: b\r\n\r\n",
            "data: a\r\rdata: b\r\r",
        ] {
            let mut p = SseParser::new();
            p.push(body.as_bytes());
            assert_eq!(all(&mut p), vec![ev("", "a"), ev("", "b")], "{body:?}");
        }
    }

    #[test]
    fn split_at_every_byte() {
        let body = "event: message_start\r\ndata: {\"x\":\"h\u{e9}llo\"}\r\n\r\n: ping\n\ndata:one\ndata:  two\n\n";
        let mut p = SseParser::new();
        let mut got = Vec::new();
        for b in body.as_bytes() {
            p.push(std::slice::from_ref(b));
            got.extend(all(&mut p));
        }
        assert_eq!(
            got,
            vec![
                ev("message_start", "{\"x\":\"h\u{e9}llo\"}"),
                ev("", "one\n two"),
            ]
        );
    }

    #[test]
    fn comments_ids_retry_and_empty_events() {
        let mut p = SseParser::new();
        p.push(b": keep-alive\n\nid: 7\nretry: 100\n\nevent: x\n\ndata\n\n");
        // No data line: nothing dispatched; a bare `data` field is an empty data line.
        assert_eq!(all(&mut p), vec![ev("", "")]);
    }

    #[test]
    fn only_one_space_removed_and_colons_kept() {
        let mut p = SseParser::new();
        p.push(b"data:   {\"a\":\"b:c\"}\n\n");
        assert_eq!(all(&mut p), vec![ev("", "  {\"a\":\"b:c\"}")]);
    }

    #[test]
    fn unterminated_event_is_not_dispatched() {
        let mut p = SseParser::new();
        p.push(b"data: [DONE]\n");
        assert_eq!(all(&mut p), vec![]);
        p.push(b"\n");
        assert_eq!(all(&mut p), vec![ev("", "[DONE]")]);
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        let mut p = SseParser::new();
        p.push(b"data: a\r");
        p.push(b"\n\r");
        p.push(b"\ndata: b\n\n");
        assert_eq!(all(&mut p), vec![ev("", "a"), ev("", "b")]);
    }
}
