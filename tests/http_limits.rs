//! Request body limits over one keep-alive TCP connection (`http.md` §6), admission
//! (`max_sessions`) and the default limit.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use common::Server;
use serde_json::json;

/// Read one HTTP/1.1 response (status, headers lower-cased, body) from a keep-alive stream.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>, String) {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .expect("status line")
        .parse()
        .unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).unwrap();
    (status, headers, String::from_utf8(body).unwrap())
}

fn json_body(size: usize) -> Vec<u8> {
    // A valid JSON object of exactly `size` bytes.
    let mut s = String::from("{\"pad\":\"");
    while s.len() < size - 2 {
        s.push('x');
    }
    s.push_str("\"}");
    assert_eq!(s.len(), size);
    s.into_bytes()
}

fn post_content_length(stream: &mut TcpStream, body: &[u8]) {
    write!(stream, "POST /start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    stream.write_all(body).unwrap();
}

fn post_chunked(stream: &mut TcpStream, body: &[u8]) {
    write!(
        stream,
        "POST /start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    for chunk in body.chunks(16 * 1024) {
        write!(stream, "{:x}\r\n", chunk.len()).unwrap();
        stream.write_all(chunk).unwrap();
        stream.write_all(b"\r\n").unwrap();
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
}

fn get_health(stream: &mut TcpStream) {
    write!(stream, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
}

#[test]
fn oversize_bodies_are_refused_and_the_connection_stays_usable() {
    let server = Server::start(json!({"max_sessions": 0}), &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let expected =
        r#"{"error":{"code":"body_too_large","message":"request body exceeds 262144 bytes"}}"#;

    for (label, size) in [("limit+1", 262_145), ("1 MiB", 1 << 20)] {
        for chunked in [false, true] {
            let body = json_body(size);
            if chunked {
                post_chunked(&mut stream, &body)
            } else {
                post_content_length(&mut stream, &body)
            }
            let (status, headers, text) = read_response(&mut reader);
            assert_eq!(status, 400, "{label} chunked={chunked}");
            assert_eq!(text, expected);
            assert!(
                !headers
                    .iter()
                    .any(|(k, v)| k == "connection" && v == "close")
            );
            get_health(&mut stream);
            let (status, _, _) = read_response(&mut reader);
            assert_eq!(
                status, 200,
                "same connection after {label} chunked={chunked}"
            );
        }
    }
    // Exactly the limit is accepted (the default limit is 262144).
    for chunked in [false, true] {
        let body = json_body(262_144);
        if chunked {
            post_chunked(&mut stream, &body)
        } else {
            post_content_length(&mut stream, &body)
        }
        let (status, _, text) = read_response(&mut reader);
        assert_eq!(status, 200, "exactly the limit, chunked={chunked}: {text}");
    }
}

#[test]
fn many_small_headers_are_fine_under_the_64_kib_limit() {
    let server = Server::start(json!({}), &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut req = String::from("GET /health HTTP/1.1\r\nHost: x\r\n");
    for i in 0..300 {
        req.push_str(&format!("X-Extra-{i}: value\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let (status, _, _) = read_response(&mut reader);
    assert_eq!(
        status, 200,
        "300 small headers (about 6 KB) are within the header limit"
    );
}

#[test]
fn expect_continue_with_oversize_length_gets_400_without_100() {
    let server = Server::start(json!({"max_request_body_bytes": 2048}), &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    write!(
        stream,
        "POST /start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 4096\r\n\r\n"
    )
    .unwrap();
    let (status, headers, text) = read_response(&mut reader);
    assert_eq!(status, 400);
    assert!(text.contains("request body exceeds 2048 bytes"));
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "connection" && v == "close")
    );
}

#[tokio::test]
async fn max_sessions_admits_exactly_the_limit() {
    let server = Server::start(json!({"max_sessions": 5}), &[]);
    let client = reqwest::Client::new();
    let url = server.url("/start");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.post(url).send().await.unwrap() })
        })
        .collect();
    let mut ok = 0;
    let mut full = 0;
    for t in tasks {
        let res = t.await.unwrap();
        match res.status().as_u16() {
            200 => ok += 1,
            503 => {
                assert_eq!(res.headers()["retry-after"], "5");
                assert_eq!(
                    res.json::<serde_json::Value>().await.unwrap()["error"]["code"],
                    "too_many_sessions"
                );
                full += 1;
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!((ok, full), (5, 15));
    assert_eq!(
        server
            .metric("voxray_sessions_rejected_total{reason=\"capacity\"}")
            .await,
        Some(15.0)
    );
    // A full server is still ready.
    assert_eq!(
        client
            .get(server.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
