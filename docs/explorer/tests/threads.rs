//! A hundred runs started and cancelled in a row leave no thread behind. Alone in its own test
//! binary, so that no other test starts or ends threads while it counts them.

mod common;

use common::{Events, eventually, explorer, json, request, send, start};

/// The threads of this process, where the system says how many: on Linux, `Threads:` in
/// `/proc/self/status`. Elsewhere `None`, and the test relies on [`explorer::Explorer::running`]
/// alone, which counts the runs whose thread, and so whose pool, has not ended.
fn threads() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|line| line.starts_with("Threads:"))?;
        line["Threads:".len()..].trim().parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[tokio::test]
async fn a_hundred_runs_started_and_cancelled_leave_no_thread_behind() {
    let (explorer, router) = explorer();
    // A first run, to completion: whatever the runtime or the libraries start once is started.
    let warm_up = r#"[{"stage":"03","tasks":"8","task":"sleep:1ms","workers":"4","queue":"4"}]"#;
    Events::new(start(&router, "warm-up", warm_up).await)
        .all()
        .await;
    assert!(eventually(5, || explorer.running() == 0).await);
    let before = threads();

    for round in 0..100 {
        // Every stage in turn, each with far more work than it gets to do.
        let stage = ["01", "02", "03", "04", "05"][round % 5];
        let pool = if stage == "01" {
            ""
        } else {
            r#","workers":"4","queue":"4""#
        };
        let pool = if stage == "02" {
            r#","workers":"4""#
        } else {
            pool
        };
        let runs = format!(r#"[{{"stage":"{stage}","tasks":"200","task":"sleep:1ms"{pool}}}]"#);
        let mut run = Events::new(start(&router, "page", &runs).await);
        run.until("run").await;
        if round % 2 == 0 {
            // A closed tab.
            drop(run);
        } else {
            let cancel = request("POST", "/api/cancel", r#"{"page":"page"}"#);
            let (status, _) = json(send(&router, cancel).await).await;
            assert!(status.is_success());
            run.all().await;
        }
    }

    assert!(
        eventually(10, || explorer.running() == 0).await,
        "{} runs still going",
        explorer.running()
    );
    if let Some(before) = before {
        // A thread that has ended its work may take a moment to be gone from the count.
        let settled = eventually(5, || threads().is_some_and(|now| now <= before)).await;
        assert!(
            settled,
            "{before} threads before the runs, {:?} after",
            threads()
        );
    }
}
