//! Key pairs for tests: a fresh Ed25519 or RSA key with both halves as PEM,
//! in the shapes a Binance user holds them (what `openssl genpkey` writes:
//! PKCS#8 private key, X.509 `PUBLIC KEY`), plus the key's own signature so a
//! test can sign requests the way the docs do. Nothing is stored: every call
//! makes a new key, so no private key lives in the repository.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;

/// PEM armour: base64 in 64-character lines between BEGIN/END lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

enum Private {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// One generated key pair.
pub struct TestKey {
    key: Private,
    /// `-----BEGIN PRIVATE KEY-----` (PKCS#8 v1).
    pub private_pem: String,
    /// `-----BEGIN PUBLIC KEY-----` (X.509 SubjectPublicKeyInfo): what is
    /// registered with Binance (and with the simulator's `public_key`).
    pub public_pem: String,
}

impl TestKey {
    /// A new Ed25519 key.
    pub fn ed25519() -> TestKey {
        let rng = SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8v1(&rng).expect("generate Ed25519");
        let key = Ed25519KeyPair::from_pkcs8(doc.as_ref()).expect("parse Ed25519");
        let public: PublicKeyX509Der = key.public_key().as_der().expect("Ed25519 SPKI");
        TestKey {
            private_pem: pem("PRIVATE KEY", doc.as_ref()),
            public_pem: pem("PUBLIC KEY", public.as_ref()),
            key: Private::Ed25519(key),
        }
    }

    /// A new 2048-bit RSA key.
    pub fn rsa() -> TestKey {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("generate RSA");
        let private: Pkcs8V1Der = key.as_der().expect("RSA PKCS#8");
        let public: PublicKeyX509Der = key.public_key().as_der().expect("RSA SPKI");
        TestKey {
            private_pem: pem("PRIVATE KEY", private.as_ref()),
            public_pem: pem("PUBLIC KEY", public.as_ref()),
            key: Private::Rsa(key),
        }
    }

    /// For an RSA key, the private key as PKCS#1 (`-----BEGIN RSA PRIVATE
    /// KEY-----`, what `openssl genrsa` and older tools write): the
    /// `RSAPrivateKey` inside the PKCS#8 document's OCTET STRING.
    pub fn rsa_pkcs1_private_pem(&self) -> Option<String> {
        let Private::Rsa(key) = &self.key else {
            return None;
        };
        let der: Pkcs8V1Der = key.as_der().ok()?;
        let der = der.as_ref();
        // PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm
        // AlgorithmIdentifier, privateKey OCTET STRING, ... }: skip the outer
        // header, then version (3 bytes) and the rsaEncryption identifier.
        let mut i = header_len(der)?;
        i += 3;
        i += header_len(&der[i..])? + content_len(&der[i..])?;
        if der.get(i) != Some(&0x04) {
            return None;
        }
        let start = i + header_len(&der[i..])?;
        let end = start + content_len(&der[i..])?;
        Some(pem("RSA PRIVATE KEY", der.get(start..end)?))
    }

    /// The signature Binance expects, base64 (not percent-encoded):
    /// Ed25519, or RSASSA-PKCS1-v1_5 with SHA-256.
    pub fn sign(&self, payload: &str) -> String {
        let b64 = &base64::engine::general_purpose::STANDARD;
        match &self.key {
            Private::Ed25519(k) => b64.encode(k.sign(payload.as_bytes()).as_ref()),
            Private::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    payload.as_bytes(),
                    &mut sig,
                )
                .expect("RSA sign");
                b64.encode(&sig)
            }
        }
    }
}

/// Length of a DER element's tag + length bytes.
fn header_len(der: &[u8]) -> Option<usize> {
    let first = *der.get(1)?;
    Some(if first < 0x80 {
        2
    } else {
        2 + (first & 0x7f) as usize
    })
}

/// A DER element's content length.
fn content_len(der: &[u8]) -> Option<usize> {
    let first = *der.get(1)?;
    if first < 0x80 {
        return Some(first as usize);
    }
    let n = (first & 0x7f) as usize;
    der.get(2..2 + n)?
        .iter()
        .try_fold(0usize, |acc, &b| Some((acc << 8) | b as usize))
}
