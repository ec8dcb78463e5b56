//! `binance-sim` binary: serve a scenario on 127.0.0.1 until SIGTERM/SIGINT.

use binance_sim::{spawn, Scenario, SimConfig, StrictConfig};
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "binance-sim",
    about = "Local simulator of the Binance Spot REST API"
)]
struct Args {
    /// Port on 127.0.0.1 (0 = a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Scenario JSON file (default: the built-in minimal scenario).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// /api REQUEST_WEIGHT limit per minute.
    #[arg(long, default_value_t = 6000)]
    weight_limit: u64,
    /// Write the chosen port to this file once listening.
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// Further requests answered 429 before a 418 ban.
    #[arg(long, default_value_t = 3)]
    ban_after_429s: u32,
    /// Strict mode: every switch unfavourable (README "Strict mode"). A
    /// scenario's own `strict` object still wins; `POST /__sim/strict`
    /// changes switches at runtime.
    #[arg(long)]
    strict: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let scenario = match &args.scenario {
        Some(p) => Some(Scenario::from_file(p)?),
        None => None,
    };
    let sim = spawn(SimConfig {
        weight_limit_per_minute: args.weight_limit,
        scenario,
        ban_after_429s: args.ban_after_429s,
        port: args.port,
        strict: if args.strict {
            StrictConfig::strict()
        } else {
            StrictConfig::default()
        },
    })
    .await?;
    println!("binance-sim listening on {}", sim.base_url());
    if let Some(pf) = &args.port_file {
        std::fs::write(pf, sim.addr.port().to_string())?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}
