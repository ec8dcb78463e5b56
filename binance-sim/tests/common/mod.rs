//! Test helpers: spawn a simulator and talk to it like a Binance client.
#![allow(dead_code)]

use binance_sim::{spawn, RunningSim, Scenario, SimConfig};
use serde_json::Value;
use std::path::PathBuf;

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `shared/binance` is a sibling of the repository root.
pub fn shared_binance_dir() -> PathBuf {
    crate_dir().join("../../shared/binance")
}

pub fn scenario(name: &str) -> Scenario {
    Scenario::from_file(crate_dir().join("scenarios").join(name)).expect("scenario loads")
}

pub async fn start(scenario_name: &str, weight_limit: u64) -> (RunningSim, Client) {
    start_config(
        scenario_name,
        SimConfig {
            weight_limit_per_minute: weight_limit,
            ..SimConfig::default()
        },
    )
    .await
}

/// The sim with `config` (its scenario replaced by `scenario_name`) and a client signed
/// with the scenario's key.
pub async fn start_config(scenario_name: &str, config: SimConfig) -> (RunningSim, Client) {
    let sim = spawn(SimConfig {
        scenario: Some(scenario(scenario_name)),
        ..config
    })
    .await
    .expect("sim starts");
    let (key, secret) = if scenario_name.starts_with("demo") {
        ("demo-key", "demo-secret")
    } else {
        ("test-key", "test-secret")
    };
    let client = Client::new(&sim.base_url(), key, secret);
    (sim, client)
}

/// Start the `binance-sim` binary with `args`; returns the child and the URL of its first
/// stdout line.
pub fn spawn_binary(args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_binance-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("binance-sim listening on ")
        .expect("first line")
        .to_string();
    (child, url)
}

pub fn sign(secret: &str, payload: &str) -> String {
    binance_sim::signing::sign(secret, payload)
}

/// A response reduced to what tests look at.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    pub fn weight(&self) -> u64 {
        self.header("x-mbx-used-weight-1m")
            .expect("weight header")
            .parse()
            .expect("number")
    }
    pub fn code(&self) -> i64 {
        self.json()["code"].as_i64().expect("code")
    }
    pub fn msg(&self) -> String {
        self.json()["msg"].as_str().expect("msg").to_string()
    }
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub key: String,
    pub secret: String,
    pub http: reqwest::Client,
}

pub fn encode(params: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

impl Client {
    pub fn new(base: &str, key: &str, secret: &str) -> Self {
        Self {
            base: base.to_string(),
            key: key.to_string(),
            secret: secret.to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn server_time(&self) -> i64 {
        self.control_get("/__sim/state").await["server_time"]
            .as_i64()
            .expect("server_time")
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.expect("request sent");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        Resp {
            status,
            headers,
            text,
        }
    }

    /// Unsigned GET.
    pub async fn get(&self, path: &str, params: &[(&str, &str)]) -> Resp {
        let q = encode(params);
        let url = if q.is_empty() {
            format!("{}{}", self.base, path)
        } else {
            format!("{}{}?{}", self.base, path, q)
        };
        self.send(self.http.get(url)).await
    }

    /// Sends `query` verbatim (already encoded, signature included or not).
    pub async fn raw(&self, method: &str, path: &str, query: &str, key: Option<&str>) -> Resp {
        let url = format!("{}{}?{}", self.base, path, query);
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, url);
        if let Some(k) = key {
            rb = rb.header("X-MBX-APIKEY", k);
        }
        self.send(rb).await
    }

    /// A correctly signed request at server time, params in the query string.
    pub async fn signed(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Resp {
        let ts = self.server_time().await.to_string();
        let mut all: Vec<(&str, &str)> = params.to_vec();
        all.push(("timestamp", &ts));
        let q = encode(&all);
        let sig = sign(&self.secret, &q);
        self.raw(
            method,
            path,
            &format!("{q}&signature={sig}"),
            Some(&self.key),
        )
        .await
    }

    /// A signed request with params (and signature) in a form body.
    pub async fn signed_body(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Resp {
        let ts = self.server_time().await.to_string();
        let mut all: Vec<(&str, &str)> = params.to_vec();
        all.push(("timestamp", &ts));
        let body = encode(&all);
        let sig = sign(&self.secret, &body);
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let rb = self
            .http
            .request(m, format!("{}{}", self.base, path))
            .header("X-MBX-APIKEY", &self.key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("{body}&signature={sig}"));
        self.send(rb).await
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{}", self.base, path))
            .json(&body)
            .send()
            .await
            .expect("control request");
        let status = r.status();
        let v: Value = r.json().await.expect("control JSON");
        assert!(status.is_success(), "control {path} failed: {status} {v}");
        v
    }

    pub async fn control_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .expect("control request")
            .json()
            .await
            .expect("control JSON")
    }

    pub async fn balance(&self, asset: &str) -> (String, String) {
        let acct = self.signed("GET", "/api/v3/account", &[]).await.json();
        let b = acct["balances"]
            .as_array()
            .expect("balances")
            .iter()
            .find(|b| b["asset"] == asset)
            .cloned()
            .unwrap_or(serde_json::json!({"free": "0.00000000", "locked": "0.00000000"}));
        (
            b["free"].as_str().expect("free").into(),
            b["locked"].as_str().expect("locked").into(),
        )
    }
}

/// Moves the sim clock to 10 s into a fresh minute, so a test's weight
/// window cannot roll over while it runs.
pub async fn align_minute(c: &Client) {
    let now = c.server_time().await;
    let into = now.rem_euclid(60_000);
    c.control(
        "/__sim/clock",
        serde_json::json!({"advance_ms": 60_000 - into + 10_000}),
    )
    .await;
}
