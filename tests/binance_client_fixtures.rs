//! Every shared Binance fixture parses exactly into the domain types (no server).

use binance_account_sync::domain::{
    Asset, Fill, Flow, FlowKind, FlowLeg, FlowStatus, LegRole, OrderStatus, Side, Symbol, Wallet,
};
use binance_account_sync::exchange::binance::model::{
    parse_body, ErrorBody, WireAccount, WireDeposit, WireExchangeInfo, WireOrder, WireServerTime,
    WireTrade, WireWithdrawal,
};
use binance_account_sync::exchange::ExchangeError;
use rust_decimal_macros::dec;
use std::path::{Path, PathBuf};

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/binance")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(shared(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> T {
    match parse_body::<T>(body) {
        Ok(v) => v,
        Err(e) => panic!("parse failed: {e:?}"),
    }
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}
fn asset(s: &str) -> Asset {
    Asset::parse(s).unwrap()
}

#[test]
fn account_fixture_maps_balances_exactly() {
    let a = parse::<WireAccount>(&bytes("account.json"))
        .into_domain("/api/v3/account")
        .unwrap();
    assert_eq!(a.update_time, 123_456_789);
    assert_eq!(a.balances.len(), 2);
    assert_eq!(a.balances[0].asset, asset("BTC"));
    assert_eq!(a.balances[0].free, dec!(4723846.89208129));
    assert_eq!(a.balances[0].locked, dec!(0));
    assert_eq!(a.balances[1].asset, asset("LTC"));
    assert_eq!(a.balances[1].free, dec!(4763368.68006011));
}

fn check_doc_order(o: &binance_account_sync::domain::ExchangeOrder) {
    assert_eq!(o.symbol, sym("LTCBTC"));
    assert_eq!(o.order_id, 1);
    assert_eq!(o.client_order_id, "myOrder1");
    assert_eq!(o.side, Side::Buy);
    assert_eq!(o.order_type, "LIMIT");
    assert_eq!(o.price, dec!(0.1));
    assert_eq!(o.orig_qty, dec!(1.0));
    assert_eq!(o.executed_qty, dec!(0));
    assert_eq!(o.cumulative_quote_qty, dec!(0));
    assert_eq!(o.status, OrderStatus::New);
    assert_eq!(o.time, 1_499_827_319_559);
    assert_eq!(o.update_time, 1_499_827_319_559);
}

#[test]
fn order_open_orders_and_all_orders_fixtures_parse() {
    let o = parse::<WireOrder>(&bytes("order.json"))
        .into_domain("/api/v3/order")
        .unwrap();
    check_doc_order(&o);
    for f in ["openOrders.json", "allOrders.json"] {
        let list = parse::<Vec<WireOrder>>(&bytes(f));
        assert_eq!(list.len(), 1, "{f}");
        for w in list {
            check_doc_order(&w.into_domain(f).unwrap());
        }
    }
}

#[test]
fn my_trades_fixture_parses() {
    let list = parse::<Vec<WireTrade>>(&bytes("myTrades.json"));
    let f = list
        .into_iter()
        .next()
        .unwrap()
        .into_domain("/api/v3/myTrades")
        .unwrap();
    assert_eq!(f.symbol, sym("BNBBTC"));
    assert_eq!(f.trade_id, 28457);
    assert_eq!(f.order_id, 100_234);
    assert_eq!(f.side, Side::Buy);
    assert_eq!(f.price, dec!(4.00000100));
    assert_eq!(f.qty, dec!(12));
    assert_eq!(f.quote_qty, dec!(48.000012));
    assert_eq!(f.commission, dec!(10.1));
    assert_eq!(f.commission_asset, asset("BNB"));
    assert_eq!(f.time, 1_499_865_549_590);
    assert!(!f.is_maker);
}

#[test]
fn exchange_info_fixture_gives_lot_size_notional_and_precisions() {
    let info = parse::<WireExchangeInfo>(&bytes("exchangeInfo-excerpt.json"));
    assert_eq!(info.symbols.len(), 1);
    let s = info
        .symbols
        .into_iter()
        .next()
        .unwrap()
        .into_domain("/api/v3/exchangeInfo")
        .unwrap();
    assert_eq!(s.symbol, sym("ETHBTC"));
    assert_eq!(s.base, asset("ETH"));
    assert_eq!(s.quote, asset("BTC"));
    assert_eq!(s.min_qty, dec!(0.001));
    assert_eq!(s.step_size, dec!(0.001));
    assert_eq!(s.min_notional, dec!(10));
    assert_eq!(s.base_precision, 8);
    assert_eq!(s.quote_precision, 8);
}

/// This repository's own copies of Binance's response examples (`tests/fixtures/binance`,
/// each one's source in its README).
fn own_fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/binance")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The `sors[]` symbol names of an exchangeInfo body, read straight from the JSON.
fn sors_listed(body: &[u8]) -> std::collections::BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["sors"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["symbols"].as_array().unwrap().iter())
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn exchange_info_sample_marks_exactly_the_symbols_its_sors_lists_as_sor() {
    let body = bytes("exchangeInfo-excerpt.json");
    let listed = sors_listed(&body);
    // The sample's SOR is BTC's; its one symbol, ETHBTC, is in none.
    assert_eq!(
        listed,
        ["BTCUSDC", "BTCUSDT"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    let infos = parse::<WireExchangeInfo>(&body)
        .into_domain("/api/v3/exchangeInfo")
        .unwrap();
    assert_eq!(infos.len(), 1, "a symbol only sors names is not invented");
    for i in &infos {
        assert_eq!(i.sor, listed.contains(i.symbol.as_str()), "{}", i.symbol);
    }
    assert!(!infos[0].sor);

    // The same sample with ETHBTC listed under an SOR: it, and nothing else, is marked.
    let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["sors"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"baseAsset": "ETH", "symbols": ["ETHBTC", "ETHUSDT"]}));
    let body = serde_json::to_vec(&v).unwrap();
    let infos = parse::<WireExchangeInfo>(&body)
        .into_domain("/api/v3/exchangeInfo")
        .unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].symbol, sym("ETHBTC"));
    assert!(infos[0].sor);
}

#[test]
fn exchange_info_without_sors_or_with_null_sors_marks_nothing_sor() {
    let symbol = r#"{"symbol":"BTCUSDT","baseAsset":"BTC","quoteAsset":"USDT","baseAssetPrecision":8,
        "quoteAssetPrecision":8}"#;
    for tail in ["", r#","sors":null"#, r#","sors":[]"#] {
        let body = format!(r#"{{"symbols":[{symbol}]{tail}}}"#);
        let infos = parse::<WireExchangeInfo>(body.as_bytes())
            .into_domain("x")
            .unwrap();
        assert!(!infos[0].sor, "{tail}");
    }
}

#[test]
fn docs_my_allocations_example_parses_into_a_buy_fill_keyed_by_its_allocation_id() {
    let rows = parse::<Vec<WireTrade>>(&own_fixture("myAllocations.json"));
    let fills: Vec<Fill> = rows
        .into_iter()
        .map(|r| r.into_domain("/api/v3/myAllocations").unwrap())
        .collect();
    assert_eq!(
        fills,
        vec![Fill {
            symbol: sym("BTCUSDT"),
            trade_id: 0,
            order_id: 1,
            side: Side::Buy,
            price: dec!(1.00000000),
            qty: dec!(5.00000000),
            quote_qty: dec!(5.00000000),
            commission: dec!(0.00000000),
            commission_asset: asset("BTC"),
            time: 1_687_506_878_118,
            is_maker: false,
        }]
    );
    // Exact decimals: the docs' text, scale and all.
    assert_eq!(fills[0].price.to_string(), "1.00000000");
}

#[test]
fn allocation_of_a_seller_and_maker_maps_side_and_maker_and_keeps_big_decimals_exact() {
    let body = r#"[{"symbol":"BTCUSDT","allocationId":"9007199254740993","allocationType":"SOR",
        "orderId":12,"orderListId":-1,"price":"60000.12345678","qty":"0.00000001",
        "quoteQty":"0.00060000","commission":"0.00000060","commissionAsset":"USDT",
        "time":"1700000000000","isBuyer":false,"isMaker":true,"isAllocator":false}]"#;
    let f = parse::<Vec<WireTrade>>(body.as_bytes())
        .into_iter()
        .next()
        .unwrap()
        .into_domain("/api/v3/myAllocations")
        .unwrap();
    assert_eq!(f.trade_id, 9_007_199_254_740_993);
    assert_eq!((f.side, f.is_maker), (Side::Sell, true));
    assert_eq!(f.price, dec!(60000.12345678));
    assert_eq!(f.commission_asset, asset("USDT"));
    assert_eq!(f.time, 1_700_000_000_000);
}

#[test]
fn malformed_allocations_are_a_shape_failure_or_malformed_naming_the_endpoint() {
    use binance_account_sync::exchange::binance::model::ParseFailure;
    // A missing allocationId, a qty that is no number, a negative id.
    for row in [
        r#"{"symbol":"BTCUSDT","orderId":1,"price":"1","qty":"1","quoteQty":"1","commission":"0",
            "commissionAsset":"BTC","time":1,"isBuyer":true,"isMaker":false}"#,
        r#"{"symbol":"BTCUSDT","allocationId":0,"orderId":1,"price":"1","qty":"SECRETVALUE",
            "quoteQty":"1","commission":"0","commissionAsset":"BTC","time":1,"isBuyer":true,
            "isMaker":false}"#,
        r#"{"symbol":"BTCUSDT","allocationId":-1,"orderId":1,"price":"1","qty":"1","quoteQty":"1",
            "commission":"0","commissionAsset":"BTC","time":1,"isBuyer":true,"isMaker":false}"#,
    ] {
        match parse_body::<Vec<WireTrade>>(format!("[{row}]").as_bytes()) {
            Err(ParseFailure::Shape(d)) => assert!(!d.contains("SECRETVALUE"), "{d}"),
            other => panic!("expected a shape failure, got {other:?}"),
        }
    }
    // Well-typed but unusable: an empty commission asset.
    let body = r#"[{"symbol":"BTCUSDT","allocationId":0,"orderId":1,"price":"1","qty":"1",
        "quoteQty":"1","commission":"0","commissionAsset":"","time":1,"isBuyer":true,
        "isMaker":false}]"#;
    let row = parse::<Vec<WireTrade>>(body.as_bytes()).remove(0);
    match row.into_domain("/api/v3/myAllocations") {
        Err(ExchangeError::Malformed { endpoint, detail }) => {
            assert_eq!(endpoint, "/api/v3/myAllocations");
            assert!(detail.contains("asset"), "{detail}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn exchange_info_without_notional_filter_has_zero_min_notional_and_old_min_notional_is_read() {
    let body = r#"{"symbols":[{"symbol":"AB","baseAsset":"A","quoteAsset":"B","baseAssetPrecision":8,
        "quotePrecision":6,"filters":[{"filterType":"LOT_SIZE","minQty":"1","stepSize":"0.1","maxQty":"9"}]},
        {"symbol":"１２３","baseAsset":"１","quoteAsset":"B","baseAssetPrecision":2,"quoteAssetPrecision":4,
        "filters":[{"filterType":"MIN_NOTIONAL","minNotional":"5.5"}],"futureField":{"x":1}}]}"#;
    let info = parse::<WireExchangeInfo>(body.as_bytes());
    let mut it = info
        .symbols
        .into_iter()
        .map(|s| s.into_domain("x").unwrap());
    let a = it.next().unwrap();
    assert_eq!(
        (a.min_qty, a.step_size, a.min_notional, a.quote_precision),
        (dec!(1), dec!(0.1), dec!(0), 6)
    );
    let b = it.next().unwrap();
    assert_eq!(b.symbol, sym("１２３"));
    assert_eq!(
        (b.min_qty, b.min_notional, b.quote_precision),
        (dec!(0), dec!(5.5), 4)
    );
}

#[test]
fn deposit_fixture_parses_as_a_credited_spot_deposit() {
    let list = parse::<Vec<WireDeposit>>(&bytes("deposit-hisrec.json"));
    let d = list.into_iter().next().unwrap().into_domain("dep").unwrap();
    assert_eq!(
        d,
        Flow {
            kind: FlowKind::Deposit,
            id: "769800519366885376".into(),
            time: 1_661_493_146_000,
            status: FlowStatus::Done,
            exchange_status: "1".into(),
            completed_at: Some(1_661_493_146_000),
            legs: vec![FlowLeg {
                asset: asset("BNB"),
                wallet: Wallet::Spot,
                amount: dec!(0.001),
                role: LegRole::Principal,
            }],
            whole_seconds: false,
        }
    );
}

/// The recorded withdrawal left the Funding wallet (`walletType: 1`): it moved no Spot
/// balance, and its fee is a leg of its own.
#[test]
fn withdraw_fixture_parses_amount_fee_funding_wallet_and_utc_times() {
    let list = parse::<Vec<WireWithdrawal>>(&bytes("withdraw-history.json"));
    let w = list.into_iter().next().unwrap().into_domain("wd").unwrap();
    let leg = |amount, role| FlowLeg {
        asset: asset("USDT"),
        wallet: Wallet::Funding,
        amount,
        role,
    };
    assert_eq!(
        w,
        Flow {
            kind: FlowKind::Withdrawal,
            id: "b6ae22b3aa844210a7041aee7589627c".into(),
            // "2019-10-12 11:12:02" UTC
            time: 1_570_878_722_000,
            status: FlowStatus::Done,
            exchange_status: "6".into(),
            // "2023-03-23 16:52:41" UTC
            completed_at: Some(1_679_590_361_000),
            legs: vec![
                leg(dec!(-8.91), LegRole::Principal),
                leg(dec!(-0.004), LegRole::Fee)
            ],
            whole_seconds: true,
        }
    );
}

#[test]
fn time_fixture_parses() {
    assert_eq!(
        parse::<WireServerTime>(&bytes("time.json")).server_time,
        1_499_827_319_559
    );
}

#[test]
fn every_error_body_and_documented_code_parses_verbatim() {
    let v: serde_json::Value = serde_json::from_slice(&bytes("error-examples.json")).unwrap();
    let bodies = v["verbatim_error_bodies"].as_array().unwrap();
    assert!(!bodies.is_empty());
    for b in bodies {
        let raw = serde_json::to_vec(&b["body"]).unwrap();
        let e = parse::<ErrorBody>(&raw);
        assert_eq!(e.code, b["body"]["code"].as_i64().unwrap());
        assert_eq!(e.msg, b["body"]["msg"].as_str().unwrap());
    }
    let codes = v["messages_by_code_from_errors_md"].as_array().unwrap();
    for c in codes {
        for m in c["messages"].as_array().unwrap() {
            let raw = serde_json::json!({"code": c["code"], "msg": m});
            let e = parse::<ErrorBody>(&serde_json::to_vec(&raw).unwrap());
            assert_eq!(e.code, c["code"].as_i64().unwrap());
            assert_eq!(e.msg, m.as_str().unwrap());
        }
    }
}

fn ccxt_case(method: &str) -> Vec<u8> {
    let v: serde_json::Value =
        serde_json::from_slice(&bytes("ccxt-static/response-spot.json")).unwrap();
    let cases = v["methods"][method]
        .as_array()
        .unwrap_or_else(|| panic!("no {method}"));
    serde_json::to_vec(&cases[0]["httpResponse"]).unwrap()
}

#[test]
fn ccxt_recorded_order_with_string_ids_parses() {
    let o = parse::<WireOrder>(&ccxt_case("fetchOrder"))
        .into_domain("o")
        .unwrap();
    assert_eq!(o.symbol, sym("LTCUSDT"));
    assert_eq!(o.order_id, 3_397_148_653);
    assert_eq!(o.order_type, "MARKET");
    assert_eq!(o.side, Side::Sell);
    assert_eq!(o.price, dec!(0));
    assert_eq!(o.executed_qty, dec!(0.1));
    assert_eq!(o.cumulative_quote_qty, dec!(9.08));
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.time, 1_679_571_174_472);
    assert_eq!(o.avg_price(), Some(dec!(90.8)));
}

#[test]
fn ccxt_recorded_open_orders_and_orders_parse() {
    let open = parse::<Vec<WireOrder>>(&ccxt_case("fetchOpenOrders"));
    let o = open.into_iter().next().unwrap().into_domain("o").unwrap();
    assert_eq!(
        (o.order_id, o.order_type.as_str(), o.status.clone()),
        (3_811_057_334, "LIMIT_MAKER", OrderStatus::New)
    );
    assert_eq!(o.price, dec!(50));
    assert_eq!(o.orig_qty, dec!(0.2));
    let all = parse::<Vec<WireOrder>>(&ccxt_case("fetchOrders"));
    let o = all.into_iter().next().unwrap().into_domain("o").unwrap();
    assert_eq!(o.order_id, 3_854_801_792);
    assert_eq!(o.status, OrderStatus::Canceled);
    assert_eq!(o.update_time, 1_706_883_268_013);
}

#[test]
fn ccxt_recorded_trade_parses_as_taker_sell() {
    let t = parse::<Vec<WireTrade>>(&ccxt_case("fetchMyTrades"));
    let f = t.into_iter().next().unwrap().into_domain("t").unwrap();
    assert_eq!(f.trade_id, 309_520_010);
    assert_eq!(f.order_id, 3_784_695_242);
    assert_eq!(f.side, Side::Sell);
    assert!(!f.is_maker);
    assert_eq!(f.price, dec!(69.63));
    assert_eq!(f.qty, dec!(0.2));
    assert_eq!(f.quote_qty, dec!(13.926));
    assert_eq!(f.commission, dec!(0.013926));
    assert_eq!(f.commission_asset, asset("USDT"));
    assert_eq!(f.time, 1_698_138_992_358);
}

#[test]
fn ccxt_recorded_balance_parses_and_drops_zero_balances() {
    let a = parse::<WireAccount>(&ccxt_case("fetchBalance"))
        .into_domain("a")
        .unwrap();
    assert_eq!(a.update_time, 1_701_856_395_927);
    let got: Vec<_> = a
        .balances
        .iter()
        .map(|b| (b.asset.as_str().to_owned(), b.free, b.total()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("LTC".to_owned(), dec!(0.919741), dec!(0.919741)),
            ("ETH".to_owned(), dec!(0.02229833), dec!(0.02229833))
        ]
    );
}

#[test]
fn unknown_status_is_kept_and_numbers_accepted_for_money() {
    let body = r#"{"symbol":"ÄBC","orderId":7,"clientOrderId":"c","price":0.25,"origQty":2,"executedQty":"1e-1",
        "cummulativeQuoteQty":"-1.00000000","status":"SOMETHING_NEW","type":"FUTURE_TYPE","side":"SELL",
        "time":"5","updateTime":6,"expiryReason":"NONE"}"#;
    let o = parse::<WireOrder>(body.as_bytes())
        .into_domain("o")
        .unwrap();
    assert_eq!(o.symbol, sym("ÄBC"));
    assert_eq!(o.status, OrderStatus::Other("SOMETHING_NEW".into()));
    assert_eq!(o.order_type, "FUTURE_TYPE");
    assert_eq!(
        (o.price, o.orig_qty, o.executed_qty),
        (dec!(0.25), dec!(2), dec!(0.1))
    );
    assert_eq!(o.avg_price(), None);
}

#[test]
fn malformed_bodies_are_classified_without_echoing_the_body() {
    use binance_account_sync::exchange::binance::model::ParseFailure;
    match parse_body::<WireServerTime>(br#"{"serverTime": 12"#) {
        Err(ParseFailure::Syntax(d)) => assert!(!d.contains("serverTime")),
        other => panic!("expected syntax failure, got {other:?}"),
    }
    match parse_body::<WireAccount>(
        br#"{"updateTime": 1, "balances": [{"asset":"BTC","free":"SECRETVALUE","locked":"0"}]}"#,
    ) {
        Err(ParseFailure::Shape(d)) => assert!(!d.contains("SECRETVALUE"), "{d}"),
        other => panic!("expected shape failure, got {other:?}"),
    }
}

// The ledger endpoints' documented response examples (docs/ledger-endpoints.md, copied
// from Binance's pages), parsed exactly.

#[test]
fn convert_trade_flow_example_parses_with_its_big_order_id_exact() {
    use binance_account_sync::exchange::binance::model::WireConvertPage;
    let body = br#"{"list":[{"quoteId":"f3b91c525b2644c7bc1e1cd31b6e1aa6","orderId":940708407462087195,
        "orderStatus":"SUCCESS","fromAsset":"USDT","fromAmount":"20","toAsset":"BNB",
        "toAmount":"0.06154036","ratio":"0.00307702","inverseRatio":"324.99","createTime":1624248872184}],
        "startTime":1623824139000,"endTime":1626416139000,"limit":100,"moreData":false}"#;
    let page = parse::<WireConvertPage>(body);
    let flow = page
        .list
        .into_iter()
        .next()
        .unwrap()
        .into_domain("convert")
        .unwrap();
    let spot = |a: &str, amount| FlowLeg {
        asset: asset(a),
        wallet: Wallet::Spot,
        amount,
        role: LegRole::Principal,
    };
    assert_eq!(
        flow,
        Flow {
            kind: FlowKind::Convert,
            id: "940708407462087195".into(),
            time: 1_624_248_872_184,
            status: FlowStatus::Done,
            exchange_status: "SUCCESS".into(),
            completed_at: None,
            legs: vec![spot("USDT", dec!(-20)), spot("BNB", dec!(0.06154036))],
            whole_seconds: false,
        }
    );
}

#[test]
fn dust_log_example_parses_as_one_conversion_with_its_charge_as_a_fee() {
    use binance_account_sync::exchange::binance::model::WireDustLog;
    let body = br#"{"total":8,"userAssetDribblets":[{"operateTime":1615985535000,
        "totalTransferedAmount":"0.00132256","totalServiceChargeAmount":"0.00002699",
        "transId":45178372831,"userAssetDribbletDetails":[{"transId":4359321,
        "serviceChargeAmount":"0.000009","amount":"0.0009","operateTime":1615985535000,
        "transferedAmount":"0.000441","fromAsset":"USDT","targetAsset":"BNB"}]}]}"#;
    let log = parse::<WireDustLog>(body);
    let flow = log
        .user_asset_dribblets
        .into_iter()
        .next()
        .unwrap()
        .into_domain("dust")
        .unwrap();
    let leg = |a: &str, amount, role| FlowLeg {
        asset: asset(a),
        wallet: Wallet::Spot,
        amount,
        role,
    };
    assert_eq!(
        (flow.kind, flow.id.as_str(), flow.time, flow.status),
        (
            FlowKind::DustConversion,
            "45178372831",
            1_615_985_535_000,
            FlowStatus::Done
        )
    );
    assert_eq!(
        flow.legs,
        vec![
            leg("USDT", dec!(-0.0009), LegRole::Principal),
            leg("BNB", dec!(0.000441), LegRole::Principal),
            leg("BNB", dec!(-0.000009), LegRole::Fee),
        ]
    );
}

#[test]
fn asset_dividend_example_parses_one_flow_per_row_by_the_rows_own_id() {
    use binance_account_sync::exchange::binance::model::WireDividendPage;
    let body = br#"{"rows":[{"id":1637366104,"amount":"10.00000000","asset":"BHFT","divTime":1563189166000,
        "enInfo":"BHFT distribution","tranId":2968885920,"direction":1},
        {"id":1631750237,"amount":"10.00000000","asset":"BHFT","divTime":1563189165000,
        "enInfo":"BHFT distribution","tranId":2968885920,"direction":1}],"total":2}"#;
    let flows: Vec<Flow> = parse::<WireDividendPage>(body)
        .rows
        .into_iter()
        .map(|r| r.into_domain("dividend").unwrap())
        .collect();
    assert_eq!(
        flows.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        vec!["1637366104", "1631750237"],
        "tranId repeats across a batch: the row id keys it"
    );
    assert_eq!(flows[0].legs[0].amount, dec!(10));
    assert_eq!(flows[0].legs[0].asset, asset("BHFT"));
    assert_eq!(flows[0].kind, FlowKind::Distribution);
}

fn leg(a: &str, wallet: Wallet, amount: rust_decimal::Decimal) -> FlowLeg {
    FlowLeg {
        asset: asset(a),
        wallet,
        amount,
        role: LegRole::Principal,
    }
}

/// The `LD<asset>` Spot balance an Earn move may show as (never documented either way).
fn mirror(a: &str, amount: rust_decimal::Decimal) -> FlowLeg {
    FlowLeg {
        role: LegRole::Mirror,
        ..leg(a, Wallet::Spot, amount)
    }
}

#[test]
fn universal_transfer_example_parses_as_spot_out_and_usdm_futures_in_keyed_by_type() {
    use binance_account_sync::exchange::binance::model::{WireRowsPage, WireTransfer};
    let body = br#"{"total":2,"rows":[{"asset":"USDT","amount":"1","type":"MAIN_UMFUTURE",
        "status":"CONFIRMED","tranId":11415955596,"timestamp":1544433328000}]}"#;
    let page = parse::<WireRowsPage<WireTransfer>>(body);
    assert_eq!(page.total, Some(2));
    let flow = page
        .rows
        .into_iter()
        .next()
        .unwrap()
        .into_domain("transfer")
        .unwrap();
    assert_eq!(
        flow,
        Flow {
            kind: FlowKind::Transfer,
            id: "MAIN_UMFUTURE:11415955596".into(),
            time: 1_544_433_328_000,
            status: FlowStatus::Done,
            exchange_status: "CONFIRMED".into(),
            completed_at: None,
            legs: vec![
                leg("USDT", Wallet::Spot, dec!(-1)),
                leg("USDT", Wallet::UsdmFutures, dec!(1)),
            ],
            whole_seconds: false,
        }
    );
}

#[test]
fn transfer_types_name_their_wallets_even_with_underscores_inside_a_wallet_name() {
    use binance_account_sync::exchange::binance::model::transfer_wallets;
    assert_eq!(
        transfer_wallets("PORTFOLIO_MARGIN_MAIN"),
        Some((Wallet::Other, Wallet::Spot))
    );
    assert_eq!(
        transfer_wallets("MAIN_PORTFOLIO_MARGIN"),
        Some((Wallet::Spot, Wallet::Other))
    );
    assert_eq!(
        transfer_wallets("FUNDING_MAIN"),
        Some((Wallet::Funding, Wallet::Spot))
    );
    assert_eq!(transfer_wallets("MAIN_MOON"), None);
}

#[test]
fn an_empty_transfer_page_may_omit_rows() {
    use binance_account_sync::exchange::binance::model::{WireRowsPage, WireTransfer};
    let page = parse::<WireRowsPage<WireTransfer>>(br#"{"total":0}"#);
    assert!(page.rows.is_empty());
}

#[test]
fn earn_subscription_example_splits_its_amount_by_wallet_as_its_amt_fields_say() {
    use binance_account_sync::exchange::binance::model::{WireEarnSubscription, WireRowsPage};
    // The docs' example verbatim: `sourceAccount` SPOT beside a 30/70 split.
    let body = br#"{"rows":[{"amount":"100.00000000","asset":"USDT","time":1575018510000,
        "purchaseId":26055,"productId":"USDT001","type":"AUTO","sourceAccount":"SPOT",
        "amtFromSpot":"30","amtFromFunding":"70","status":"SUCCESS"}],"total":1}"#;
    let row = parse::<WireRowsPage<WireEarnSubscription>>(body)
        .rows
        .into_iter()
        .next()
        .unwrap();
    let flow = row.into_domain("sub").unwrap();
    assert_eq!(
        flow,
        Flow {
            kind: FlowKind::EarnSubscription,
            id: "26055".into(),
            time: 1_575_018_510_000,
            status: FlowStatus::Done,
            exchange_status: "SUCCESS".into(),
            completed_at: None,
            legs: vec![
                leg("USDT", Wallet::Spot, dec!(-30)),
                leg("USDT", Wallet::Funding, dec!(-70)),
                mirror("LDUSDT", dec!(100)),
                leg("USDT", Wallet::Earn, dec!(100)),
            ],
            whole_seconds: false,
        }
    );
}

#[test]
fn earn_subscription_still_purchasing_is_followed_and_one_from_spot_leaves_spot_only() {
    use binance_account_sync::exchange::binance::model::WireEarnSubscription;
    let body = br#"{"amount":"5","asset":"BTC","time":1,"purchaseId":7,"productId":"BTC001",
        "type":"NORMAL","sourceAccount":"SPOT","status":"PURCHASING"}"#;
    let flow = parse::<WireEarnSubscription>(body)
        .into_domain("sub")
        .unwrap();
    assert_eq!(flow.status, FlowStatus::Pending);
    assert_eq!(
        flow.legs,
        vec![
            leg("BTC", Wallet::Spot, dec!(-5)),
            mirror("LDBTC", dec!(5)),
            leg("BTC", Wallet::Earn, dec!(5))
        ]
    );
}

#[test]
fn earn_redemption_example_parses_as_earn_out_and_spot_in() {
    use binance_account_sync::exchange::binance::model::{WireEarnRedemption, WireRowsPage};
    let body = br#"{"rows":[{"amount":"10.54000000","asset":"USDT","time":1577257222000,
        "projectId":"USDT001","redeemId":40607,"destAccount":"SPOT","status":"PAID"}],"total":1}"#;
    let flow = parse::<WireRowsPage<WireEarnRedemption>>(body)
        .rows
        .into_iter()
        .next()
        .unwrap()
        .into_domain("red")
        .unwrap();
    assert_eq!(
        flow,
        Flow {
            kind: FlowKind::EarnRedemption,
            id: "40607".into(),
            time: 1_577_257_222_000,
            status: FlowStatus::Done,
            exchange_status: "PAID".into(),
            completed_at: None,
            legs: vec![
                mirror("LDUSDT", dec!(-10.54)),
                leg("USDT", Wallet::Earn, dec!(-10.54)),
                leg("USDT", Wallet::Spot, dec!(10.54)),
            ],
            whole_seconds: false,
        }
    );
}

#[test]
fn earn_subscription_from_spot_and_funding_with_one_part_given_takes_the_rest_from_the_other() {
    use binance_account_sync::exchange::binance::model::WireEarnSubscription;
    let body = br#"{"amount":"100","asset":"USDT","time":1,"purchaseId":8,
        "sourceAccount":"SPOTANDFUNDING","amtFromFunding":"70","status":"SUCCESS"}"#;
    let flow = parse::<WireEarnSubscription>(body)
        .into_domain("sub")
        .unwrap();
    assert_eq!(
        flow.legs[..2],
        [
            leg("USDT", Wallet::Spot, dec!(-30)),
            leg("USDT", Wallet::Funding, dec!(-70))
        ]
    );
}

/// Binance's Simple Earn pages: real-time APR rewards accrue in the Earn wallet, bonus
/// tiered APR rewards are distributed to the Spot wallet.
#[test]
fn earn_rewards_example_real_time_into_earn_and_bonus_into_spot_with_distinct_ids() {
    use binance_account_sync::exchange::binance::model::{WireEarnReward, WireRowsPage};
    let body = br#"{"rows":[{"asset":"BUSD","rewards":"0.00006408","projectId":"USDT001",
        "type":"BONUS","time":1577233578000},{"asset":"USDT","rewards":"0.00687654",
        "projectId":"USDT001","type":"REALTIME","time":1577233562000}],"total":2}"#;
    let flows: Vec<Flow> = parse::<WireRowsPage<WireEarnReward>>(body)
        .rows
        .into_iter()
        .map(|r| r.into_domain("rewards").unwrap())
        .collect();
    assert_eq!(
        flows.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        vec![
            "BONUS:USDT001:BUSD:1577233578000",
            "REALTIME:USDT001:USDT:1577233562000"
        ]
    );
    assert_eq!(
        flows[1].legs,
        vec![
            mirror("LDUSDT", dec!(0.00687654)),
            leg("USDT", Wallet::Earn, dec!(0.00687654))
        ]
    );
    assert_eq!(
        flows[0].legs,
        vec![leg("BUSD", Wallet::Spot, dec!(0.00006408))]
    );
    assert!(flows
        .iter()
        .all(|f| f.kind == FlowKind::EarnReward && f.status == FlowStatus::Done));
}

/// The response example of "Sub-account Transfer History (For Sub-account)"
/// (developers.binance.com/docs/sub_account/asset-management/Sub-account-Transfer-History),
/// as the page prints it, its `//` comments included.
const SUB_ACCOUNT_TRANSFER_EXAMPLE: &str = r#"[
  {
    "counterParty":"master",
    "email":"master@test.com",
    "type":1,  // 1 for transfer in, 2 for transfer out
    "asset":"BTC",
    "qty":"1",
    "fromAccountType":"SPOT",
    "toAccountType":"SPOT",
    "status":"SUCCESS", // status: PROCESS / SUCCESS / FAILURE
    "tranId":11798835829,
    "time":1544433325000
  },
  {
    "counterParty":"subAccount",
    "email":"sub2@test.com",
    "type":1,
    "asset":"ETH",
    "qty":"2",
    "fromAccountType":"SPOT",
    "toAccountType":"COIN_FUTURE",
    "status":"SUCCESS",
    "tranId":11798829519,
    "time":1544433326000
  }
]"#;

/// The page's comments are not JSON (the exchange never sends them): cut from `//` to
/// the end of each line. No value in the example holds `//`.
fn without_line_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sub_account_transfer_example_parses_as_this_accounts_side_in_spot_or_another_wallet() {
    use binance_account_sync::exchange::binance::model::WireSubAccountTransfer;
    let body = without_line_comments(SUB_ACCOUNT_TRANSFER_EXAMPLE);
    let rows = parse::<Vec<WireSubAccountTransfer>>(body.as_bytes());
    let flows: Vec<Flow> = rows
        .into_iter()
        .map(|r| r.into_domain("subUserHistory").unwrap())
        .collect();
    assert_eq!(
        flows[0],
        Flow {
            kind: FlowKind::SubAccountTransfer,
            id: "IN:11798835829".into(),
            time: 1_544_433_325_000,
            status: FlowStatus::Done,
            exchange_status: "SUCCESS".into(),
            completed_at: None,
            // Only this account's side: the master's Spot is not ours.
            legs: vec![leg("BTC", Wallet::Spot, dec!(1))],
            whole_seconds: false,
        }
    );
    // Into this account's COIN-M futures wallet: a wallet the sync does not follow, so it
    // explains nothing in Spot.
    assert_eq!(flows[1].id, "IN:11798829519");
    assert_eq!(flows[1].legs, vec![leg("ETH", Wallet::Other, dec!(2))]);
}

#[test]
fn sub_account_transfers_out_debit_the_from_wallet_and_map_every_documented_status() {
    use binance_account_sync::exchange::binance::model::WireSubAccountTransfer;
    let row = |status: &str, from: &str| {
        let body = format!(
            r#"{{"counterParty":"master","email":"master@test.com","type":2,"asset":"USDT",
            "qty":"12.5","fromAccountType":"{from}","toAccountType":"SPOT","status":"{status}",
            "tranId":7,"time":1544433325000}}"#
        );
        parse::<WireSubAccountTransfer>(body.as_bytes())
            .into_domain("subUserHistory")
            .unwrap()
    };
    let out = row("SUCCESS", "USDT_FUTURE");
    assert_eq!(out.id, "OUT:7", "out and in never share an id");
    assert_eq!(
        out.legs,
        vec![leg("USDT", Wallet::UsdmFutures, dec!(-12.5))]
    );
    assert_eq!(row("PROCESS", "SPOT").status, FlowStatus::Pending);
    assert_eq!(row("FAILURE", "SPOT").status, FlowStatus::Failed);
    assert_eq!(
        row("SUCCESS", "SPOT").legs,
        vec![leg("USDT", Wallet::Spot, dec!(-12.5))]
    );
    assert_eq!(row("SUCCESS", "MARGIN").legs[0].wallet, Wallet::Other);
}
