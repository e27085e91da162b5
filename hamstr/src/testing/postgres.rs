//! A database of its own for each test, on a PostgreSQL server the tests are given.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The environment variable that names the server tests use, as a `postgres://` URL whose
/// user may create databases. `scripts/test-postgres start` starts one and prints it.
pub const POSTGRES_URL_VARIABLE: &str = "HAMSTR_TEST_POSTGRES_URL";

/// Makes a new, empty database on the server [`POSTGRES_URL_VARIABLE`] names and returns its URL
/// (the same URL, with the database's name in place of the one it had).
///
/// Each call makes another database (`hamstr_{hint}_{pid}_{n}`), so tests running at once never
/// see each other's tables. They are not dropped: the server is a throw-away one.
///
/// # Errors
/// When the variable is unset (the message says how to start a server), or the server cannot
/// be reached or refuses to make the database.
pub async fn scratch_database(hint: &str) -> Result<String, std::io::Error> {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let url = std::env::var(POSTGRES_URL_VARIABLE).map_err(|_| {
        std::io::Error::other(format!(
            "{POSTGRES_URL_VARIABLE} is not set: the PostgreSQL tests need a server. Run the tests with \
             `scripts/test`, or start one with `eval \"$(scripts/test-postgres start)\"`"
        ))
    })?;
    let name = format!(
        "hamstr_{}_{}_{}",
        hint.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(24)
            .collect::<String>()
            .to_ascii_lowercase(),
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    );
    let failed = |error: tokio_postgres::Error| {
        std::io::Error::other(format!(
            "making test database {name}: {}",
            crate::text::chain(&error)
        ))
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map_err(failed)?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(failed)?;
    drop(client);
    let _ = connection.await;
    let (address, query) = url.split_once('?').unwrap_or((&url, ""));
    let server = address
        .rsplit_once('/')
        .filter(|(server, _)| server.ends_with(|c: char| c != '/'))
        .map_or(address, |(server, _)| server);
    Ok(match query {
        "" => format!("{server}/{name}"),
        query => format!("{server}/{name}?{query}"),
    })
}
