//! HMAC-SHA256 request signing, as Binance checks it.
//!
//! The signed payload is the query string *as sent on the wire*
//! (percent-encoded) concatenated, without separator, with the request body,
//! minus the `signature` parameter itself. Parameter order is the client's
//! own: nothing is re-sorted or re-encoded, so any client that signs the
//! bytes it sends (python-binance sorts its parameters; ccxt puts
//! `timestamp` first) verifies. The hex signature is case-insensitive.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Lower-case hex HMAC-SHA256 of `payload` under `secret`.
pub fn sign(secret: &str, payload: &str) -> String {
    match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(payload.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; this arm cannot run.
        Err(_) => String::new(),
    }
}

/// Constant-time check of a hex signature (any case).
pub fn verify(secret: &str, payload: &str, signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex.to_ascii_lowercase()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(payload.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// Removes every `signature=…` pair from a raw `a=1&b=2` string, keeping the
/// other pairs byte for byte and in order.
fn strip_signature(raw: &str) -> (String, Option<String>) {
    let mut sig = None;
    let kept: Vec<&str> = raw
        .split('&')
        .filter(|pair| {
            if let Some(v) = pair.strip_prefix("signature=") {
                sig = Some(v.to_string());
                false
            } else {
                true
            }
        })
        .collect();
    (kept.join("&"), sig)
}

/// The payload to verify and the signature the client sent, from the raw
/// query string and raw body. When the signature is in the query string the
/// body still counts, and vice versa.
pub fn payload_and_signature(raw_query: &str, raw_body: &str) -> (String, Option<String>) {
    let (q, sig_q) = strip_signature(raw_query);
    let (b, sig_b) = if raw_body.is_empty() {
        (String::new(), None)
    } else {
        strip_signature(raw_body)
    };
    (format!("{q}{b}"), sig_q.or(sig_b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_ascii_vector() {
        let s = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let p = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            sign(s, p),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
        assert!(verify(
            s,
            p,
            "C8DB56825AE71D6D79447849E617115F4A920FA2ACDCAB2B053C4B2838BD6B71"
        ));
    }

    #[test]
    fn mixed_query_and_body_concatenate_without_separator() {
        let (p, sig) = payload_and_signature("a=1&b=2", "c=3&signature=ff");
        assert_eq!(p, "a=1&b=2c=3");
        assert_eq!(sig.as_deref(), Some("ff"));
    }
}
