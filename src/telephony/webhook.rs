//! Answers to the carrier's voice webhook, `POST /` in telephony mode (`wire.md` §3.5).
//!
//! Each answer tells the carrier to open a bidirectional media stream to
//! `<wss|ws>://<public host>/telephony/ws`. Twilio's TwiML copies the caller's `From`/`To`
//! into `<Parameter>`s so they reach the session as the stream's custom parameters. Exotel
//! has no such webhook; it gets a JSON note with the URL to paste into its Voicebot applet.

use super::Carrier;

/// The path the media stream connects to.
pub const STREAM_PATH: &str = "/telephony/ws";

/// A webhook answer: `Content-Type` and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `application/xml` (Twilio, Telnyx, Plivo) or `application/json` (Exotel).
    pub content_type: &'static str,
    /// The document.
    pub body: String,
}

/// Escape text for an XML attribute value or element content.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The answer for `carrier`, streaming to `stream_url`; `form` is the webhook's form
/// parameters (Twilio: `From`/`To` become `from_number`/`to_number` parameters).
pub fn answer(carrier: Carrier, stream_url: &str, form: &[(String, String)]) -> Answer {
    let url = xml_escape(stream_url);
    let xml = |body: String| Answer {
        content_type: "application/xml",
        body: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n{body}</Response>\n"
        ),
    };
    match carrier {
        Carrier::Twilio => {
            let mut params = String::new();
            for (form_name, param) in [("From", "from_number"), ("To", "to_number")] {
                if let Some((_, v)) = form.iter().find(|(k, v)| k == form_name && !v.is_empty()) {
                    params.push_str(&format!(
                        "      <Parameter name=\"{param}\" value=\"{}\"/>\n",
                        xml_escape(v)
                    ));
                }
            }
            xml(format!(
                "  <Connect>\n    <Stream url=\"{url}\">\n{params}    </Stream>\n  </Connect>\n"
            ))
        }
        Carrier::Telnyx => xml(format!(
            "  <Connect>\n    <Stream url=\"{url}\" bidirectionalMode=\"rtp\"></Stream>\n  </Connect>\n"
        )),
        Carrier::Plivo => xml(format!(
            "  <Stream bidirectional=\"true\" keepCallAlive=\"true\" contentType=\"audio/x-mulaw;rate=8000\">{url}</Stream>\n"
        )),
        Carrier::Exotel => Answer {
            content_type: "application/json",
            body: serde_json::json!({
                "websocketUrl": stream_url,
                "note": "Exotel does not call a POST webhook; configure this URL in the Voicebot applet",
            })
            .to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect()
    }

    #[test]
    fn twiml_matches_the_spec_document() {
        let a = answer(
            Carrier::Twilio,
            "wss://voice.example.com/telephony/ws",
            &form(&[
                ("From", "+15550100"),
                ("To", "+15550101"),
                ("CallSid", "CA1"),
            ]),
        );
        assert_eq!(a.content_type, "application/xml");
        assert_eq!(
            a.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n  <Connect>\n    <Stream url=\"wss://voice.example.com/telephony/ws\">\n      <Parameter name=\"from_number\" value=\"+15550100\"/>\n      <Parameter name=\"to_number\" value=\"+15550101\"/>\n    </Stream>\n  </Connect>\n</Response>\n"
        );
    }

    #[test]
    fn values_are_escaped() {
        let a = answer(
            Carrier::Twilio,
            "wss://h/telephony/ws?a=1&b=2",
            &form(&[("From", "\"<x>&'")]),
        );
        assert!(a.body.contains("url=\"wss://h/telephony/ws?a=1&amp;b=2\""));
        assert!(a.body.contains("value=\"&quot;&lt;x&gt;&amp;&apos;\""));
        assert!(!a.body.contains("to_number"));
    }

    #[test]
    fn other_carriers() {
        let t = answer(Carrier::Telnyx, "wss://h/telephony/ws", &[]);
        assert!(
            t.body
                .contains("<Stream url=\"wss://h/telephony/ws\" bidirectionalMode=\"rtp\">")
        );
        assert!(!t.body.contains("Parameter"));
        let p = answer(Carrier::Plivo, "wss://h/telephony/ws", &[]);
        assert!(p.body.contains(
            "<Stream bidirectional=\"true\" keepCallAlive=\"true\" contentType=\"audio/x-mulaw;rate=8000\">wss://h/telephony/ws</Stream>"
        ));
        let e = answer(Carrier::Exotel, "wss://h/telephony/ws", &[]);
        assert_eq!(e.content_type, "application/json");
        let v: serde_json::Value = serde_json::from_str(&e.body).unwrap();
        assert_eq!(v["websocketUrl"], "wss://h/telephony/ws");
        assert!(v["note"].as_str().unwrap().contains("Voicebot"));
    }
}
