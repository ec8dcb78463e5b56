//! Request signing. Binance checks the signature over the *exact percent-encoded bytes* it
//! receives (enforced since 2026-01-15, FACTS §3.2), so we encode once, sign that string,
//! and put that same string on the wire with `signature` appended last. The key type
//! (HMAC, Ed25519, RSA) changes only the signature's form (`exchange::keys`); a base64
//! signature is percent-encoded like any other value (`+`, `/`, `=`).

use crate::exchange::keys::SigningKey;

/// Percent-encode `key=value` pairs joined by `&`, in the given order.
///
/// Uses `application/x-www-form-urlencoded` byte serialization: unreserved ASCII is kept,
/// everything else (including UTF-8 of non-ASCII symbols and the `[",]` of JSON-array
/// parameters) becomes `%XX` with upper-case hex, which is what the official vectors use.
pub fn encode_query<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(url::form_urlencoded::byte_serialize(k.as_ref().as_bytes()));
        out.push('=');
        out.extend(url::form_urlencoded::byte_serialize(v.as_ref().as_bytes()));
    }
    out
}

/// The signature of `query` concatenated (no separator, per the docs) with `body`: hex
/// for HMAC, base64 for Ed25519 and RSA. For our GET requests `body` is empty.
pub fn sign(key: &SigningKey, query: &str, body: &str) -> String {
    let mut payload = Vec::with_capacity(query.len() + body.len());
    payload.extend_from_slice(query.as_bytes());
    payload.extend_from_slice(body.as_bytes());
    key.sign(&payload)
}

/// The query to send: the encoded parameters with `signature` appended last, itself
/// percent-encoded (a no-op for hex; base64's `+` would otherwise arrive as a space).
pub fn signed_query(key: &SigningKey, encoded: &str) -> String {
    let signature: String =
        url::form_urlencoded::byte_serialize(sign(key, encoded, "").as_bytes()).collect();
    if encoded.is_empty() {
        format!("signature={signature}")
    } else {
        format!("{encoded}&signature={signature}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn vectors() -> serde_json::Value {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/binance/hmac-test-vector.json");
        let text = std::fs::read_to_string(&path).expect("read hmac-test-vector.json");
        serde_json::from_str(&text).expect("parse hmac-test-vector.json")
    }

    fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
        v[key].as_str().unwrap_or_else(|| panic!("missing {key}"))
    }

    #[test]
    fn official_vectors_all_match() {
        let file = vectors();
        let secret = &SigningKey::hmac(str_of(&file, "secretKey"));
        let list = file["vectors"].as_array().expect("vectors");
        assert_eq!(list.len(), 3, "the file holds three official vectors");
        for v in list {
            let name = str_of(v, "name");
            let expected_sig = str_of(v, "signature");
            if let Some(params) = v["params"].as_object() {
                // Encode the raw (possibly non-ASCII) parameters ourselves, in the order of
                // the official payload (JSON object order is not guaranteed by serde_json).
                let pairs: Vec<(String, String)> = str_of(v, "payload")
                    .split('&')
                    .map(|kv| kv.split('=').next().expect("key").to_owned())
                    .map(|k| {
                        let raw = params[&k].as_str().expect("string param").to_owned();
                        (k, raw)
                    })
                    .collect();
                assert_eq!(pairs.len(), params.len(), "{name}: every parameter used");
                let encoded = encode_query(&pairs);
                assert_eq!(encoded, str_of(v, "payload"), "{name}: encoded payload");
                assert_eq!(
                    sign(secret, &encoded, ""),
                    expected_sig,
                    "{name}: signature"
                );
                let url = format!(
                    "https://api.binance.com{}?{}",
                    str_of(v, "path"),
                    signed_query(secret, &encoded)
                );
                assert_eq!(url, str_of(v, "curl_url"), "{name}: wire URL");
            } else {
                let (q, b) = (str_of(v, "query_string"), str_of(v, "request_body"));
                assert_eq!(format!("{q}{b}"), str_of(v, "payload"), "{name}: payload");
                assert_eq!(sign(secret, q, b), expected_sig, "{name}: signature");
            }
        }
    }

    #[test]
    fn base64_signature_is_percent_encoded_last_in_the_query() {
        let test = binance_sim::testkeys::TestKey::ed25519();
        let key = SigningKey::from_pem(&test.private_pem).expect("Ed25519 PEM");
        // Find a payload whose signature has `+` or `/` (base64), then check the wire form.
        let (encoded, raw) = (0..200)
            .map(|n| encode_query(&[("timestamp", format!("{}", 1_700_000_000_000u64 + n))]))
            .map(|q| {
                let s = sign(&key, &q, "");
                (q, s)
            })
            .find(|(_, s)| s.contains('+') || s.contains('/'))
            .expect("some signature has + or /");
        let query = signed_query(&key, &encoded);
        let wire = query
            .strip_prefix(&format!("{encoded}&signature="))
            .expect("signature last");
        assert!(!wire.contains(['+', '/', '=']), "{wire}");
        let decoded: String = url::form_urlencoded::parse(format!("s={wire}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(decoded, raw);
        assert_eq!(decoded, test.sign(&encoded));
    }

    #[test]
    fn json_array_parameter_is_percent_encoded() {
        let q = encode_query(&[("symbols", r#"["BTCUSDT","ETHBTC"]"#)]);
        assert_eq!(q, "symbols=%5B%22BTCUSDT%22%2C%22ETHBTC%22%5D");
    }
}
