//! The `hamstr` command: run, check, mock and init YAML projects. See `hamstr --help`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    hamstr::cli::main().await
}
