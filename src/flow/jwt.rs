//! Reading ID tokens: the JWS compact form, its claims, and its signature checked against the
//! server's JWKS with `ring`.

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

use crate::crypto::b64url_decode;

/// A JWS in compact form, decoded but not yet trusted.
#[derive(Debug, Clone)]
pub struct Jws {
    pub header: Value,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jws {
    pub fn parse(token: &str) -> Result<Self, String> {
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(format!(
                "not a JWS in compact form ({} parts separated by dots, 3 expected; an encrypted ID token has 5)",
                parts.len()
            ));
        }
        let json = |part: &str, what: &str| -> Result<Value, String> {
            let bytes =
                b64url_decode(part).ok_or_else(|| format!("the {what} is not base64url"))?;
            serde_json::from_slice::<Value>(&bytes)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| format!("the {what} is not a JSON object"))
        };
        Ok(Jws {
            header: json(parts[0], "JOSE header")?,
            claims: json(parts[1], "claims set")?,
            signing_input: format!("{}.{}", parts[0], parts[1]),
            signature: b64url_decode(parts[2]).ok_or("the signature is not base64url")?,
        })
    }

    pub fn alg(&self) -> &str {
        self.header["alg"].as_str().unwrap_or("")
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims[name].as_str()
    }

    pub fn claim_num(&self, name: &str) -> Option<f64> {
        self.claims[name].as_f64()
    }

    /// Whether `client_id` is among the audiences (a string or an array of strings).
    pub fn has_audience(&self, client_id: &str) -> bool {
        match &self.claims["aud"] {
            Value::String(a) => a == client_id,
            Value::Array(list) => list.iter().any(|a| a.as_str() == Some(client_id)),
            _ => false,
        }
    }

    /// Checks the signature with the keys of `jwks` that match the header's `kid` (all keys of
    /// the right type when there is no `kid`). Ok(kid) names the key that verified it.
    pub fn verify(&self, jwks: &Value) -> Result<String, SignatureError> {
        let alg = self.alg();
        if alg.is_empty() || alg.eq_ignore_ascii_case("none") {
            return Err(SignatureError::Unsigned);
        }
        let kid = self.header["kid"].as_str();
        let keys: Vec<&Value> = jwks["keys"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let candidates: Vec<&Value> = keys
            .into_iter()
            .filter(|k| kid.is_none() || k["kid"].as_str() == kid)
            .filter(|k| k["alg"].as_str().is_none_or(|a| a == alg))
            .collect();
        if candidates.is_empty() {
            return Err(SignatureError::NoKey(format!(
                "no key in the JWKS matches kid {} and alg {alg}",
                kid.unwrap_or("(none)")
            )));
        }
        let mut unsupported = None;
        for key in candidates {
            match verify_with(alg, key, self.signing_input.as_bytes(), &self.signature) {
                Ok(true) => return Ok(key["kid"].as_str().unwrap_or("(no kid)").to_string()),
                Ok(false) => {}
                Err(why) => unsupported = Some(why),
            }
        }
        match unsupported {
            Some(why) => Err(SignatureError::NoKey(why)),
            None => Err(SignatureError::Invalid),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// `alg` is `none` or missing.
    Unsigned,
    /// The signature does not verify with the matching key(s).
    Invalid,
    /// The scanner found no usable key, or does not support the algorithm.
    NoKey(String),
}

fn b64_member(key: &Value, name: &str) -> Result<Vec<u8>, String> {
    key[name]
        .as_str()
        .and_then(b64url_decode)
        .ok_or_else(|| format!("the JWK has no valid `{name}`"))
}

/// Ok(true/false): verified or not; Err: the algorithm or key type is not supported.
fn verify_with(alg: &str, key: &Value, input: &[u8], sig: &[u8]) -> Result<bool, String> {
    let kty = key["kty"].as_str().unwrap_or("");
    let ec = |params: &'static dyn signature::VerificationAlgorithm,
              crv: &str|
     -> Result<bool, String> {
        if kty != "EC" || key["crv"].as_str() != Some(crv) {
            return Err(format!("{alg} needs an EC key on {crv}"));
        }
        let mut point = vec![4u8];
        point.extend(b64_member(key, "x")?);
        point.extend(b64_member(key, "y")?);
        Ok(UnparsedPublicKey::new(params, &point)
            .verify(input, sig)
            .is_ok())
    };
    let rsa = |params: &'static signature::RsaParameters| -> Result<bool, String> {
        if kty != "RSA" {
            return Err(format!("{alg} needs an RSA key"));
        }
        let n = b64_member(key, "n")?;
        let e = b64_member(key, "e")?;
        Ok(RsaPublicKeyComponents { n: &n, e: &e }
            .verify(params, input, sig)
            .is_ok())
    };
    match alg {
        "ES256" => ec(&signature::ECDSA_P256_SHA256_FIXED, "P-256"),
        "ES384" => ec(&signature::ECDSA_P384_SHA384_FIXED, "P-384"),
        "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => rsa(&signature::RSA_PSS_2048_8192_SHA384),
        "PS512" => rsa(&signature::RSA_PSS_2048_8192_SHA512),
        "EdDSA" | "Ed25519" => {
            if kty != "OKP" || key["crv"].as_str() != Some("Ed25519") {
                return Err(format!("{alg} needs an OKP key on Ed25519"));
            }
            let x = b64_member(key, "x")?;
            Ok(UnparsedPublicKey::new(&signature::ED25519, &x)
                .verify(input, sig)
                .is_ok())
        }
        other => Err(format!(
            "the scanner cannot verify alg {other} (it supports ES256, ES384, RS256/384/512, PS256/384/512, EdDSA)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64url;

    #[test]
    fn rejects_alg_none_and_bad_shapes() {
        let unsigned = format!(
            "{}.{}.",
            b64url(br#"{"alg":"none"}"#),
            b64url(br#"{"sub":"a"}"#)
        );
        let jws = Jws::parse(&unsigned).unwrap();
        assert_eq!(
            jws.verify(&serde_json::json!({"keys": []})),
            Err(SignatureError::Unsigned)
        );
        assert!(Jws::parse("a.b").is_err());
        assert!(Jws::parse("a.b.c.d.e").is_err());
    }
}
