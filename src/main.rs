//! One binary: the Lambda function when the Lambda runtime API is present, the local CLI
//! otherwise. Both build the same App and call the same service function.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return match binance_account_sync::lambda::run_lambda().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lambda runtime stopped: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // Usage errors exit 2 (as JSON with `--json`); `--help` and `--version` exit 0.
    let cli = binance_account_sync::cli::parse_or_exit();
    binance_account_sync::cli::run(cli).await
}
