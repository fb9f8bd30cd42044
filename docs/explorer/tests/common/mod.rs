//! What the explorer's API tests share: the router called in-process, as a tower service, and
//! the server-sent events of its answers, parsed. No socket is opened.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use explorer::Explorer;
use harness::record::trace::TraceEvent;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The port the tests' explorer believes it serves on: the `Host` of every request names it.
pub const PORT: u16 = 7878;

/// An explorer, and its router.
pub fn explorer() -> (Arc<Explorer>, Router) {
    let explorer = Explorer::new(PORT);
    let router = explorer.router();
    (explorer, router)
}

/// A request to this server, as its own page makes it.
pub fn request(method: &str, path: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("Host", format!("127.0.0.1:{PORT}"))
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a well-formed request")
}

/// Sends `request` through `router`.
pub async fn send(router: &Router, request: Request<Body>) -> Response<Body> {
    router
        .clone()
        .oneshot(request)
        .await
        .expect("the router never fails")
}

/// Starts the runs of `runs` (a JSON array) for `page`, and returns the answer.
pub async fn start(router: &Router, page: &str, runs: &str) -> Response<Body> {
    let body = format!(r#"{{"page":"{page}","runs":{runs}}}"#);
    send(router, request("POST", "/api/runs", &body)).await
}

/// The status of an answer, and its body as JSON.
pub async fn json(response: Response<Body>) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// One server-sent event: its name, and its data as JSON.
#[derive(Debug, Clone)]
pub struct Sse {
    pub name: String,
    pub data: Value,
}

/// Reads the events of a stream as they come.
pub struct Events {
    body: Body,
    text: String,
}

impl Events {
    pub fn new(response: Response<Body>) -> Self {
        assert_eq!(response.status(), StatusCode::OK);
        Events {
            body: response.into_body(),
            text: String::new(),
        }
    }

    /// The next event, or `None` once the stream has ended. Comments (keep-alives) are skipped.
    pub async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).expect("every event's data is JSON");
                return Some(Sse { name, data });
            }
            let frame = tokio::time::timeout(Duration::from_secs(30), self.body.frame())
                .await
                .expect("an event within 30 s")?
                .expect("the stream does not fail");
            if let Ok(bytes) = frame.into_data() {
                self.text
                    .push_str(std::str::from_utf8(&bytes).expect("UTF-8"));
            }
        }
    }

    /// Every event until the stream ends.
    pub async fn all(mut self) -> Vec<Sse> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }

    /// Reads until an event named `name`, and returns it.
    pub async fn until(&mut self, name: &str) -> Sse {
        loop {
            let event = self.next().await.expect("the stream goes on");
            if event.name == name {
                return event;
            }
        }
    }
}

/// The recorder's events of run `run`, read strictly as the harness's own type.
pub fn trace_events(events: &[Sse], run: u64) -> Vec<TraceEvent<'static>> {
    events
        .iter()
        .filter(|event| event.name == "events" && event.data["run"] == run)
        .flat_map(|event| {
            serde_json::from_value::<Vec<TraceEvent<'static>>>(event.data["events"].clone())
                .expect("the harness's trace events")
        })
        .collect()
}

/// The one event named `name` of run `run`.
pub fn the<'a>(events: &'a [Sse], name: &str, run: u64) -> &'a Value {
    let found: Vec<&Sse> = events
        .iter()
        .filter(|event| event.name == name && event.data["run"] == run)
        .collect();
    assert_eq!(found.len(), 1, "one '{name}' event for run {run}");
    &found[0].data
}

/// Waits until `condition` holds, for up to `seconds`; returns whether it did.
pub async fn eventually(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}
