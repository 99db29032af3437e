//! OpenAI-compatible `/chat/completions` client: streaming (SSE) and not,
//! per-request timeout, retries with exponential backoff and jitter on 429
//! (honouring Retry-After), 5xx, timeouts and dropped connections, and a
//! requests-per-second limiter shared by all workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::bank::Message;
use crate::rng::splitmix64;

/// Endpoint and request settings. Everything but the key is recorded in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointConfig {
    /// Base URL as OpenAI clients take it (e.g. `http://127.0.0.1:8000/v1`).
    pub base_url: String,
    pub model: String,
    #[serde(skip)]
    pub api_key: Option<String>,
    /// Name of the environment variable the key came from (recorded, not the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Extra headers; only the names are recorded.
    #[serde(skip)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub header_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Sampling parameters merged into the request body (temperature, top_p, max_tokens, seed…).
    #[serde(default)]
    pub params: Map<String, Value>,
    pub stream: bool,
    pub timeout_ms: u64,
    pub max_retries: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
}

impl EndpointConfig {
    pub fn new(base_url: &str, model: &str) -> EndpointConfig {
        EndpointConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key: None,
            api_key_env: None,
            headers: Vec::new(),
            header_names: Vec::new(),
            system_prompt: None,
            params: Map::new(),
            stream: false,
            timeout_ms: 120_000,
            max_retries: 6,
            backoff_base_ms: 500,
            backoff_max_ms: 30_000,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    #[serde(default)]
    pub total_tokens: Option<u64>,
}

/// A successful completion.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Completion {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Why a call failed after its retries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallError {
    /// A non-retryable HTTP status (4xx other than 429), or retries exhausted on 429/5xx.
    Http { status: u16, body: String },
    /// The server answered 2xx but the body is not a chat completion.
    Malformed { detail: String },
    /// Connection refused, reset or dropped (retries exhausted).
    Transport { detail: String },
    /// The per-request timeout elapsed (retries exhausted).
    Timeout { after_ms: u64 },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Http { status, body } => write!(f, "HTTP {status}: {body}"),
            CallError::Malformed { detail } => write!(f, "malformed response: {detail}"),
            CallError::Transport { detail } => write!(f, "transport: {detail}"),
            CallError::Timeout { after_ms } => write!(f, "timed out after {after_ms} ms"),
        }
    }
}

/// One call's outcome with its bookkeeping.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub result: Result<Completion, CallError>,
    pub attempts: u32,
    /// Latency of the final attempt, and wall time of the whole call with retries.
    pub latency_ms: u64,
    pub total_ms: u64,
    /// Time to the first streamed content byte (streaming only).
    pub first_token_ms: Option<u64>,
}

enum Attempt {
    Ok(Completion, Option<u64>),
    Retry {
        err: CallError,
        retry_after: Option<Duration>,
    },
    Fatal(CallError),
}

/// Shared requests-per-second limiter.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl RateLimiter {
    pub fn new(rps: f64) -> Option<Arc<RateLimiter>> {
        (rps > 0.0 && rps.is_finite()).then(|| {
            Arc::new(RateLimiter {
                interval: Duration::from_secs_f64(1.0 / rps),
                next: tokio::sync::Mutex::new(Instant::now()),
            })
        })
    }
    pub async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The chat-completions client.
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    cfg: Arc<EndpointConfig>,
    url: String,
    limiter: Option<Arc<RateLimiter>>,
    jitter: Arc<AtomicU64>,
}

impl ChatClient {
    pub fn new(
        cfg: EndpointConfig,
        limiter: Option<Arc<RateLimiter>>,
    ) -> Result<ChatClient, String> {
        // rustls needs a process-wide crypto provider; an error only means one is set.
        #[cfg(feature = "rustls")]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let url = cfg.url();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "endpoint {:?} must start with http:// or https://",
                cfg.base_url
            ));
        }
        #[cfg(not(feature = "rustls"))]
        if url.starts_with("https://") {
            return Err("https endpoints need beian built with the `rustls` feature".into());
        }
        Ok(ChatClient {
            http,
            url,
            cfg: Arc::new(cfg),
            limiter,
            jitter: Arc::new(AtomicU64::new(0x1234_5678)),
        })
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    /// The request body for these messages.
    pub fn body(&self, messages: &[Message]) -> Value {
        let mut msgs = Vec::new();
        if let Some(sys) = &self.cfg.system_prompt
            && !messages.iter().any(|m| m.role == "system")
        {
            msgs.push(json!({"role": "system", "content": sys}));
        }
        for m in messages {
            msgs.push(json!({"role": m.role, "content": m.content}));
        }
        let mut body = Map::new();
        body.insert("model".into(), json!(self.cfg.model));
        body.insert("messages".into(), Value::Array(msgs));
        for (k, v) in &self.cfg.params {
            body.insert(k.clone(), v.clone());
        }
        body.insert("stream".into(), json!(self.cfg.stream));
        if self.cfg.stream {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Value::Object(body)
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let r = splitmix64(
            self.jitter
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed),
        );
        let unit = (r >> 11) as f64 / (1u64 << 53) as f64;
        let base =
            self.cfg.backoff_base_ms as f64 * 2f64.powi(attempt.saturating_sub(1).min(20) as i32);
        let capped = base.min(self.cfg.backoff_max_ms as f64);
        // Equal jitter: half fixed, half random.
        let jittered = Duration::from_secs_f64((capped / 2.0 + unit * capped / 2.0) / 1000.0);
        match retry_after {
            // Honour the server's Retry-After, plus up to 10% jitter so waiters do not stampede.
            Some(ra) => ra.mul_f64(1.0 + unit * 0.1),
            None => jittered,
        }
    }

    /// Sends the messages, retrying as configured. Returns `None` when `cancel`
    /// fired during a backoff wait (the item is then left for a later resume).
    pub async fn call(
        &self,
        messages: &[Message],
        cancel: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Option<CallOutcome> {
        let body = serde_json::to_vec(&self.body(messages)).unwrap_or_default();
        let start = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            if let Some(l) = &self.limiter {
                l.acquire().await;
            }
            let t0 = Instant::now();
            let timeout = Duration::from_millis(self.cfg.timeout_ms);
            let res = match tokio::time::timeout(timeout, self.attempt(&body, t0)).await {
                Ok(a) => a,
                Err(_) => Attempt::Retry {
                    err: CallError::Timeout {
                        after_ms: self.cfg.timeout_ms,
                    },
                    retry_after: None,
                },
            };
            let latency_ms = t0.elapsed().as_millis() as u64;
            let done = |result, first_token_ms| {
                Some(CallOutcome {
                    result,
                    attempts,
                    latency_ms,
                    total_ms: start.elapsed().as_millis() as u64,
                    first_token_ms,
                })
            };
            match res {
                Attempt::Ok(c, ft) => return done(Ok(c), ft),
                Attempt::Fatal(e) => return done(Err(e), None),
                Attempt::Retry { err, retry_after } => {
                    if attempts > self.cfg.max_retries {
                        return done(Err(err), None);
                    }
                    let wait = self.backoff(attempts, retry_after);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = cancel.wait_for(|c| *c) => return None,
                    }
                }
            }
        }
    }

    async fn attempt(&self, body: &[u8], t0: Instant) -> Attempt {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if self.cfg.stream {
            req = req.header("accept", "text/event-stream");
        }
        if let Some(k) = &self.cfg.api_key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        for (k, v) in &self.cfg.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    err: CallError::Transport {
                        detail: error_chain(&e),
                    },
                    retry_after: None,
                };
            }
        };
        let status = resp.status().as_u16();
        if status == 429 || status == 408 || status >= 500 {
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Duration::from_secs_f64(s.min(600.0)));
            let text = resp.text().await.unwrap_or_default();
            return Attempt::Retry {
                err: CallError::Http {
                    status,
                    body: snippet(&text),
                },
                retry_after,
            };
        }
        if !(200..300).contains(&status) {
            let text = resp.text().await.unwrap_or_default();
            return Attempt::Fatal(CallError::Http {
                status,
                body: snippet(&text),
            });
        }
        let is_sse = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("text/event-stream"));
        if self.cfg.stream && is_sse {
            let mut sse = SseAccumulator::default();
            let mut first: Option<u64> = None;
            loop {
                match resp.chunk().await {
                    Ok(Some(bytes)) => {
                        if let Err(e) = sse.feed(&bytes) {
                            return Attempt::Fatal(e);
                        }
                        if first.is_none() && !sse.content.is_empty() {
                            first = Some(t0.elapsed().as_millis() as u64);
                        }
                        if sse.done {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Attempt::Retry {
                            err: CallError::Transport {
                                detail: format!("stream interrupted: {}", error_chain(&e)),
                            },
                            retry_after: None,
                        };
                    }
                }
            }
            if let Err(e) = sse.finish() {
                return Attempt::Fatal(e);
            }
            if !sse.done && sse.finish_reason.is_none() {
                return Attempt::Retry {
                    err: CallError::Transport {
                        detail: "stream ended without [DONE] or finish_reason".into(),
                    },
                    retry_after: None,
                };
            }
            return Attempt::Ok(sse.into_completion(), first);
        }
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry {
                    err: CallError::Transport {
                        detail: format!("body interrupted: {}", error_chain(&e)),
                    },
                    retry_after: None,
                };
            }
        };
        match parse_completion(&bytes) {
            Ok(c) => Attempt::Ok(c, None),
            Err(e) => Attempt::Fatal(e),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

fn snippet(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out
}

fn malformed(detail: impl Into<String>) -> CallError {
    CallError::Malformed {
        detail: detail.into(),
    }
}

/// Parses a non-streaming chat completion body.
pub fn parse_completion(bytes: &[u8]) -> Result<Completion, CallError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        malformed(format!(
            "invalid JSON ({e}): {}",
            snippet(&String::from_utf8_lossy(bytes))
        ))
    })?;
    if let Some(err) = v.get("error") {
        return Err(malformed(format!(
            "error object in 2xx response: {}",
            snippet(&err.to_string())
        )));
    }
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| malformed("no choices[0]"))?;
    let msg = choice
        .get("message")
        .ok_or_else(|| malformed("no choices[0].message"))?;
    let finish_reason = choice.get("finish_reason").and_then(|f| f.as_str());
    let content = match msg.get("content") {
        Some(Value::String(s)) => s.clone(),
        // Content parts (`[{"type": "text", "text": "..."}]`), as some servers send.
        Some(Value::Array(parts)) if parts.iter().all(|p| p.get("text").is_some()) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        Some(Value::Null) | None => {
            if let Some(r) = msg.get("refusal").and_then(Value::as_str) {
                // OpenAI's structured refusal: the model's own words of refusal.
                r.to_string()
            } else if msg.get("reasoning_content").is_some()
                || msg.get("tool_calls").is_some()
                || finish_reason == Some("content_filter")
            {
                String::new()
            } else {
                return Err(malformed("choices[0].message.content is missing"));
            }
        }
        _ => return Err(malformed("choices[0].message.content is not a string")),
    };
    let reasoning = msg
        .get("reasoning_content")
        .or_else(|| msg.get("reasoning"))
        .and_then(|r| r.as_str())
        .map(str::to_string);
    let usage = v
        .get("usage")
        .and_then(|u| serde_json::from_value::<Usage>(u.clone()).ok());
    Ok(Completion {
        content,
        reasoning,
        finish_reason: finish_reason.map(str::to_string),
        usage,
        model: v.get("model").and_then(|m| m.as_str()).map(str::to_string),
    })
}

/// Incremental SSE parser for streamed chat completions.
#[derive(Debug, Default)]
pub struct SseAccumulator {
    buf: Vec<u8>,
    pub content: String,
    pub reasoning: String,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
    pub model: Option<String>,
    pub done: bool,
}

impl SseAccumulator {
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), CallError> {
        self.buf.extend_from_slice(bytes);
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            self.line(&line)?;
        }
        Ok(())
    }

    pub fn finish(&mut self) -> Result<(), CallError> {
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.line(&line)?;
        }
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), CallError> {
        let line = std::str::from_utf8(line).map_err(|_| malformed("SSE line is not UTF-8"))?;
        let line = line.trim_end_matches(['\r', '\n']);
        let Some(data) = line.strip_prefix("data:") else {
            return Ok(());
        };
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            malformed(format!(
                "invalid JSON in SSE event ({e}): {}",
                snippet(data)
            ))
        })?;
        if let Some(err) = v.get("error") {
            return Err(malformed(format!(
                "error event in stream: {}",
                snippet(&err.to_string())
            )));
        }
        if self.model.is_none() {
            self.model = v.get("model").and_then(|m| m.as_str()).map(str::to_string);
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            self.usage = serde_json::from_value(u.clone()).ok();
        }
        if let Some(choice) = v.get("choices").and_then(|c| c.get(0)) {
            if let Some(delta) = choice.get("delta") {
                // `refusal` deltas are OpenAI's structured refusal: the answer.
                for key in ["content", "refusal"] {
                    if let Some(s) = delta.get(key).and_then(|c| c.as_str()) {
                        self.content.push_str(s);
                    }
                }
                if let Some(s) = delta.get("reasoning_content").and_then(|c| c.as_str()) {
                    self.reasoning.push_str(s);
                }
            }
            if let Some(f) = choice.get("finish_reason").and_then(|f| f.as_str()) {
                self.finish_reason = Some(f.to_string());
            }
        }
        Ok(())
    }

    pub fn into_completion(self) -> Completion {
        Completion {
            content: self.content,
            reasoning: (!self.reasoning.is_empty()).then_some(self.reasoning),
            finish_reason: self.finish_reason,
            usage: self.usage,
            model: self.model,
        }
    }
}
