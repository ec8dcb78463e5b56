//! Item encoding: every record survives encode -> decode exactly; money is an `N` with
//! the exact decimal text; malformed items are reported with their key.

mod store_support;

use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::domain::{CorrectionKind, Record};
use binance_account_sync::store::dynamo::item::{
    decode_audit, decode_record, encode_audit, encode_record,
};
use binance_account_sync::store::StoreError;
use store_support as s;

#[test]
fn every_record_kind_round_trips_exactly() {
    for r in s::every_kind(7) {
        let item = encode_record("ACCOUNT#a", &r).unwrap().item;
        assert_eq!(decode_record(&item).unwrap(), Some(r.clone()), "{item:?}");
    }
}

#[test]
fn money_is_stored_as_n_with_the_exact_decimal_text() {
    let r = Record::Balance(s::balance("BTC", "123456789.123456789", "0.00000001", 1));
    let item = encode_record("ACCOUNT#a", &r).unwrap().item;
    assert_eq!(
        item["free"],
        AttributeValue::N("123456789.123456789".into())
    );
    assert_eq!(item["locked"], AttributeValue::N("0.00000001".into()));
    assert_eq!(item["version"], AttributeValue::N("1".into()));
    assert_eq!(item["entity"], AttributeValue::S("balance".into()));
    assert_eq!(item["sk"], AttributeValue::S("BALANCE#BTC".into()));
}

#[test]
fn trailing_zeros_compare_equal_after_a_round_trip() {
    let r = Record::Balance(s::balance("USDT", "1.50", "100.000", 1));
    let mut item = encode_record("ACCOUNT#a", &r).unwrap().item;
    assert_eq!(item["free"], AttributeValue::N("1.5".into()));
    assert_eq!(item["locked"], AttributeValue::N("100".into()));
    // Whatever text the table hands back, the value is the same decimal.
    item.insert("free".into(), AttributeValue::N("1.500000".into()));
    let Some(Record::Balance(back)) = decode_record(&item).unwrap() else {
        panic!("not a balance")
    };
    assert_eq!(back.free, s::dec("1.50"));
    assert_eq!(back.locked, s::dec("100.000"));
    assert_eq!(Record::Balance(back), r);
}

#[test]
fn absent_optionals_are_absent_attributes() {
    let b = encode_record("ACCOUNT#a", &Record::Position(s::position("BTCUSDT", 1))).unwrap();
    assert!(!b.item.contains_key("exit_price"));
    assert!(!b.item.contains_key("closed_at"));
    assert_eq!(b.absent, vec!["exit_price", "closed_at"]);
}

#[test]
fn malformed_item_names_its_key() {
    let mut item = encode_record("ACCOUNT#a", &Record::Trade(s::trade("BTCUSDT", 5, 1)))
        .unwrap()
        .item;
    item.insert("qty".into(), AttributeValue::S("0.1".into()));
    match decode_record(&item) {
        Err(StoreError::Malformed { key, detail }) => {
            assert_eq!(key, "ACCOUNT#a|TRADE#BTCUSDT#00000000000000000005");
            assert!(detail.contains("qty must be N"), "{detail}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    item.remove("qty");
    assert!(matches!(
        decode_record(&item),
        Err(StoreError::Malformed { .. })
    ));
}

#[test]
fn item_whose_attributes_disagree_with_its_key_is_malformed() {
    let mut item = encode_record("ACCOUNT#a", &Record::Dust(s::dust("XRP", 1)))
        .unwrap()
        .item;
    item.insert("sk".into(), AttributeValue::S("DUST#ADA".into()));
    assert!(matches!(
        decode_record(&item),
        Err(StoreError::Malformed { .. })
    ));
}

/// The bot's own position items carry no entry flag: its entry is its own, not an
/// estimate (decoded unflagged, with no rest price).
#[test]
fn a_bot_position_without_the_entry_flag_decodes_as_its_own_entry() {
    let mut item = encode_record("ACCOUNT#a", &Record::Position(s::position("BTCUSDT", 3)))
        .unwrap()
        .item;
    item.remove("entry_partial");
    item.remove("entry_rest_price");
    let Some(Record::Position(p)) = decode_record(&item).unwrap() else {
        panic!("not a position")
    };
    assert_eq!((p.entry_partial, p.entry_rest_price), (false, None));
}

/// A trade item without `fee_unpriced` (the bot's, or one written before the attribute)
/// decodes as priced; a flagged one keeps its flag, and a priced one is stored without it.
#[test]
fn a_stored_trade_without_fee_unpriced_still_decodes_as_priced() {
    let priced = encode_record("ACCOUNT#a", &Record::Trade(s::trade("BTCUSDT", 5, 1))).unwrap();
    assert!(!priced.item.contains_key("fee_unpriced"));
    assert!(
        priced.absent.contains(&"fee_unpriced"),
        "a re-pricing REMOVEs it"
    );
    let Some(Record::Trade(t)) = decode_record(&priced.item).unwrap() else {
        panic!("not a trade")
    };
    assert!(!t.fee_unpriced);

    let flagged = binance_account_sync::domain::TradeRecord {
        fee_unpriced: true,
        ..s::trade("BTCUSDT", 6, 1)
    };
    let item = encode_record("ACCOUNT#a", &Record::Trade(flagged.clone()))
        .unwrap()
        .item;
    assert_eq!(item["fee_unpriced"], AttributeValue::Bool(true));
    assert_eq!(decode_record(&item).unwrap(), Some(Record::Trade(flagged)));
}

/// A checkpoint that waits before a fill and follows unpriced fees round-trips; one written
/// before these attributes decodes with neither.
#[test]
fn a_checkpoint_waiting_for_a_fee_price_round_trips_and_an_old_one_has_no_wait() {
    use binance_account_sync::domain::{Asset, FeeWait, UnpricedFee};
    let waiting = binance_account_sync::domain::CursorRecord {
        fee_wait: Some(FeeWait {
            trade_id: 42,
            runs: 2,
        }),
        fee_unpriced: vec![UnpricedFee {
            trade_id: 7,
            time: 1_700_000_012_345,
            asset: Asset::parse("BNB").unwrap(),
        }],
        ..s::cursor("BTCUSDT", 3)
    };
    let item = encode_record("ACCOUNT#a", &Record::Cursor(waiting.clone()))
        .unwrap()
        .item;
    assert_eq!(decode_record(&item).unwrap(), Some(Record::Cursor(waiting)));

    let old = encode_record("ACCOUNT#a", &Record::Cursor(s::cursor("BTCUSDT", 3))).unwrap();
    for name in ["fee_wait_trade_id", "fee_wait_runs", "fee_unpriced"] {
        assert!(!old.item.contains_key(name), "{name}");
    }
    let Some(Record::Cursor(c)) = decode_record(&old.item).unwrap() else {
        panic!("not a checkpoint")
    };
    assert_eq!((c.fee_wait, c.fee_unpriced.len()), (None, 0));
}

/// A checkpoint whose basis is the bot's fills says so; one written before bot-only
/// positions decodes as the account's, and a value it does not know is malformed, not
/// taken for either.
#[test]
fn a_checkpoint_says_whose_fills_its_basis_holds_and_an_old_one_holds_the_accounts() {
    use binance_account_sync::domain::PositionsOf;
    let bots = binance_account_sync::domain::CursorRecord {
        basis_of: PositionsOf::Bot,
        ..s::cursor("BTCUSDT", 3)
    };
    let mut item = encode_record("ACCOUNT#a", &Record::Cursor(bots.clone()))
        .unwrap()
        .item;
    assert_eq!(item["basis_of"], AttributeValue::S("bot".into()));
    assert_eq!(decode_record(&item).unwrap(), Some(Record::Cursor(bots)));
    item.remove("basis_of");
    let Some(Record::Cursor(old)) = decode_record(&item).unwrap() else {
        panic!("not a checkpoint")
    };
    assert_eq!(old.basis_of, PositionsOf::Account);
    item.insert("basis_of".into(), AttributeValue::S("owner".into()));
    let err = decode_record(&item).unwrap_err();
    assert!(err.to_string().contains("basis_of"), "{err}");
}

/// A checkpoint's order-history progress round-trips, its read time as an exact `N`; a
/// cleared read time is an absent attribute (an update removes it), and a checkpoint
/// written before the attribute existed decodes as never read (its next read reads the
/// order history).
#[test]
fn a_checkpoint_keeps_when_its_order_history_was_read_and_an_old_one_reads_it_next() {
    let read = binance_account_sync::domain::CursorRecord {
        orders_through: Some(9_000_000_001),
        orders_pending: true,
        orders_read_at: Some(1_700_000_012_345),
        ..s::cursor("BTCUSDT", 3)
    };
    let item = encode_record("ACCOUNT#a", &Record::Cursor(read.clone()))
        .unwrap()
        .item;
    assert_eq!(
        item["orders_read_at"],
        AttributeValue::N("1700000012345".into())
    );
    assert_eq!(
        decode_record(&item).unwrap(),
        Some(Record::Cursor(read.clone()))
    );

    let cleared = binance_account_sync::domain::CursorRecord {
        orders_read_at: None,
        ..read
    };
    let built = encode_record("ACCOUNT#a", &Record::Cursor(cleared)).unwrap();
    assert!(!built.item.contains_key("orders_read_at"));
    assert!(
        built.absent.contains(&"orders_read_at"),
        "{:?}",
        built.absent
    );

    let mut old = item;
    old.remove("orders_read_at");
    let Some(Record::Cursor(c)) = decode_record(&old).unwrap() else {
        panic!("not a checkpoint")
    };
    assert_eq!(
        (c.orders_through, c.orders_read_at),
        (Some(9_000_000_001), None)
    );
}

#[test]
fn items_that_are_not_records_are_skipped() {
    let mut item = encode_record("ACCOUNT#a", &Record::Dust(s::dust("XRP", 1)))
        .unwrap()
        .item;
    item.insert("sk".into(), AttributeValue::S("BOTCONFIG#main".into()));
    assert_eq!(decode_record(&item).unwrap(), None);
}

#[test]
fn audit_item_round_trips_the_correction() {
    let before = Record::Balance(s::balance("BTC", "1", "0", 3));
    let after = Record::Balance(s::balance("BTC", "0.99999999", "0", 4));
    let c = s::update(CorrectionKind::BalanceCorrected, before, after);
    let item = encode_audit("ACCOUNT#a", "AUDIT#0000000000001#r#0000", "r", 0, 1, &c).unwrap();
    assert_eq!(
        item["source"],
        AttributeValue::S("binance-account-sync".into())
    );
    assert_eq!(item["kind"], AttributeValue::S("balance_corrected".into()));
    let entry = decode_audit(&item).unwrap();
    assert_eq!(entry.correction, c);
    assert_eq!((entry.run_id.as_str(), entry.at), ("r", 1));
}

#[test]
fn unavailable_flow_kinds_round_trip_and_an_empty_set_is_removed_from_the_state_item() {
    use binance_account_sync::domain::{FlowKind, SyncState};
    use binance_account_sync::store::dynamo::item::{decode_state, encode_state_outcome};
    let state = SyncState {
        flow_kinds_unavailable: [FlowKind::SubAccountTransfer].into_iter().collect(),
        ..SyncState::default()
    };
    let out = encode_state_outcome(&state);
    assert_eq!(
        out.item["flow_kinds_unavailable"],
        AttributeValue::S("sub_account_transfer".into())
    );
    let mut item = out.item;
    item.insert("pk".into(), AttributeValue::S("ACCOUNT#a".into()));
    item.insert("sk".into(), AttributeValue::S("SYNC#STATE".into()));
    assert_eq!(
        decode_state(&item).unwrap().flow_kinds_unavailable,
        state.flow_kinds_unavailable
    );
    // Cleared (the kind reads again): the attribute is REMOVEd, not left behind.
    let cleared = encode_state_outcome(&SyncState::default());
    assert!(cleared.absent.contains(&"flow_kinds_unavailable"));
    assert!(!cleared.item.contains_key("flow_kinds_unavailable"));
}

#[test]
fn symbol_cache_keeps_sor_across_a_round_trip_and_a_cache_written_before_sor_is_refreshed() {
    use binance_account_sync::domain::{Asset, Symbol, SymbolCache, SymbolInfo};
    use binance_account_sync::store::dynamo::item::{decode_symbol_cache, encode_symbol_cache};
    use rust_decimal_macros::dec;
    let info = |name: &str, quote: &str, sor: bool| SymbolInfo {
        symbol: Symbol::parse(name).unwrap(),
        base: Asset::parse("BTC").unwrap(),
        quote: Asset::parse(quote).unwrap(),
        min_qty: dec!(0.00001),
        step_size: dec!(0.00001),
        min_notional: dec!(5),
        base_precision: 8,
        quote_precision: 8,
        sor,
    };
    let cache = SymbolCache {
        fetched_at: 7,
        symbols: [info("BTCUSDT", "USDT", true), info("BTCEUR", "EUR", false)]
            .into_iter()
            .map(|i| (i.symbol.clone(), i))
            .collect(),
    };
    let item = encode_symbol_cache("ACCOUNT#a", &cache).unwrap();
    assert_eq!(decode_symbol_cache(&item).unwrap(), cache);

    // An item saved before `sor` existed (no `layout`, no `sor` keys) reads as fetched at
    // 0: the next run refreshes it rather than reading every symbol outside SOR for a day.
    let mut old = item.clone();
    old.remove("layout");
    let AttributeValue::S(text) = &item["symbols"] else {
        panic!("symbols is a string attribute: {item:?}")
    };
    let stripped = text
        .replace(r#","sor":true"#, "")
        .replace(r#","sor":false"#, "");
    assert!(!stripped.contains("sor"), "{stripped}");
    old.insert("symbols".into(), AttributeValue::S(stripped));
    let decoded = decode_symbol_cache(&old).unwrap();
    assert!(decoded.symbols.values().all(|i| !i.sor));
    assert_eq!(decoded.fetched_at, 0, "stale: refreshed by the next run");
}
