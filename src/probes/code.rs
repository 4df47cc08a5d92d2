//! Authorization code handling.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::Consent;

/// RFC 6749 §4.1.2: a code MUST NOT be honoured twice.
pub async fn single_use(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut first_tokens_still_work = false;
    let mut notes = Vec::new();

    let issued = cx.fresh_code(client).await?;
    let first = cx
        .redeem_properly("redeem the code (first time)", client, &issued)
        .await?;
    if !first.issued() {
        return Err(ProbeError::Unexpected(format!(
            "the first redemption of a fresh code failed: {}",
            first.describe()
        )));
    }
    // The replay, and what it did to the first tokens, alone: the server may revoke the grant.
    cx.alone(async {
        let replay = cx
            .redeem_properly("redeem the same code again", client, &issued)
            .await?;
        if replay.issued() {
            findings.push(
                "the second redemption of a PKCE-bound code returned HTTP 200 and a new access_token"
                    .to_string(),
            );
        } else {
            notes.push(format!(
                "replay of a PKCE-bound code refused ({})",
                replay.describe()
            ));
            if replay.error() != Some("invalid_grant") {
                warnings.push(format!(
                    "the replay was refused with {} rather than invalid_grant (RFC 6749 §5.2)",
                    replay.describe()
                ));
            }
            if let Some(at) = first.access_token() {
                match cx.token_works("use the first access token after the replay", at).await? {
                    Some(true) => {
                        first_tokens_still_work = true;
                        warnings.push(
                            "the access token from the first redemption still works after the replay (RFC 6749 §4.1.2: SHOULD be revoked)"
                                .to_string(),
                        )
                    }
                    Some(false) => notes.push("tokens from the first redemption were revoked".to_string()),
                    None => notes.push("no userinfo endpoint to tell whether the first tokens were revoked".to_string()),
                }
            }
        }
        Ok::<_, ProbeError>(())
    })
    .await?;

    // A consumed PKCE challenge can hide a reusable code: test a code issued without PKCE too.
    let request = cx.request_for(client).without_pkce();
    let outcome = cx
        .authorize(
            "ask for a code without PKCE",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    match outcome.code() {
        Some(code) => {
            let code = code.to_string();
            let redirect = request.redirect_uri();
            let first = cx
                .redeem(
                    "redeem the PKCE-less code (first time)",
                    client,
                    &code,
                    redirect,
                    None,
                )
                .await?;
            if first.issued() {
                let replay = cx
                    .alone(cx.redeem(
                        "redeem the PKCE-less code again",
                        client,
                        &code,
                        redirect,
                        None,
                    ))
                    .await?;
                if replay.issued() {
                    findings.push("the second redemption of a code issued without PKCE returned HTTP 200 and a new access_token".to_string());
                } else {
                    notes.push(format!(
                        "replay of a PKCE-less code refused ({})",
                        replay.describe()
                    ));
                }
            } else {
                notes.push(format!(
                    "a code issued without PKCE could not be redeemed at all ({})",
                    first.describe()
                ));
            }
        }
        None => notes.push("the server issues no code without PKCE".to_string()),
    }

    Ok(if !findings.is_empty() {
        Outcome::not_met(findings.join("; "))
    } else if !warnings.is_empty() {
        let message = format!("{}; {}", warnings.join("; "), notes.join("; "));
        if first_tokens_still_work {
            Outcome::not_met_of(&["RFC 6749 §4.1.2 SHOULD", "RFC 9700 §4.2.4"], message)
        } else {
            // Another error than invalid_grant: RFC 6749 §5.2 lists the codes without a keyword.
            Outcome::best_practice_not_met(message)
        }
    } else {
        Outcome::pass(notes.join("; "))
    })
}

/// RFC 6749 §4.1.3: the code was issued to the client that redeems it.
pub async fn bound_to_client(cx: &Cx) -> ProbeResult {
    let Some(other) = &cx.target.second_client else {
        return Ok(Outcome::skip(
            crate::catalog::Requirement::SecondClient.missing_reason(),
        ));
    };
    redeemed_only_by_its_client(cx, other).await
}

/// RFC 6749 §4.1.3: "if the client is public, ensure that the code was issued to client_id".
pub async fn bound_to_public_client(cx: &Cx) -> ProbeResult {
    let Some(public) = &cx.target.public_client else {
        return Ok(Outcome::skip(
            crate::catalog::Requirement::PublicClient.missing_reason(),
        ));
    };
    redeemed_only_by_its_client(cx, public).await
}

/// Obtains a code for `[client]` and tries to redeem it as `other`.
async fn redeemed_only_by_its_client(cx: &Cx, other: &crate::target::Client) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let stolen = cx
        .redeem(
            &format!(
                "redeem the code of `{}` as client `{}`",
                client.id, other.id
            ),
            other,
            &issued.code,
            issued.request.redirect_uri(),
            issued.request.verifier.as_deref(),
        )
        .await?;
    if stolen.issued() {
        return Ok(Outcome::not_met(format!(
            "a code issued to client `{}` was redeemed by client `{}` ({}): HTTP 200 with an access_token",
            client.id,
            other.id,
            if other.secret.is_some() {
                "with its own credentials"
            } else {
                "a public client, by its client_id"
            }
        )));
    }
    let control = cx
        .redeem_properly(
            "control: redeem the code as the client it was issued to",
            client,
            &issued,
        )
        .await?;
    Ok(Outcome::pass(format!(
        "client `{}` could not redeem the code of `{}` ({}); {}",
        other.id,
        client.id,
        stolen.describe(),
        if control.issued() {
            "the rightful client then redeemed it"
        } else {
            "the code was then unusable for the rightful client too (a failed attempt may consume it)"
        }
    )))
}

/// RFC 6749 §4.1.2: a code "MUST expire shortly after it is issued" (ten minutes at most RECOMMENDED).
pub async fn expires(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let wait = cx.code_wait;
    tokio::time::sleep(wait).await;
    let late = cx
        .redeem_properly(
            &format!(
                "redeem the code {} ms after it was issued",
                wait.as_millis()
            ),
            client,
            &issued,
        )
        .await?;
    Ok(if late.issued() {
        Outcome::not_met(format!(
            "a code was still redeemed {:.1} s after it was issued: HTTP 200 with an access_token",
            wait.as_secs_f64()
        ))
    } else {
        Outcome::pass(format!(
            "a code {:.1} s old was refused ({})",
            wait.as_secs_f64(),
            late.describe()
        ))
    })
}

/// Codes sampled to estimate how much of a code is random.
const ENTROPY_SAMPLES: usize = 6;

/// An upper bound on the random bits of codes like `codes`: each position that differs between
/// them counts for the bits of the alphabet seen at varying positions; constant positions count
/// for nothing. A bound, not a measure: it can only overstate randomness.
pub fn entropy_bound(codes: &[String]) -> f64 {
    let chars: Vec<Vec<char>> = codes.iter().map(|c| c.chars().collect()).collect();
    let longest = chars.iter().map(Vec::len).max().unwrap_or(0);
    let mut varying = 0usize;
    let mut alphabet = std::collections::BTreeSet::new();
    for i in 0..longest {
        let at: Vec<Option<char>> = chars.iter().map(|c| c.get(i).copied()).collect();
        if at.iter().any(|c| *c != at[0]) {
            varying += 1;
            alphabet.extend(at.into_iter().flatten());
        }
    }
    let size = if alphabet.iter().all(char::is_ascii_hexdigit)
        && (alphabet.iter().all(|c| !c.is_ascii_uppercase())
            || alphabet.iter().all(|c| !c.is_ascii_lowercase()))
    {
        16.0
    } else if alphabet.iter().all(char::is_ascii_alphanumeric) {
        62.0
    } else if alphabet
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        64.0
    } else {
        95.0f64
    };
    varying as f64 * size.log2()
}

/// RFC 6749 §10.10: guessing a code must succeed with probability 2^-128 at most (2^-160 SHOULD).
pub async fn unguessable(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let mut codes = Vec::new();
    for i in 0..ENTROPY_SAMPLES {
        let request = cx.request_for(client);
        let issued = cx
            .obtain_code(
                &format!("obtain code {} of {ENTROPY_SAMPLES}", i + 1),
                client,
                request,
            )
            .await?;
        codes.push(issued.code);
    }
    let distinct: std::collections::BTreeSet<&String> = codes.iter().collect();
    if distinct.len() < codes.len() {
        return Ok(Outcome::not_met(format!(
            "the server issued the same code twice among {} codes",
            codes.len()
        )));
    }
    let bits = entropy_bound(&codes);
    let lengths: std::collections::BTreeSet<usize> = codes.iter().map(|c| c.len()).collect();
    let shape = format!(
        "{} codes of {} characters carry at most {bits:.0} random bits",
        codes.len(),
        lengths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("/")
    );
    Ok(if bits < 128.0 {
        Outcome::not_met(format!(
            "{shape}: a guess succeeds with a probability above 2^-128 (RFC 6749 §10.10 MUST)"
        ))
    } else if bits < 160.0 {
        Outcome::not_met_of(
            &["RFC 6749 §10.10 SHOULD"],
            format!("{shape}: below the 160 bits RFC 6749 §10.10 asks for (SHOULD)"),
        )
    } else {
        Outcome::pass(format!("{shape}, and all differ"))
    })
}

/// The code with one character near its middle replaced by another of the same kind.
pub fn altered(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    let middle = chars.len() / 2;
    // The middle of a base64 string carries six full bits; the last character may carry padding.
    let at = (middle..chars.len())
        .chain(0..middle)
        .find(|&i| chars[i].is_ascii_alphanumeric());
    if let Some(i) = at {
        let c = chars[i];
        let shift = |base: u8, n: u8, by: u8| (base + (c as u8 - base + by) % n) as char;
        chars[i] = match c {
            '0'..='9' => shift(b'0', 10, 5),
            'a'..='z' => shift(b'a', 26, 13),
            _ => shift(b'A', 26, 13),
        };
    } else if let Some(last) = chars.last_mut() {
        *last = if *last == 'x' { 'y' } else { 'x' };
    }
    chars.into_iter().collect()
}

/// RFC 6749 §4.1.3 and §5.2: a code the server did not issue, whole, is invalid_grant.
pub async fn unknown_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let verifier = issued.request.verifier.as_deref();
    let redirect = issued.request.redirect_uri();
    let len = issued.code.chars().count().max(16);
    let forged: String = crate::crypto::random_token(len).chars().take(len).collect();
    let changed = altered(&issued.code);
    cx.http.redactor().add(&changed);
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for (what, code) in [
        ("a random code of the same length", &forged),
        ("the fresh code with one character changed", &changed),
    ] {
        let resp = cx
            .redeem(&format!("redeem {what}"), client, code, redirect, verifier)
            .await?;
        if resp.issued() {
            findings.push(format!(
                "{what} was redeemed: HTTP 200 with an access_token"
            ));
        } else {
            notes.push(format!("{what} was refused ({})", resp.describe()));
        }
    }
    if !findings.is_empty() {
        return Ok(Outcome::not_met(findings.join("; ")));
    }
    let control = cx
        .redeem_properly("control: redeem the real code", client, &issued)
        .await?;
    notes.push(if control.issued() {
        "the real code then redeemed".to_string()
    } else {
        format!(
            "the real code was then refused too ({})",
            control.describe()
        )
    });
    Ok(Outcome::pass(notes.join("; ")))
}

/// Parallel redemptions of one code.
const PARALLEL_REDEMPTIONS: usize = 5;

/// OAuth 2.1 §4.1.3: an access token only once per code, also when redemptions race.
pub async fn single_use_concurrent(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let attempts = (0..PARALLEL_REDEMPTIONS).map(|i| {
        let step = format!(
            "redeem the code, request {} of {PARALLEL_REDEMPTIONS} sent at once",
            i + 1
        );
        let issued = &issued;
        async move { cx.redeem_properly(&step, client, issued).await }
    });
    // Every redemption but one is a replay: alone, the server may revoke the grant.
    let results = cx.alone(futures::future::join_all(attempts)).await;
    let mut granted = 0;
    let mut refusals = Vec::new();
    for r in results {
        let r = r?;
        if r.issued() {
            granted += 1;
        } else {
            refusals.push(r.describe());
        }
    }
    Ok(match granted {
        0 => {
            return Err(ProbeError::Unexpected(format!(
                "none of {PARALLEL_REDEMPTIONS} parallel redemptions of a fresh code succeeded ({})",
                refusals.join(", ")
            )));
        }
        1 => Outcome::pass(format!(
            "of {PARALLEL_REDEMPTIONS} parallel redemptions of one code, one succeeded and the others were refused ({})",
            refusals.join(", ")
        )),
        n => Outcome::not_met(format!(
            "{n} of {PARALLEL_REDEMPTIONS} parallel redemptions of one code returned HTTP 200 with an access_token"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_bound_counts_varying_positions_only() {
        let base64 = |n| {
            (0..ENTROPY_SAMPLES)
                .map(|_| crate::crypto::random_token(n))
                .collect::<Vec<_>>()
        };
        assert!(entropy_bound(&base64(32)) > 200.0);
        assert!(entropy_bound(&base64(6)) <= 48.0);
        let uuids: Vec<String> = [
            "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e",
            "a1b2c3d4-e5f6-4a7b-9c8d-0e1f2a3b4c5d",
            "0f1e2d3c-4b5a-4968-a7b6-c5d4e3f2a1b0",
        ]
        .map(String::from)
        .to_vec();
        assert!(entropy_bound(&uuids) < 128.0, "a UUID has 122 random bits");
        let counter: Vec<String> = ["code-000001", "code-000002", "code-000003"]
            .map(String::from)
            .to_vec();
        assert!(entropy_bound(&counter) < 8.0);
    }

    #[test]
    fn altered_changes_one_character_away_from_the_end() {
        let code = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let a = altered(code);
        assert_eq!(a.len(), code.len());
        let diffs: Vec<usize> = code
            .chars()
            .zip(a.chars())
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(diffs, [code.len() / 2]);
        assert_ne!(altered("9"), "9");
        assert_ne!(altered("--"), "--");
    }
}
