//! Request signatures, as Binance checks them: HMAC-SHA256 (hex, any case)
//! for a key registered with a secret; Ed25519 or RSASSA-PKCS1-v1_5 with
//! SHA-256 (base64, case-sensitive) for a key registered with a public key.
//!
//! The signed payload is the query string *as sent on the wire*
//! (percent-encoded) concatenated, without separator, with the request body,
//! minus the `signature` parameter itself. Parameter order is the client's
//! own: nothing is re-sorted or re-encoded, so any client that signs the
//! bytes it sends (python-binance sorts its parameters; ccxt puts
//! `timestamp` first) verifies. The hex signature is case-insensitive; a
//! base64 one arrives percent-encoded and is checked after form decoding, so
//! a client that leaves `+` unencoded (decoded as a space) is refused, as
//! Binance asks for the encoding.

use crate::scenario::ApiKeySpec;
use aws_lc_rs::signature::{UnparsedPublicKey, ED25519, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use rustls_pki_types::pem::{PemObject, SectionKind};

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

/// How one API key's signatures are checked.
#[derive(Clone)]
pub enum Verifier {
    /// The shared secret.
    Hmac(String),
    /// The public key's X.509 `SubjectPublicKeyInfo` DER.
    Ed25519(Vec<u8>),
    /// The public key's X.509 `SubjectPublicKeyInfo` DER.
    Rsa(Vec<u8>),
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verifier::Hmac(_) => "Hmac(..)",
            Verifier::Ed25519(_) => "Ed25519(..)",
            Verifier::Rsa(_) => "Rsa(..)",
        })
    }
}

// DER of id-Ed25519 (1.3.101.112) and rsaEncryption (1.2.840.113549.1.1.1).
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const RSA_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl Verifier {
    /// A scenario key: exactly one of `secret` and `public_key`.
    pub fn from_spec(spec: &ApiKeySpec) -> Result<Verifier, String> {
        match (&spec.secret, &spec.public_key) {
            (Some(secret), None) => Ok(Verifier::Hmac(secret.clone())),
            (None, Some(pem)) => Verifier::from_public_key_pem(pem)
                .map_err(|why| format!("api key {:?}: public_key {why}", spec.key)),
            (Some(_), Some(_)) => Err(format!(
                "api key {:?} has both secret and public_key (HMAC or Ed25519/RSA, not both)",
                spec.key
            )),
            (None, None) => Err(format!(
                "api key {:?} needs a secret (HMAC) or a public_key (Ed25519/RSA PEM)",
                spec.key
            )),
        }
    }

    /// An Ed25519 or RSA `-----BEGIN PUBLIC KEY-----` PEM, as uploaded to
    /// Binance; the kind is read from the key's algorithm.
    pub fn from_public_key_pem(pem: &str) -> Result<Verifier, String> {
        let (kind, der) = <(SectionKind, Vec<u8>)>::from_pem_slice(pem.as_bytes())
            .map_err(|_| "is not a PEM block".to_string())?;
        if kind != SectionKind::PublicKey {
            return Err("is not a PUBLIC KEY block".into());
        }
        if contains(&der, ED25519_OID) {
            // Checks the key parses now rather than at the first request.
            aws_lc_rs::signature::ParsedPublicKey::new(&ED25519, &der)
                .map_err(|_| "is not a valid Ed25519 public key".to_string())?;
            Ok(Verifier::Ed25519(der))
        } else if contains(&der, RSA_OID) {
            aws_lc_rs::signature::ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &der)
                .map_err(|_| "is not a valid RSA public key (2048 to 8192 bits)".to_string())?;
            Ok(Verifier::Rsa(der))
        } else {
            Err("is neither Ed25519 nor RSA".into())
        }
    }

    /// Checks `signature` (as form-decoded from the request) over `payload`.
    pub fn verify(&self, payload: &str, signature: &str) -> bool {
        match self {
            Verifier::Hmac(secret) => verify(secret, payload, signature),
            Verifier::Ed25519(der) | Verifier::Rsa(der) => {
                let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature) else {
                    return false;
                };
                let alg: &dyn aws_lc_rs::signature::VerificationAlgorithm =
                    if matches!(self, Verifier::Ed25519(_)) {
                        &ED25519
                    } else {
                        &RSA_PKCS1_2048_8192_SHA256
                    };
                UnparsedPublicKey::new(alg, der)
                    .verify(payload.as_bytes(), &sig)
                    .is_ok()
            }
        }
    }
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
