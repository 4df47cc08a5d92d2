//! JWS and JWKS parsing (src/flow/jwt.rs) and the encodings under them (src/crypto.rs): no
//! input panics; a token signed by a published key verifies, and never once it is altered or
//! signed by another key; `alg: none` is never verified.

use oauthprobe::crypto::{b64url, b64url_decode, ct_eq, is_valid_pkce_value, s256_challenge};
use oauthprobe::flow::jwt::{Jws, SignatureError};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde_json::{Value, json};

use crate::{Case, Gen, run};

pub struct Keys {
    rng: SystemRandom,
    ec: EcdsaKeyPair,
    ed: Ed25519KeyPair,
    other_ec: EcdsaKeyPair,
}

fn setup() -> Keys {
    let rng = SystemRandom::new();
    let ec = |rng: &SystemRandom| {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
            .expect("a P-256 key");
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), rng)
            .expect("a P-256 key read back")
    };
    let ed_pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("an Ed25519 key");
    Keys {
        ec: ec(&rng),
        other_ec: ec(&rng),
        ed: Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).expect("an Ed25519 key read back"),
        rng,
    }
}

fn ec_jwk(key: &EcdsaKeyPair) -> Value {
    let point = key.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "x": b64url(&point[1..33]), "y": b64url(&point[33..65])})
}

/// A JWK that is wrong in some way: random members of random types, bad lengths, odd curves.
fn junk_jwk(g: &mut Gen) -> Value {
    let strings = [
        "EC", "RSA", "OKP", "oct", "P-256", "P-384", "P-521", "Ed25519", "X25519", "ES256",
        "RS256", "PS512", "EdDSA", "none", "AQAB", "", "AA", "_-_-", "====",
    ];
    let mut key = serde_json::Map::new();
    for member in ["kty", "crv", "alg", "kid", "x", "y", "n", "e", "use", "d"] {
        if g.bool() {
            let v = match g.below(4) {
                0 => g.json(2, &strings),
                1 => {
                    let n = g_len(g);
                    Value::String(b64url(&g.bytes(n)))
                }
                _ => Value::String(g.pick(&strings).to_string()),
            };
            key.insert(member.to_string(), v);
        }
    }
    Value::Object(key)
}

fn g_len(g: &mut Gen) -> usize {
    g.choose(&[0, 1, 31, 32, 33, 48, 64, 65, 256, 512, 1024])
}

fn b64_part(g: &mut Gen, json: &Value) -> String {
    let text = match g.below(8) {
        0 => g.lossy(40).into_bytes(),
        _ => g.json_text(json),
    };
    let mut part = b64url(&text);
    match g.below(10) {
        0 => part.push_str("=="),
        1 => part = part.replace('-', "+").replace('_', "/"),
        2 => part.push(' '),
        _ => {}
    }
    part
}

fn header(g: &mut Gen, alg: &str, kid: Option<&str>) -> Value {
    let mut h = json!({"alg": alg, "typ": "JWT"});
    if let Some(kid) = kid {
        h["kid"] = json!(kid);
    }
    if g.one_in(4) {
        let extra = g.json(2, &["crit", "jku", "x5u", "b64"]);
        h["x"] = extra;
    }
    h
}

#[test]
fn jwt() {
    run("jwt", setup, |keys, case: &mut Case| {
        let g = &mut case.g;

        // Arbitrary compact forms.
        let parts = g.range(0, 6);
        let raw: Vec<String> = (0..parts)
            .map(|_| match g.below(3) {
                0 => g.text(4, &["eyJ", ".", "=", "-", "_"]),
                _ => {
                    let v = g.json(3, &["alg", "kid", "none", "ES256"]);
                    b64_part(g, &v)
                }
            })
            .collect();
        let token = raw.join(".");
        case.note("token", &token);
        let g = &mut case.g;
        let jwks = json!({"keys": (0..g.len(4)).map(|_| junk_jwk(g)).collect::<Vec<_>>()});
        if let Ok(jws) = Jws::parse(&token) {
            let _ = jws.alg();
            let _ = jws.claim_str("sub");
            let _ = jws.claim_num("exp");
            let _ = jws.has_audience("client");
            if let Ok(kid) = jws.verify(&jwks) {
                panic!("random junk verified with key {kid:?}");
            }
            let _ = jws.verify(&g.json(3, &["keys", "kty"]));
        }

        // Real signatures.
        let claims = {
            let mut c = g.json(3, &["iss", "sub", "aud", "exp", "client"]);
            if !c.is_object() {
                c = json!({ "v": c });
            }
            if g.bool() {
                c["aud"] = if g.bool() {
                    json!("client")
                } else {
                    json!(["x", g.json(1, &["client"]), "client"])
                };
            }
            c
        };
        let ed = g.bool();
        let alg = if ed { "EdDSA" } else { "ES256" };
        let kid_len = g_len(g) % 12;
        let kid = g.bool().then(|| g.alnum(kid_len));
        let header_kid = match g.below(4) {
            0 => None,
            1 => Some("another".to_string()),
            _ => kid.clone(),
        };
        let head = b64url(
            serde_json::to_string(&header(g, alg, header_kid.as_deref()))
                .unwrap_or_default()
                .as_bytes(),
        );
        let body = b64url(
            serde_json::to_string(&claims)
                .unwrap_or_default()
                .as_bytes(),
        );
        let input = format!("{head}.{body}");
        let sig = if ed {
            keys.ed.sign(input.as_bytes()).as_ref().to_vec()
        } else {
            keys.ec
                .sign(&keys.rng, input.as_bytes())
                .expect("signing")
                .as_ref()
                .to_vec()
        };
        let mut right = if ed {
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(keys.ed.public_key().as_ref())})
        } else {
            ec_jwk(&keys.ec)
        };
        if let Some(kid) = &kid {
            right["kid"] = json!(kid);
        }
        let key_alg_matches = match g.below(3) {
            0 => {
                right["alg"] = json!(alg);
                true
            }
            1 => {
                right["alg"] = json!(if ed { "ES256" } else { "EdDSA" });
                false
            }
            _ => true,
        };
        let mut list: Vec<Value> = (0..g.len(3)).map(|_| junk_jwk(g)).collect();
        let mut decoy = ec_jwk(&keys.other_ec);
        decoy["kid"] = json!(header_kid.clone().unwrap_or_default());
        list.push(decoy);
        let at = g.below(list.len() + 1);
        list.insert(at, right);
        let jwks = json!({ "keys": list });
        let signed = format!("{input}.{}", b64url(&sig));
        case.note("signed", &signed);
        case.note("jwks", &jwks);
        let jws = Jws::parse(&signed).expect("a well-formed JWS parses");
        let expected_ok = key_alg_matches && (header_kid.is_none() || header_kid == kid);
        match jws.verify(&jwks) {
            Ok(found) => {
                assert!(
                    expected_ok,
                    "verified with {found:?} though no matching key applies"
                );
                assert_eq!(found, kid.clone().unwrap_or_else(|| "(no kid)".into()));
            }
            Err(e) => assert!(!expected_ok, "a valid signature was refused: {e:?}"),
        }
        assert_eq!(
            jws.has_audience("client"),
            match &claims["aud"] {
                Value::String(a) => a == "client",
                Value::Array(l) => l.iter().any(|a| a == "client"),
                _ => false,
            }
        );

        // Altered: other claims under the same signature, or another signature.
        let g = &mut case.g;
        let other_claims = b64url(format!("{{\"sub\":\"{}\"}}", g.alnum(8)).as_bytes());
        let mut bad_sig = sig.clone();
        let i = g.below(bad_sig.len());
        bad_sig[i] ^= 1 << g.below(8);
        for altered in [
            format!("{head}.{other_claims}.{}", b64url(&sig)),
            format!("{input}.{}", b64url(&bad_sig)),
            format!("{input}.{}", b64url(&sig[..sig.len() / 2])),
            format!("{input}."),
        ] {
            let jws = Jws::parse(&altered).expect("an altered JWS still parses");
            assert!(
                jws.verify(&jwks).is_err(),
                "an altered token verified: {altered}"
            );
        }

        // Unsigned.
        for none in ["none", "NONE", "None", ""] {
            let h = b64url(format!("{{\"alg\":\"{none}\"}}").as_bytes());
            let jws = Jws::parse(&format!("{h}.{body}.{}", b64url(&sig))).expect("parses");
            assert_eq!(jws.verify(&jwks), Err(SignatureError::Unsigned));
        }

        // The encodings.
        let n = g.len(64);
        let bytes = g.bytes(n);
        let enc = b64url(&bytes);
        assert_eq!(b64url_decode(&enc).as_deref(), Some(bytes.as_slice()));
        assert_eq!(
            b64url_decode(&format!("{enc}==")).as_deref(),
            Some(bytes.as_slice())
        );
        let _ = b64url_decode(&g.text(8, &["=", "-", "_", "+", "/"]));
        let other = g.bytes(n);
        assert_eq!(ct_eq(&bytes, &other), bytes == other);
        assert!(ct_eq(&bytes, &bytes.clone()));
        let verifier = g.text(12, &["a", "Z", "0", "-", ".", "_", "~"]);
        let valid = (43..=128).contains(&verifier.len())
            && verifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
        assert_eq!(is_valid_pkce_value(&verifier), valid, "{verifier:?}");
        let challenge = s256_challenge(&verifier);
        assert!(is_valid_pkce_value(&challenge) && challenge.len() == 43);
    });
}
