//! The signing half of a Binance API key: an HMAC secret, or a PEM private key (Ed25519 or
//! RSA) whose public half was registered with Binance.
//!
//! Binance signs the same payload for every key type (the percent-encoded query string
//! concatenated with the body, FACTS §3.2); only the signature differs: HMAC-SHA256 in
//! hex, Ed25519 in base64, RSASSA-PKCS1-v1_5 with SHA-256 in base64 (SD rest-api.md,
//! "SIGNED Endpoint Examples"). The kind is read from the key itself, never configured.
//!
//! The crypto is aws-lc-rs, the library rustls already links into the binary for TLS, so
//! these key types add no code of their own to the Lambda and RSA signing is constant-time.
//! Nothing here formats, logs or returns key material; errors name what is wrong, never
//! the content.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use rustls_pki_types::pem::{PemObject, SectionKind};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;

/// Which kind of API key signs the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Hmac,
    Ed25519,
    Rsa,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hmac => "HMAC",
            Self::Ed25519 => "Ed25519",
            Self::Rsa => "RSA",
        })
    }
}

/// Why a `private_key` PEM cannot sign. Never carries any of the key's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateKeyError {
    #[error("the private_key is not PEM (expected a -----BEGIN PRIVATE KEY----- block)")]
    NotPem,
    #[error(
        "the private_key is on one line with literal \\n sequences; store the PEM with real \
         line breaks (\\n in the JSON string, not \\\\n)"
    )]
    EscapedNewlines,
    #[error(
        "the private_key is encrypted; store it unencrypted (Secrets Manager already encrypts \
         the secret at rest)"
    )]
    Encrypted,
    #[error(
        "the private_key's PEM block is {0}, not a private key (expected PRIVATE KEY for \
         Ed25519 or RSA, or RSA PRIVATE KEY)"
    )]
    NotAPrivateKey(&'static str),
    #[error("the private_key's PEM block is damaged (bad base64 or no END line)")]
    Unreadable,
    #[error(
        "the private_key is neither Ed25519 nor RSA (Binance accepts Ed25519, RSA and HMAC \
         API keys)"
    )]
    UnsupportedAlgorithm,
    #[error(
        "the private_key is not a valid {0} private key (RSA keys must be 2048 to 8192 bits; \
         Binance issues 2048 or 4096)"
    )]
    Invalid(KeyKind),
}

/// What signs: kept parsed, so a PEM is read once per secret fetch, not per request.
#[derive(Clone)]
pub enum SigningKey {
    Hmac(SecretString),
    Ed25519(Arc<Ed25519KeyPair>),
    Rsa(Arc<RsaKeyPair>),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, redacted)", self.kind())
    }
}

// DER of the algorithm OIDs a PKCS#8 `PrivateKeyInfo` names: id-Ed25519 (1.3.101.112) and
// rsaEncryption (1.2.840.113549.1.1.1). Used only to say which key failed to parse.
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const RSA_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl SigningKey {
    /// An HMAC secret, as Binance hands it out.
    pub fn hmac(secret: impl Into<String>) -> Self {
        Self::Hmac(SecretString::from(secret.into()))
    }

    /// A PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`, Ed25519 or RSA, told apart by the
    /// key's algorithm) or PKCS#1 (`BEGIN RSA PRIVATE KEY`). Encrypted keys are refused
    /// by name rather than failing as "unreadable".
    pub fn from_pem(pem: &str) -> Result<Self, PrivateKeyError> {
        // `openssl pkcs8 -topk8 -v2 …` and `openssl genpkey -aes256` write ENCRYPTED
        // PRIVATE KEY; legacy `openssl genrsa -aes256` marks the block with Proc-Type.
        if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            || pem.contains("Proc-Type: 4,ENCRYPTED")
        {
            return Err(PrivateKeyError::Encrypted);
        }
        if !pem.contains("-----BEGIN ") {
            return Err(PrivateKeyError::NotPem);
        }
        // A PEM pasted with its line breaks escaped twice (`\\n` in the JSON) is one line.
        if !pem.trim().contains('\n') && pem.contains("\\n") {
            return Err(PrivateKeyError::EscapedNewlines);
        }
        // The first block the PEM reader knows; its own errors can quote lines, so they
        // are mapped to a fixed message.
        let (kind, der) =
            <(SectionKind, Vec<u8>)>::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
                rustls_pki_types::pem::Error::NoItemsFound => PrivateKeyError::NotPem,
                _ => PrivateKeyError::Unreadable,
            })?;
        match kind {
            SectionKind::PrivateKey => {
                if contains(&der, ED25519_OID) {
                    Ed25519KeyPair::from_pkcs8(&der)
                        .map(|k| Self::Ed25519(Arc::new(k)))
                        .map_err(|_| PrivateKeyError::Invalid(KeyKind::Ed25519))
                } else if contains(&der, RSA_OID) {
                    RsaKeyPair::from_pkcs8(&der)
                        .map(|k| Self::Rsa(Arc::new(k)))
                        .map_err(|_| PrivateKeyError::Invalid(KeyKind::Rsa))
                } else {
                    Err(PrivateKeyError::UnsupportedAlgorithm)
                }
            }
            SectionKind::RsaPrivateKey => RsaKeyPair::from_der(&der)
                .map(|k| Self::Rsa(Arc::new(k)))
                .map_err(|_| PrivateKeyError::Invalid(KeyKind::Rsa)),
            SectionKind::EcPrivateKey => Err(PrivateKeyError::UnsupportedAlgorithm),
            SectionKind::PublicKey => Err(PrivateKeyError::NotAPrivateKey("a PUBLIC KEY")),
            SectionKind::Certificate => Err(PrivateKeyError::NotAPrivateKey("a CERTIFICATE")),
            _ => Err(PrivateKeyError::NotAPrivateKey("another kind of block")),
        }
    }

    pub fn kind(&self) -> KeyKind {
        match self {
            Self::Hmac(_) => KeyKind::Hmac,
            Self::Ed25519(_) => KeyKind::Ed25519,
            Self::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// The signature of `payload` as Binance reads it: lower-case hex for HMAC, standard
    /// base64 (with `+`, `/`, `=`) for Ed25519 and RSA. Not yet percent-encoded for a URL.
    pub fn sign(&self, payload: &[u8]) -> String {
        let b64 = &base64::engine::general_purpose::STANDARD;
        match self {
            Self::Hmac(secret) => {
                // HMAC accepts keys of any length, so `new_from_slice` cannot fail; handle
                // it anyway rather than panic (an empty signature is simply rejected).
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
                else {
                    return String::new();
                };
                mac.update(payload);
                hex::encode(mac.finalize().into_bytes())
            }
            Self::Ed25519(key) => b64.encode(key.sign(payload).as_ref()),
            Self::Rsa(key) => {
                let mut signature = vec![0u8; key.public_modulus_len()];
                // Fails only on a buffer of the wrong length, which this is not; an empty
                // signature would be rejected with -1022 rather than panic here.
                match key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    payload,
                    &mut signature,
                ) {
                    Ok(()) => b64.encode(&signature),
                    Err(_) => String::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, ED25519, RSA_PKCS1_2048_8192_SHA256};
    use binance_sim::testkeys::{pem, TestKey};

    fn spki_der(public_pem: &str) -> Vec<u8> {
        let (kind, der) = <(SectionKind, Vec<u8>)>::from_pem_slice(public_pem.as_bytes()).unwrap();
        assert_eq!(kind, SectionKind::PublicKey);
        der
    }

    fn b64_decode(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("standard base64")
    }

    // The docs' RSA/Ed25519 examples cannot serve as vectors: the private key
    // (`test-prv-key.pem`) is not published, and the "Ed25519" example
    // signatures are 256 bytes (RSA-sized). So each test makes a key and
    // checks the signature with the public half, as Binance does.
    const PAYLOAD: &str = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=0.2&timestamp=1668481559918&recvWindow=5000";

    #[test]
    fn ed25519_key_signs_the_payload_in_base64_that_its_public_key_verifies() {
        let test = TestKey::ed25519();
        let key = SigningKey::from_pem(&test.private_pem).unwrap();
        assert_eq!(key.kind(), KeyKind::Ed25519);
        let signature = key.sign(PAYLOAD.as_bytes());
        let raw = b64_decode(&signature);
        assert_eq!(raw.len(), 64, "an Ed25519 signature is 64 bytes");
        let public = UnparsedPublicKey::new(&ED25519, spki_der(&test.public_pem));
        public.verify(PAYLOAD.as_bytes(), &raw).unwrap();
        assert!(public.verify(b"symbol=BTCUSDT", &raw).is_err());
        // Deterministic (RFC 8032), and the same signature the simulator's helper makes.
        assert_eq!(signature, test.sign(PAYLOAD));
    }

    #[test]
    fn ed25519_pkcs8_v2_key_with_its_public_half_is_accepted() {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let key = SigningKey::from_pem(&pem("PRIVATE KEY", doc.as_ref())).unwrap();
        assert_eq!(key.kind(), KeyKind::Ed25519);
    }

    #[test]
    fn rsa_pkcs8_and_pkcs1_keys_sign_pkcs1_v1_5_sha256_in_base64() {
        let test = TestKey::rsa();
        let pkcs1 = test.rsa_pkcs1_private_pem().unwrap();
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let public =
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki_der(&test.public_pem));
        for pem in [&test.private_pem, &pkcs1] {
            let key = SigningKey::from_pem(pem).unwrap();
            assert_eq!(key.kind(), KeyKind::Rsa);
            let raw = b64_decode(&key.sign(PAYLOAD.as_bytes()));
            assert_eq!(raw.len(), 256, "a 2048-bit RSA signature is 256 bytes");
            public.verify(PAYLOAD.as_bytes(), &raw).unwrap();
            assert!(public.verify(b"tampered", &raw).is_err());
        }
    }

    #[test]
    fn hmac_signature_stays_lower_case_hex() {
        // The official HMAC vector (FACTS §3.3).
        let key =
            SigningKey::hmac("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j");
        assert_eq!(key.kind(), KeyKind::Hmac);
        assert_eq!(
            key.sign(b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn each_unusable_private_key_gets_its_own_error_without_quoting_the_key() {
        let ed = TestKey::ed25519();
        let rsa = TestKey::rsa();
        let ec = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap();
        let body = |p: &str| p.lines().nth(1).unwrap().to_owned();
        let encrypted_pkcs8 = ed
            .private_pem
            .replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
        let legacy_encrypted = rsa
            .rsa_pkcs1_private_pem()
            .unwrap()
            .replacen(
                "-----\n",
                "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,0123456789ABCDEF0123456789ABCDEF\n\n",
                1,
            );
        // An RSA PKCS#8 header around bytes that are no RSA key.
        let mut bad_rsa = vec![0x30, 0x0d, 0x02, 0x01, 0x00];
        bad_rsa.extend_from_slice(RSA_OID);
        bad_rsa.extend_from_slice(&[0x04, 0x00]);
        let mut bad_ed = vec![0x30, 0x0d, 0x02, 0x01, 0x00];
        bad_ed.extend_from_slice(ED25519_OID);
        bad_ed.extend_from_slice(&[0x04, 0x03, 0x01, 0x02, 0x03]);
        let damaged = ed.private_pem.replacen('\n', "\n!!notbase64!!", 1);
        let truncated: String = ed
            .private_pem
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n");
        let cases: Vec<(String, PrivateKeyError)> = vec![
            (body(&ed.private_pem), PrivateKeyError::NotPem),
            (
                ed.private_pem.trim().replace('\n', "\\n"),
                PrivateKeyError::EscapedNewlines,
            ),
            ("".into(), PrivateKeyError::NotPem),
            (encrypted_pkcs8.clone(), PrivateKeyError::Encrypted),
            (legacy_encrypted.clone(), PrivateKeyError::Encrypted),
            (
                ed.public_pem.clone(),
                PrivateKeyError::NotAPrivateKey("a PUBLIC KEY"),
            ),
            (
                pem("CERTIFICATE", &[0x30, 0x00]),
                PrivateKeyError::NotAPrivateKey("a CERTIFICATE"),
            ),
            (
                pem("PRIVATE KEY", ec.as_ref()),
                PrivateKeyError::UnsupportedAlgorithm,
            ),
            (
                pem("EC PRIVATE KEY", &[0x30, 0x00]),
                PrivateKeyError::UnsupportedAlgorithm,
            ),
            (
                pem("PRIVATE KEY", &bad_rsa),
                PrivateKeyError::Invalid(KeyKind::Rsa),
            ),
            (
                pem("PRIVATE KEY", &bad_ed),
                PrivateKeyError::Invalid(KeyKind::Ed25519),
            ),
            (
                pem("RSA PRIVATE KEY", &[0x30, 0x00]),
                PrivateKeyError::Invalid(KeyKind::Rsa),
            ),
            (damaged.clone(), PrivateKeyError::Unreadable),
            (truncated.clone(), PrivateKeyError::Unreadable),
        ];
        for (pem, expected) in cases {
            let err = SigningKey::from_pem(&pem).unwrap_err();
            assert_eq!(err, expected, "{pem}");
            let shown = format!("{err} {err:?}");
            for line in pem
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 8)
            {
                assert!(!shown.contains(line), "{shown} quotes the key");
            }
        }
    }

    #[test]
    fn signing_key_debug_names_the_kind_and_nothing_else() {
        let test = TestKey::ed25519();
        let key = SigningKey::from_pem(&test.private_pem).unwrap();
        let shown = format!("{key:?} {:?}", SigningKey::hmac("topsecret-value"));
        assert_eq!(
            shown,
            "SigningKey(Ed25519, redacted) SigningKey(HMAC, redacted)"
        );
    }
}
