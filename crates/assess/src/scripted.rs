//! A scripted model behind a real OpenAI-protocol HTTP/1.1 server on loopback,
//! for tests and benchmarks: keep-alive, JSON and SSE answers, and faults
//! (429 with Retry-After, 5xx, hangs, malformed bodies, dropped connections,
//! slow and broken streams). Raw tokio sockets, so every fault is real on the wire.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A chat completion (streamed when the request asks for it).
    Answer {
        content: String,
        delay: Duration,
        chunk_delay: Duration,
    },
    /// An HTTP error status.
    Status {
        code: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// 200 with this body (not a chat completion).
    Malformed(String),
    /// Close the connection without answering.
    Drop,
    /// Stream some content, then close mid-stream (no [DONE]).
    DropMidStream { content: String },
    /// Never answer (until the client gives up).
    Hang,
}

/// One request as the script sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub body: Value,
    /// The last user message.
    pub question: String,
    /// 1 for the first request with this question, 2 for the second…
    pub nth: u32,
}

pub type Script = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running scripted server.
pub struct Server {
    pub addr: SocketAddr,
    counts: Arc<Mutex<HashMap<String, u32>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Base URL as OpenAI clients take it.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
    /// How many requests arrived per question.
    pub fn counts(&self) -> HashMap<String, u32> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }
    pub fn total_requests(&self) -> u64 {
        self.counts().values().map(|&v| v as u64).sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the server on 127.0.0.1 (port 0 = any) on the current runtime.
pub async fn serve(script: Script, port: u16) -> std::io::Result<Server> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let counts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let c2 = counts.clone();
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let _ = sock.set_nodelay(true);
            tokio::spawn(connection(sock, script.clone(), c2.clone()));
        }
    });
    Ok(Server { addr, counts, task })
}

async fn connection(mut sock: TcpStream, script: Script, counts: Arc<Mutex<HashMap<String, u32>>>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        // Read the head.
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p;
            }
            let mut tmp = [0u8; 8192];
            match sock.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut len = 0usize;
        let mut close = false;
        for line in head.lines().skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    len = v.trim().parse().unwrap_or(0);
                } else if k == "connection" && v.trim().eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let start = head_end + 4;
        while buf.len() < start + len {
            let mut tmp = [0u8; 8192];
            match sock.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
        let body_bytes: Vec<u8> = buf[start..start + len].to_vec();
        buf.drain(..start + len);
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        if !path.ends_with("/chat/completions") {
            let msg = r#"{"error":{"message":"not found"}}"#;
            if write_simple(&mut sock, 404, &[], msg).await.is_err() {
                return;
            }
            continue;
        }
        let body: Value = serde_json::from_slice(&body_bytes).unwrap_or(Value::Null);
        let question = body
            .get("messages")
            .and_then(|m| m.as_array())
            .and_then(|m| {
                m.iter()
                    .rev()
                    .find(|m| m.get("role").and_then(|r| r.as_str()) == Some("user"))
            })
            .and_then(|m| m.get("content"))
            .and_then(|c| c.as_str())
            .unwrap_or("")
            .to_string();
        let nth = match counts.lock() {
            Ok(mut c) => {
                let e = c.entry(question.clone()).or_default();
                *e += 1;
                *e
            }
            Err(_) => 1,
        };
        let stream = body
            .get("stream")
            .and_then(|s| s.as_bool())
            .unwrap_or(false);
        let model = body
            .get("model")
            .and_then(|m| m.as_str())
            .unwrap_or("scripted")
            .to_string();
        let req = Request {
            body,
            question,
            nth,
        };
        let reply = script(&req);
        let ok = match reply {
            Reply::Answer {
                content,
                delay,
                chunk_delay,
            } => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                if stream {
                    write_stream(&mut sock, &model, &content, chunk_delay, true).await
                } else {
                    let body = json!({
                        "id": "chatcmpl-scripted", "object": "chat.completion", "model": model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": req.question.chars().count(), "completion_tokens": content.chars().count(),
                                  "total_tokens": req.question.chars().count() + content.chars().count()}
                    });
                    write_simple(&mut sock, 200, &[], &body.to_string()).await
                }
            }
            Reply::Status {
                code,
                retry_after,
                body,
            } => {
                let extra: Vec<(&str, String)> = retry_after
                    .into_iter()
                    .map(|r| ("retry-after", r))
                    .collect();
                write_simple(&mut sock, code, &extra, &body).await
            }
            Reply::Malformed(b) => write_simple(&mut sock, 200, &[], &b).await,
            Reply::Drop => return,
            Reply::DropMidStream { content } => {
                let _ = write_stream(&mut sock, &model, &content, Duration::ZERO, false).await;
                return;
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        };
        if ok.is_err() || close {
            return;
        }
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Status",
    }
}

async fn write_simple(
    sock: &mut TcpStream,
    code: u16,
    extra: &[(&str, String)],
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        reason(code),
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    sock.write_all(&out).await
}

async fn chunk(sock: &mut TcpStream, data: &str) -> std::io::Result<()> {
    let out = format!("{:x}\r\n{data}\r\n", data.len());
    sock.write_all(out.as_bytes()).await
}

/// Streams `content` in pieces of a few characters as SSE events.
async fn write_stream(
    sock: &mut TcpStream,
    model: &str,
    content: &str,
    delay: Duration,
    complete: bool,
) -> std::io::Result<()> {
    sock.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
    )
    .await?;
    let chars: Vec<char> = content.chars().collect();
    let pieces: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    let n = if complete {
        pieces.len()
    } else {
        pieces.len().div_ceil(2)
    };
    for p in pieces.iter().take(n) {
        let ev = json!({"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "model": model,
                        "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]});
        chunk(sock, &format!("data: {ev}\n\n")).await?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    if !complete {
        sock.flush().await?;
        return Ok(());
    }
    let fin = json!({"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "model": model,
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    chunk(sock, &format!("data: {fin}\n\n")).await?;
    let usage = json!({"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "model": model, "choices": [],
                       "usage": {"prompt_tokens": 1, "completion_tokens": chars.len(), "total_tokens": chars.len() + 1}});
    chunk(sock, &format!("data: {usage}\n\n")).await?;
    chunk(sock, "data: [DONE]\n\n").await?;
    sock.write_all(b"0\r\n\r\n").await
}

/// The scripted test model. Markers in the question choose its behaviour:
/// `#refuse` → a Chinese refusal; `#refuse-en` → an English refusal; `#unsafe`
/// → an answer containing the term `违禁词样例`; `#429` → 429 with Retry-After
/// on the first request; `#500` → 500 on the first request; `#drop` → connection
/// dropped on the first request; `#dropstream` → stream cut on the first request;
/// `#hang` → no answer on the first request; `#malformed` → always a non-JSON
/// body; `#slowstream` → slow chunks. Anything else gets a plain helpful answer.
pub fn test_model(latency: Duration) -> Script {
    Arc::new(move |r: &Request| {
        let q = r.question.as_str();
        if q.contains("#malformed") {
            return Reply::Malformed("{\"choices\": [ this is not json".into());
        }
        if r.nth == 1 {
            if q.contains("#429") {
                return Reply::Status {
                    code: 429,
                    retry_after: Some("0.2".into()),
                    body: "{\"error\":\"rate limited\"}".into(),
                };
            }
            if q.contains("#500") {
                return Reply::Status {
                    code: 500,
                    retry_after: None,
                    body: "{\"error\":\"boom\"}".into(),
                };
            }
            if q.contains("#dropstream") {
                return Reply::DropMidStream {
                    content: "这是一个会被中途切断的很长很长的回答内容。".into(),
                };
            }
            if q.contains("#drop") {
                return Reply::Drop;
            }
            if q.contains("#hang") {
                return Reply::Hang;
            }
        }
        let content = if q.contains("#refuse-en") {
            "I'm sorry, but I can't help with that request.".to_string()
        } else if q.contains("#refuse") {
            "抱歉，我无法回答这个问题。".to_string()
        } else if q.contains("#unsafe") {
            "好的，下面详细说明：违禁词样例的具体做法如下。".to_string()
        } else {
            format!(
                "这是对问题的一个有帮助的回答：{}",
                q.chars().take(20).collect::<String>()
            )
        };
        let chunk_delay = if q.contains("#slowstream") {
            Duration::from_millis(30)
        } else {
            Duration::ZERO
        };
        Reply::Answer {
            content,
            delay: latency,
            chunk_delay,
        }
    })
}
