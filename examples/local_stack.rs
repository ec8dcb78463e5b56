//! Local-stack helper for `make demo` and manual testing (never part of the Lambda).
//!
//!   local_stack create-table        create $SYNC_TABLE_NAME from infra/table.json
//!   local_stack seed FILE           write the bot's records from FILE as the bot would
//!
//! Talks to whatever `AWS_ENDPOINT_URL` points at (the emulator).

use binance_account_sync::domain::{AccountId, Record};
use binance_account_sync::store::dynamo::{
    create_table_from_definition, DynamoStore, TableOptions,
};
use std::process::ExitCode;

#[derive(serde::Deserialize)]
struct SeedFile {
    account: String,
    records: Vec<Record>,
}

async fn run(args: &[String]) -> Result<(), String> {
    let table =
        std::env::var("SYNC_TABLE_NAME").map_err(|_| "SYNC_TABLE_NAME is not set".to_owned())?;
    let aws = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    match args.first().map(String::as_str) {
        Some("create-table") => {
            let definition =
                std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/infra/table.json"))
                    .map_err(|e| format!("infra/table.json: {e}"))?;
            let report = create_table_from_definition(
                &client,
                &table,
                &definition,
                TableOptions {
                    deletion_protection: Some(false),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            println!(
                "table {table} created ({} settings applied)",
                report.applied.len()
            );
            Ok(())
        }
        Some("seed") => {
            let path = args.get(1).ok_or("usage: local_stack seed FILE")?;
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let seed: SeedFile = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
            let account = AccountId::parse(seed.account).map_err(|e| e.to_string())?;
            let store = DynamoStore::new(client, table);
            for record in seed.records {
                store
                    .put_bot_record(&account, record)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            println!("seeded the bot's records for account {account}");
            Ok(())
        }
        _ => Err("usage: local_stack create-table | seed FILE".to_owned()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local_stack: {e}");
            ExitCode::FAILURE
        }
    }
}
