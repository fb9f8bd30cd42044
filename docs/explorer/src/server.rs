//! The server: its routes, the runs it has going, and the guard in front of them.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | the page, with its script and style at `/explorer.js` and `/explorer.css` |
//! | `POST /api/runs` | starts the runs of a [`RunRequest`] (JSON) and answers with their events |
//! | `POST /api/cancel` | cancels the run of a page: a [`CancelRequest`] (JSON) |
//!
//! Every request passes the checks of [`crate::guard`] first. The two that act take a JSON body, with
//! `Content-Type: application/json`: a plain HTML form can only send a few other types, and a
//! page of another site can set this one only after asking the server first (a CORS preflight),
//! which this server never answers. A bad body gets a 400 with the message a demo would print;
//! every refusal is JSON: `{"error": "..."}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use harness::THREAD_LIMIT;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::guard::{check_host, check_origin};
use crate::page;
use crate::params::{CancelRequest, Plan, RunRequest, check_page};
use crate::run::{Cancel, Outbox, run_all};
use crate::stream;

/// How often an idle stream sends a comment: a page that has gone is noticed when a write to
/// it fails, so a run whose page closed stops within about this long even between batches.
const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// The page's own rules for what it loads: only from this server, and never inside a frame of
/// another site.
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
                           frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The explorer: the port it serves on, and the run each page has going.
#[derive(Debug)]
pub struct Explorer {
    port: u16,
    /// The run each page has going, by page id: a new run of a page cancels the old one.
    runs: Mutex<HashMap<String, Arc<Cancel>>>,
    /// How many runs have a thread still going.
    running: AtomicUsize,
    /// The threads that the runs still going may have at once: each run's most, until its last
    /// thread has ended. A cancelled run keeps its threads until their tasks end, so pressing
    /// Run again and again would otherwise add a run's threads each time.
    threads: AtomicUsize,
    /// The most `threads` may reach.
    thread_limit: usize,
}

impl Explorer {
    /// An explorer that serves on `port` of loopback: the port that the `Host` of each request
    /// must name. Its runs have at most the harness's [`THREAD_LIMIT`] threads between them.
    pub fn new(port: u16) -> Arc<Self> {
        Self::with_thread_limit(port, THREAD_LIMIT)
    }

    /// Like [`Explorer::new`], with runs that have at most `limit` threads between them: a run
    /// that would take them past it is refused until others end.
    pub fn with_thread_limit(port: u16, limit: usize) -> Arc<Self> {
        Arc::new(Explorer {
            port,
            runs: Mutex::default(),
            running: AtomicUsize::new(0),
            threads: AtomicUsize::new(0),
            thread_limit: limit,
        })
    }

    /// The routes, each behind the checks of [`crate::guard`].
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/",
                get(|| async { page_response(page::INDEX, "text/html") }),
            )
            .route(
                "/explorer.js",
                get(|| async { page_response(page::SCRIPT, "text/javascript") }),
            )
            .route(
                "/explorer.css",
                get(|| async { page_response(page::STYLE, "text/css") }),
            )
            .route("/api/runs", post(start))
            .route("/api/cancel", post(cancel))
            .layer(middleware::from_fn_with_state(Arc::clone(self), guard))
            .with_state(Arc::clone(self))
    }

    /// How many runs still have their thread going: 0 once every run has ended, each with every
    /// thread of its pool joined.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Makes `cancel` the run of `page`, cancelling the one it replaces.
    fn replace_run(&self, page: &str, cancel: &Arc<Cancel>) {
        if let Some(old) = self
            .lock_runs()
            .insert(page.to_string(), Arc::clone(cancel))
        {
            old.cancel("a new run started on this page");
        }
    }

    /// Forgets the run of `page` once it has ended, unless a newer run has replaced it.
    fn forget_run(&self, page: &str, cancel: &Arc<Cancel>) {
        let mut runs = self.lock_runs();
        if runs.get(page).is_some_and(|run| Arc::ptr_eq(run, cancel)) {
            runs.remove(page);
        }
    }

    /// The map of runs, even if a thread panicked while holding it: an insert or a remove cannot
    /// leave a map half-updated.
    fn lock_runs(&self) -> MutexGuard<'_, HashMap<String, Arc<Cancel>>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts a run as running, and its threads as taken, until dropped: made before the run's
/// thread starts, dropped when it ends (or with the thread's closure, if the thread never
/// starts).
struct Running {
    explorer: Arc<Explorer>,
    threads: usize,
}

impl Running {
    /// Takes `threads` for a run, if they fit under the explorer's limit.
    ///
    /// # Errors
    ///
    /// Returns the message for a run that does not fit.
    fn new(explorer: &Arc<Explorer>, threads: usize) -> Result<Self, String> {
        let limit = explorer.thread_limit;
        explorer
            .threads
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |taken| {
                taken.checked_add(threads).filter(|&total| total <= limit)
            })
            .map_err(|taken| {
                format!(
                    "error: this run's {threads} threads and the {taken} of the runs still going \
                     would be above the safety limit of {limit} threads at once (a cancelled \
                     run's threads end as their tasks end): try again in a moment, or ask for \
                     fewer threads"
                )
            })?;
        explorer.running.fetch_add(1, Ordering::SeqCst);
        Ok(Running {
            explorer: Arc::clone(explorer),
            threads,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let explorer = &self.explorer;
        explorer.running.fetch_sub(1, Ordering::SeqCst);
        explorer.threads.fetch_sub(self.threads, Ordering::SeqCst);
    }
}

/// What every refusal says.
#[derive(Debug, Serialize)]
struct Refusal {
    error: String,
}

/// A refusal with `status`, and `message` in JSON.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    let refusal = Refusal {
        error: message.into(),
    };
    (status, Json(refusal)).into_response()
}

/// Refuses, with a 403, any request whose `Host` or `Origin` is not this server's (see
/// [`crate::guard`]).
async fn guard(State(explorer): State<Arc<Explorer>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let checked =
        check_host(headers, explorer.port).and_then(|()| check_origin(headers, explorer.port));
    match checked {
        Ok(()) => next.run(request).await,
        Err(message) => refuse(StatusCode::FORBIDDEN, message),
    }
}

/// One of the page's files, never cached (a new build of the explorer serves a new page), with
/// the page's [`PAGE_POLICY`].
fn page_response(body: &'static str, content_type: &'static str) -> Response {
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        ),
    ];
    (headers, body).into_response()
}

/// Reads a JSON body of type `T`.
///
/// # Errors
///
/// A 415 if the body is not declared as JSON, a 400 if it is not a `T`.
fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Response> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let is_json = content_type.is_some_and(|value| {
        let essence = value.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json")
    });
    if !is_json {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "error: this request takes a JSON body, with Content-Type: application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|error| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("error: the body is not a request this explorer understands: {error}"),
        )
    })
}

/// `POST /api/runs`: checks the runs asked for, and that their threads fit beside those of the
/// runs still going; cancels the page's run if it has one going, starts these on a thread of
/// their own, and answers with their events as they happen (see
/// [`crate::stream`]). The run stops when the page closes the stream.
async fn start(State(explorer): State<Arc<Explorer>>, headers: HeaderMap, body: Bytes) -> Response {
    let request: RunRequest = match json_body(&headers, &body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let plans = match request.plans() {
        Ok(plans) => plans,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    // The runs of a request go one after the other: the largest is what they take at once.
    let threads = plans.iter().map(Plan::threads).max().unwrap_or(0);
    let running = match Running::new(&explorer, threads) {
        Ok(running) => running,
        Err(message) => return refuse(StatusCode::SERVICE_UNAVAILABLE, message),
    };
    let cancel = Arc::new(Cancel::default());
    explorer.replace_run(&request.page, &cancel);
    let (sender, notes) = mpsc::unbounded_channel();
    let outbox = Arc::new(Outbox::new(sender));
    let run = {
        let (explorer, cancel, page) = (Arc::clone(&explorer), Arc::clone(&cancel), request.page);
        move || {
            run_all(&plans, &cancel, &outbox);
            explorer.forget_run(&page, &cancel);
            drop(running);
        }
    };
    // The thread that submits the tasks, as `main` does in a demo: its lane is the submitter's.
    if let Err(error) = thread::Builder::new()
        .name("submitter".to_string())
        .spawn(run)
    {
        cancel.cancel("the run's thread could not start");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("error: the system refused to start the run's thread: {error}"),
        );
    }
    let events = stream::start(notes, cancel);
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// What `POST /api/cancel` answers.
#[derive(Debug, Serialize)]
struct Cancelled {
    /// Whether the page had a run going.
    cancelled: bool,
}

/// `POST /api/cancel`: cancels the run of the page, if it has one going.
async fn cancel(
    State(explorer): State<Arc<Explorer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: CancelRequest = match json_body(&headers, &body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    if let Err(message) = check_page(&request.page) {
        return refuse(StatusCode::BAD_REQUEST, message);
    }
    let run = explorer.lock_runs().get(&request.page).cloned();
    if let Some(run) = &run {
        run.cancel("cancelled from the page");
    }
    Json(Cancelled {
        cancelled: run.is_some(),
    })
    .into_response()
}
