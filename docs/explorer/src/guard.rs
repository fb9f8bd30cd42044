//! What keeps other web sites away from the explorer, which runs threads on the learner's laptop.
//!
//! The server listens on loopback only, so no other machine reaches it. A web page that the
//! learner opens from elsewhere still runs in a browser on this machine, and can try two ways in:
//!
//! - DNS rebinding: a site's name is made to resolve to 127.0.0.1, and its page then talks to the
//!   explorer as if the explorer were that site. Its requests still carry the site's name in
//!   `Host`, so [`check_host`] refuses any `Host` but this server's own names.
//! - A cross-site request: a page elsewhere posts to `http://127.0.0.1:7878`. The browser says
//!   where the request comes from in `Origin`, which [`check_origin`] refuses unless it is this
//!   server; and the requests that start or cancel a run take a JSON body, which a plain HTML
//!   form cannot send (see [`crate::server`]).

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};

/// The names this server answers to on `port`: `127.0.0.1`, `localhost` and `[::1]`, each with
/// the port.
fn own_hosts(port: u16) -> [String; 3] {
    ["127.0.0.1", "localhost", "[::1]"].map(|name| format!("{name}:{port}"))
}

/// Checks that the request's `Host` is one of this server's names on `port`.
///
/// # Errors
///
/// Returns the message for a request without a `Host`, or with another one.
pub fn check_host(headers: &HeaderMap, port: u16) -> Result<(), String> {
    let allowed = own_hosts(port);
    let Some(host) = headers.get(HOST) else {
        return Err("refused: the request has no Host header".to_string());
    };
    let host = host.to_str().unwrap_or_default();
    if allowed.iter().any(|own| own.eq_ignore_ascii_case(host)) {
        return Ok(());
    }
    Err(format!(
        "refused: the Host header is '{host}', and this explorer answers only to {} (a page of \
         another site cannot reach it by renaming itself, which is DNS rebinding)",
        allowed.join(", ")
    ))
}

/// Checks that the request's `Origin`, if it has one, is a page of this server on `port`.
/// Browsers send it with every request that could change something; a request without one came
/// from this server's own page or from a program that is not a browser.
///
/// # Errors
///
/// Returns the message for a request from another origin.
pub fn check_origin(headers: &HeaderMap, port: u16) -> Result<(), String> {
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let own = own_hosts(port).map(|host| format!("http://{host}"));
    if own.iter().any(|own| own.eq_ignore_ascii_case(origin)) {
        return Ok(());
    }
    Err(format!(
        "refused: this request comes from '{origin}', a page of another site; only this \
         explorer's own page may use it"
    ))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_servers_own_names_and_port_are_hosts() {
        for host in [
            "127.0.0.1:7878",
            "localhost:7878",
            "LOCALHOST:7878",
            "[::1]:7878",
        ] {
            assert_eq!(check_host(&headers(HOST, host), 7878), Ok(()), "{host}");
        }
        for host in [
            "evil.example:7878",
            "127.0.0.1:80",
            "127.0.0.1",
            "localhost.evil:7878",
        ] {
            let error = check_host(&headers(HOST, host), 7878).unwrap_err();
            assert!(error.contains("DNS rebinding"), "{host}: {error}");
        }
        assert!(check_host(&HeaderMap::new(), 7878).is_err());
    }

    #[test]
    fn only_the_servers_own_pages_are_origins() {
        assert_eq!(check_origin(&HeaderMap::new(), 7878), Ok(()));
        let own = headers(ORIGIN, "http://localhost:7878");
        assert_eq!(check_origin(&own, 7878), Ok(()));
        for origin in ["https://evil.example", "null", "http://127.0.0.1:7879"] {
            assert!(
                check_origin(&headers(ORIGIN, origin), 7878).is_err(),
                "{origin}"
            );
        }
    }
}
