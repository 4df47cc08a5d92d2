use std::process::ExitCode;

fn main() -> ExitCode {
    oauthprobe::cli::main()
}
