//! The `hamstr` command: run, check, mock and init YAML projects. See `hamstr --help`.

fn main() -> std::process::ExitCode {
    hamstr::cli::main()
}
