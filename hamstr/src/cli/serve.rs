//! `hamstr run --admin`: the app runs with its admin server beside it, until Ctrl-C or SIGTERM.

use std::{net::SocketAddr, path::Path, process::ExitCode};

use crate::{
    admin::{Admin, TOKEN_VARIABLE},
    app::{Hamstr, shutdown_signal},
    config::AdminConfig,
    secret::Secret,
};

/// The admin server to serve: `--admin` over the file's `admin:`; the token from `admin.token`,
/// else from the environment. `None` when neither asks for one.
pub(super) fn admin_of(
    flag: Option<SocketAddr>,
    file: Option<AdminConfig>,
) -> Result<Option<Admin>, String> {
    let (listen, token) = match (flag, file) {
        (None, None) => return Ok(None),
        (Some(listen), file) => (listen, file.and_then(|file| file.token)),
        (None, Some(file)) => (file.listen, file.token),
    };
    let token = match token {
        Some(token) => Some(token),
        None => match Secret::from_env(TOKEN_VARIABLE) {
            Ok(token) if !token.expose().is_empty() => Some(token),
            _ => None,
        },
    };
    let admin = Admin::new(listen);
    Ok(Some(match token {
        Some(token) => admin.token(token),
        None => admin,
    }))
}

/// Starts the app, then its admin server; stops both on Ctrl-C or SIGTERM (the app first, so
/// that its last runs can still be watched).
pub(super) async fn run_serving(app: Hamstr, admin: Admin, file: &Path) -> ExitCode {
    let signal = match shutdown_signal() {
        Ok(signal) => signal,
        Err(error) => {
            super::report_error(&error);
            return ExitCode::FAILURE;
        }
    };
    // The address first: a server that cannot start stops the run before any request.
    let listening = match admin.listen().await {
        Ok(listening) => listening,
        Err(error) => {
            super::report_error_text(&error.to_string());
            return ExitCode::from(2);
        }
    };
    let mut handle = match app.start().await {
        Ok(handle) => handle,
        Err(error) => {
            super::report_start_error(&error, file);
            return ExitCode::FAILURE;
        }
    };
    let server = listening.serve(handle.control());
    announce(&server.url());
    signal.await;
    tracing::info!("shutting down: runs in progress store what they have");
    handle.stop().await;
    server.stop().await;
    ExitCode::SUCCESS
}

/// Where the status page is, on stderr whatever the log level: with `--admin 127.0.0.1:0` it is
/// how a script learns the port.
#[allow(clippy::print_stderr)]
fn announce(url: &str) {
    eprintln!("admin: {url}");
}
