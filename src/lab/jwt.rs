//! ES256 signing of ID tokens and the JWKS that publishes the key.

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::crypto::{b64url, random_token, sha256};

pub struct Signer {
    key: EcdsaKeyPair,
    kid: String,
    rng: SystemRandom,
}

impl Signer {
    pub fn generate() -> Self {
        let rng = SystemRandom::new();
        // Generating and re-reading a fresh P-256 key only fails without an OS random source.
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generating the lab's P-256 signing key failed");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("reading back the lab's P-256 signing key failed");
        Signer {
            key,
            kid: random_token(8),
            rng,
        }
    }

    pub fn jwks(&self) -> Value {
        // An uncompressed P-256 point: 0x04 || x (32 bytes) || y (32 bytes).
        let point = self.key.public_key().as_ref();
        json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": b64url(&point[1..33]), "y": b64url(&point[33..65]),
        }]})
    }

    /// The JWKS with a private `d` member: only for the `jwks-private-key` weakness. `ring`
    /// does not export private scalars, so `d` here is random bytes of the right length.
    pub fn jwks_with_private_key(&self) -> Value {
        let mut jwks = self.jwks();
        jwks["keys"][0]["d"] = json!(random_token(32));
        jwks
    }

    /// The JWKS plus a second, unrelated P-256 key: only for `jwks-several-keys-no-kid`.
    pub fn jwks_with_second_key(&self) -> Value {
        let mut jwks = self.jwks();
        let other = Signer::generate().jwks()["keys"][0].clone();
        if let Some(keys) = jwks["keys"].as_array_mut() {
            keys.push(other);
        }
        jwks
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            claims,
            json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid }),
        )
    }

    /// A JWS whose header names no key: only for `jwks-several-keys-no-kid`.
    pub fn sign_without_kid(&self, claims: &Value) -> String {
        self.sign_with_header(claims, json!({ "alg": "ES256", "typ": "JWT" }))
    }

    fn sign_with_header(&self, claims: &Value, header: Value) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = self
            .key
            .sign(&self.rng, input.as_bytes())
            .expect("ECDSA signing with the OS random source failed");
        format!("{input}.{}", b64url(sig.as_ref()))
    }
}

/// An unsigned JWT (`alg: none`): only for the `id-token-alg-none` weakness.
pub fn unsigned(claims: &Value) -> String {
    let header = json!({ "alg": "none", "typ": "JWT" });
    format!(
        "{}.{}.",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// The same JWS with one bit of its signature flipped: only for `id-token-bad-signature`.
pub fn with_broken_signature(jws: &str) -> String {
    let Some((input, sig)) = jws.rsplit_once('.') else {
        return jws.to_string();
    };
    let mut bytes = crate::crypto::b64url_decode(sig).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 1;
    }
    format!("{input}.{}", b64url(&bytes))
}

/// OIDC Core §3.1.3.6: the left half of the SHA-256 of the token, base64url.
pub fn half_hash(value: &str) -> String {
    b64url(&sha256(value.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn signature_verifies_against_the_published_key() {
        let signer = Signer::generate();
        let jwt = signer.sign(&json!({"sub": "alice"}));
        let jwk = &signer.jwks()["keys"][0];
        let mut point = vec![4u8];
        point.extend(crate::crypto::b64url_decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(crate::crypto::b64url_decode(jwk["y"].as_str().unwrap()).unwrap());
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig = crate::crypto::b64url_decode(sig).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(input.as_bytes(), &sig)
            .expect("signature must verify");
        let tampered = format!("{}x", input);
        assert!(
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                .verify(tampered.as_bytes(), &sig)
                .is_err()
        );
    }
}
