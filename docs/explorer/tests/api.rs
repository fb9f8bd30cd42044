//! The explorer's API, called in-process: what a run streams, what is refused, and how runs are
//! cancelled. Runs here are of `sleep:1ms` tasks, so that the whole file takes a second or two.

mod common;

use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpListener};

use axum::Router;
use axum::http::StatusCode;
use common::{Events, explorer, json, request, send, start, the, trace_events};
use explorer::Explorer;
use harness::record::trace::{self, Meaning, Phase, TraceEvent};

/// For each task, how many times it began and ended in the stream, and how many panics it had.
fn begins_and_ends(events: &[TraceEvent<'_>]) -> HashMap<usize, (usize, usize, usize)> {
    let mut tasks: HashMap<usize, (usize, usize, usize)> = HashMap::new();
    for event in events {
        match (event.meaning(), event.ph) {
            (Meaning::Task(task), Phase::Begin) => tasks.entry(task).or_default().0 += 1,
            (Meaning::Task(task), Phase::End) => tasks.entry(task).or_default().1 += 1,
            (Meaning::Panic(task), _) => tasks.entry(task).or_default().2 += 1,
            _ => {}
        }
    }
    tasks
}

fn count(value: &serde_json::Value) -> usize {
    value.as_u64().expect("a count") as usize
}

#[tokio::test]
async fn a_run_streams_one_start_and_one_end_per_task_and_its_counts_add_up() {
    let (_, router) = explorer();
    // A queue of 1 that is often full, under caller-runs: some tasks run on the submitter.
    let runs = r#"[{"stage":"03","tasks":"60","task":"sleep:1ms","workers":"2","queue":"1",
                    "policy":"caller-runs"}]"#;
    let events = Events::new(start(&router, "a", runs).await).all().await;
    let names: Vec<&str> = events.iter().map(|event| event.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"run"));
    assert_eq!(&names[names.len() - 2..], ["end", "done"]);

    let recorded = trace_events(&events, 0);
    let tasks = begins_and_ends(&recorded);
    assert_eq!(tasks.len(), 60, "every task started");
    assert!(
        tasks
            .values()
            .all(|&(begins, ends, _)| (begins, ends) == (1, 1))
    );
    let end = the(&events, "end", 0);
    let (completed, ran_in_caller) = (count(&end["completed"]), count(&end["ran_in_caller"]));
    assert_eq!(
        completed + count(&end["panicked"]) + count(&end["rejected"]),
        60
    );
    assert!(ran_in_caller > 0, "a queue of 1 was full at times: {end}");
    assert!(
        end["summary"]
            .as_str()
            .unwrap()
            .starts_with("summary: stage=03 tasks=60 completed=60 ")
    );
    assert!(
        end["trace"]["traceEvents"].is_array(),
        "the trace comes whole"
    );
    // The trace is the one the demo writes with --trace: the harness reads it strictly.
    let written = trace::read(&end["trace"].to_string()).unwrap();
    let spans = written
        .iter()
        .filter(|event| matches!(event.meaning(), Meaning::Task(_)))
        .count();
    assert_eq!(spans, 60);
}

#[tokio::test]
async fn panics_are_counted_and_a_dead_pool_ends_its_run_with_a_note() {
    let (_, router) = explorer();
    // Stage 05 catches every panic: tasks 0, 5, 10 and 15 panic, and the pool keeps its workers.
    let runs = r#"[{"stage":"05","tasks":"20","task":"sleep:1ms","workers":"2","queue":"2",
                    "panic_every":"5"},
                   {"stage":"04","tasks":"20","task":"sleep:1ms","workers":"1","queue":"0",
                    "panic_task":"0"}]"#;
    let events = Events::new(start(&router, "b", runs).await).all().await;

    let resilient = the(&events, "end", 0);
    assert_eq!(
        (
            count(&resilient["completed"]),
            count(&resilient["panicked"])
        ),
        (16, 4)
    );
    assert_eq!(resilient["active_workers"], 2);
    let panics = begins_and_ends(&trace_events(&events, 0))
        .values()
        .filter(|&&(_, _, panics)| panics == 1)
        .count();
    assert_eq!(panics, 4);

    // Stage 04: the panic kills the only worker, so the run stops submitting, says why, and
    // the server goes on.
    let results = the(&events, "end", 1);
    assert_eq!(count(&results["panicked"]), 1);
    let note = results["note"].as_str().unwrap();
    assert!(note.contains("were not submitted"), "{note}");
    let again = r#"[{"stage":"02","tasks":"4","task":"sleep:1ms","workers":"2"}]"#;
    let events = Events::new(start(&router, "b", again).await).all().await;
    assert_eq!(count(&the(&events, "end", 0)["completed"]), 4);
}

#[tokio::test]
async fn every_task_of_stage_04_is_accounted_for_lost_ones_included() {
    let (_, router) = explorer();
    // The only worker dies with task 0; the tasks queued behind it by then are lost with it, as
    // the demo reports them, and the rest are never submitted.
    let runs = r#"[{"stage":"04","tasks":"20","task":"sleep:1ms","workers":"1","queue":"4",
                    "panic_task":"0"}]"#;
    let events = Events::new(start(&router, "m", runs).await).all().await;
    let end = the(&events, "end", 0);
    let note = end["note"].as_str().unwrap();
    // Each of the numbers the note gives, in the line that contains `words`.
    let numbers = |words: &str| -> Vec<usize> {
        let line = note.lines().find(|line| line.contains(words));
        let line = line.unwrap_or_else(|| panic!("no line with '{words}': {note}"));
        line.split(|c: char| !c.is_ascii_digit())
            .filter_map(|number| number.parse().ok())
            .collect()
    };
    let first_not_submitted = numbers("were not submitted")[0];
    let lost = numbers("lost");
    // `5 tasks lost their results (0, 1, 2, 3, 4)`: how many, then which.
    assert_eq!(
        lost[1..],
        (0..first_not_submitted).collect::<Vec<_>>(),
        "{note}"
    );
    assert_eq!(lost[0], first_not_submitted, "{note}");
    assert_eq!((count(&end["completed"]), count(&end["panicked"])), (0, 1));
}

#[tokio::test]
async fn a_lost_results_note_goes_with_a_panic_that_only_kills_a_worker() {
    let (_, router) = explorer();
    let runs = r#"[{"stage":"04","tasks":"8","task":"sleep:1ms","workers":"2","queue":"2",
                    "panic_task":"3"}]"#;
    let events = Events::new(start(&router, "n", runs).await).all().await;
    let end = the(&events, "end", 0);
    assert_eq!(
        end["note"],
        "1 task lost its result (3): the task panicked, or no worker was left to run it, so its \
         value never came\nin this stage a panic kills its worker; stage 05 keeps the workers alive"
    );
}

#[tokio::test]
async fn bad_input_gets_a_400_with_the_line_the_demo_prints() {
    let (explorer, router) = explorer();
    for (runs, expected) in [
        (
            r#"[{"stage":"03","tasks":"0"}]"#,
            "error: invalid value '0' for '--tasks <N>': must be at least 1",
        ),
        (
            r#"[{"stage":"03","task":"gpu:1ms"}]"#,
            "error: invalid value 'gpu:1ms' for '--task <KIND:DURATION>'",
        ),
        (r#"[{"stage":"03","queue":-1}]"#, "'--queue <N>'"),
        (
            r#"[{"stage":"02","policy":"block"}]"#,
            "unexpected argument '--policy'",
        ),
        (r#"[{"stage":"03","tasks":"20000"}]"#, "cap of 10000 tasks"),
        (
            r#"[{"stage":"03","tasks":"1000","task":"sleep:1s"}]"#,
            "cap of 60 s",
        ),
        (r#"[{"stage":"09"}]"#, "unknown stage '09'"),
        (r#"[]"#, "1 or 2 runs"),
        (
            r#"[{"stage":"03","colour":"blue"}]"#,
            "unknown field `colour`",
        ),
    ] {
        let (status, body) = json(start(&router, "c", runs).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{runs}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(expected), "{runs}: {error}");
    }
    let (status, _) = json(send(&router, request("POST", "/api/runs", "{not json")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut form = request("POST", "/api/runs", "page=c");
    form.headers_mut().insert(
        "Content-Type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let (status, body) = json(send(&router, form).await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, _) = json(start(&router, "../etc", r#"[{"stage":"03"}]"#).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(explorer.running(), 0, "nothing refused was started");
}

#[tokio::test]
async fn a_foreign_host_or_origin_is_refused() {
    let (explorer, router) = explorer();
    let page = send(&router, request("GET", "/", "")).await;
    assert_eq!(page.status(), StatusCode::OK);

    for host in ["evil.example:7878", "127.0.0.1:7879", "localhost"] {
        let mut rebound = request("GET", "/", "");
        rebound.headers_mut().insert("Host", host.parse().unwrap());
        let (status, body) = json(send(&router, rebound).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{host}");
        assert!(body["error"].as_str().unwrap().contains("DNS rebinding"));
    }
    let runs = r#"{"page":"d","runs":[{"stage":"03"}]}"#;
    let mut cross_site = request("POST", "/api/runs", runs);
    cross_site
        .headers_mut()
        .insert("Origin", "https://evil.example".parse().unwrap());
    let (status, _) = json(send(&router, cross_site).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut own = request("POST", "/api/cancel", r#"{"page":"d"}"#);
    own.headers_mut()
        .insert("Origin", "http://localhost:7878".parse().unwrap());
    let (status, body) = json(send(&router, own).await).await;
    assert_eq!(
        (status, &body["cancelled"]),
        (StatusCode::OK, &false.into())
    );
    assert_eq!(explorer.running(), 0);
}

#[tokio::test]
async fn a_second_run_of_a_page_cancels_the_first() {
    let (explorer, router) = explorer();
    // A second or more of work on one worker, if it were left to run.
    let long = r#"[{"stage":"03","tasks":"200","task":"sleep:5ms","workers":"1","queue":"4"}]"#;
    let first = running(&router, "e", long).await;
    let short = r#"[{"stage":"02","tasks":"3","task":"sleep:1ms","workers":"1"}]"#;
    let second = Events::new(start(&router, "e", short).await).all().await;
    assert_eq!(count(&the(&second, "end", 0)["completed"]), 3);

    let rest = first.all().await;
    let end = the(&rest, "end", 0);
    assert_eq!(end["cancelled"], "a new run started on this page");
    assert!(count(&end["completed"]) < 200, "{end}");
    let cancelled = rest.iter().find(|event| event.name == "cancelled").unwrap();
    assert_eq!(cancelled.data["reason"], "a new run started on this page");
    // Another page's run is its own.
    let other = Events::new(start(&router, "f", short).await).all().await;
    assert!(the(&other, "end", 0)["cancelled"].is_null());
    assert!(common::eventually(5, || explorer.running() == 0).await);
}

#[tokio::test]
async fn a_run_is_cancelled_from_its_page_or_by_closing_its_stream() {
    let (explorer, router) = explorer();
    let long = r#"[{"stage":"05","tasks":"500","task":"sleep:5ms","workers":"2","queue":"2"}]"#;
    let run = running(&router, "g", long).await;
    let (status, body) =
        json(send(&router, request("POST", "/api/cancel", r#"{"page":"g"}"#)).await).await;
    assert_eq!((status, &body["cancelled"]), (StatusCode::OK, &true.into()));
    let rest = run.all().await;
    assert_eq!(the(&rest, "end", 0)["cancelled"], "cancelled from the page");

    // A closed tab: the stream is dropped, and with it the run.
    let run = running(&router, "h", long).await;
    drop(run);
    assert!(common::eventually(5, || explorer.running() == 0).await);
}

#[tokio::test]
async fn the_runs_going_at_once_keep_to_the_thread_limit_until_their_threads_end() {
    let explorer = Explorer::with_thread_limit(common::PORT, 6);
    let router = explorer.router();
    // 4 workers, busy for a second or more if left to run.
    let four = r#"[{"stage":"03","tasks":"200","task":"sleep:5ms","workers":"4","queue":"4"}]"#;
    let first = running(&router, "k", four).await;
    // Another page's 4 workers would make 8 threads at once.
    let (status, body) = json(start(&router, "l", four).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with("error: ") && error.contains("safety limit of 6 threads"),
        "{error}"
    );
    // 2 more fit.
    let two = r#"[{"stage":"02","tasks":"3","task":"sleep:1ms","workers":"2"}]"#;
    let events = Events::new(start(&router, "l", two).await).all().await;
    assert_eq!(count(&the(&events, "end", 0)["completed"]), 3);
    // Once the first run has ended, its page closed, its threads are free again.
    drop(first);
    assert!(common::eventually(5, || explorer.running() == 0).await);
    let short = r#"[{"stage":"03","tasks":"4","task":"sleep:1ms","workers":"4","queue":"4"}]"#;
    let events = Events::new(start(&router, "l", short).await).all().await;
    assert_eq!(count(&the(&events, "end", 0)["completed"]), 4);
}

#[tokio::test]
async fn a_port_in_use_is_an_error_that_names_the_flag() {
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let error = explorer::bind(port).await.unwrap_err();
    assert!(
        error.contains("in use") && error.contains("--port"),
        "{error}"
    );
    // Port 0 picks a free one, on loopback.
    let listener = explorer::bind(0).await.unwrap();
    assert!(listener.local_addr().unwrap().ip().is_loopback());
}

/// Starts `runs` from `page` and waits until their events flow, so that the run is under way.
async fn running(router: &Router, page: &str, runs: &str) -> Events {
    let mut events = Events::new(start(router, page, runs).await);
    events.until("events").await;
    events
}
