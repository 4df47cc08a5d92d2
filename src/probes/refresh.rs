//! Refresh tokens: rotation and replay detection, binding to the client and the scope.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult, refresh_form};
use crate::flow::token::{self, TokenResponse};
use crate::target::Client;

/// A refresh token issued to `client` by a fresh code exchange, or the skip that says why not.
async fn refresh_token_of(
    cx: &Cx,
    client: &Client,
    request: Option<crate::flow::authorize::AuthRequest>,
) -> Result<Result<(TokenResponse, String), Outcome>, ProbeError> {
    let request = request.unwrap_or_else(|| cx.request_for(client));
    let (_, tokens) = cx.tokens_for(client, request).await?;
    Ok(match tokens.refresh_token() {
        Some(rt) => Ok((tokens.clone(), rt.to_string())),
        None => Err(super::no_refresh_token(cx, client)),
    })
}

/// The public client of the target file, or the skip that names the missing table.
fn public_client(cx: &Cx) -> Result<&Client, Outcome> {
    cx.public_client()
        .ok_or_else(|| Outcome::skip(crate::catalog::Requirement::PublicClient.missing_reason()))
}

/// What happened in a rotation: the first refresh, the replay of the used token, the refresh
/// token the first refresh returned, and (when asked for) the use of that newest token after a
/// refused replay.
struct Rotation {
    replay: TokenResponse,
    newer: Option<String>,
    newest_after_replay: Option<TokenResponse>,
}

/// The first refresh with a fresh refresh token, and a replay of it; the skip that says so when
/// the server does not let this client refresh at all. With `use_newest`, a refused replay is
/// followed by a refresh with the newest refresh token, to see whether the replay revoked it.
async fn rotate_and_replay(
    cx: &Cx,
    client: &Client,
    first_rt: &str,
    use_newest: bool,
) -> Result<Result<Rotation, Outcome>, ProbeError> {
    let first = cx
        .refresh("refresh with the refresh token", client, first_rt, None)
        .await?;
    if !first.issued() {
        // RFC 6749 §5.2: the grant type is not allowed for this client, or not at all.
        if matches!(
            first.error(),
            Some("unauthorized_client" | "unsupported_grant_type")
        ) {
            return Ok(Err(Outcome::skip(format!(
                "client `{}` received a refresh token but may not use the refresh_token grant ({}), so there is no refresh to rotate or replay",
                client.id,
                first.describe()
            ))));
        }
        return Err(ProbeError::Unexpected(format!(
            "the first use of a fresh refresh token failed: {}",
            first.describe()
        )));
    }
    let newer = first.refresh_token().map(str::to_string);
    // The replay, and what it did to the newest token, alone: the server may revoke the grant.
    cx.alone(async {
        let replay = cx
            .refresh(
                "replay the refresh token that was just used",
                client,
                first_rt,
                None,
            )
            .await?;
        let newest_after_replay = match &newer {
            Some(active) if use_newest && !replay.issued() => Some(
                cx.refresh(
                    "use the newest refresh token after the replay",
                    client,
                    active,
                    None,
                )
                .await?,
            ),
            _ => None,
        };
        Ok(Ok(Rotation {
            replay,
            newer,
            newest_after_replay,
        }))
    })
    .await
}

/// RFC 9700 §2.2.2: a public client's refresh token is rotated (or sender-constrained).
pub async fn rotated_for_public_client(cx: &Cx) -> ProbeResult {
    let client = match public_client(cx) {
        Ok(c) => c,
        Err(skip) => return Ok(skip),
    };
    let rt = match refresh_token_of(cx, client, None).await? {
        Ok((_, rt)) => rt,
        Err(skip) => return Ok(skip),
    };
    let rotation = match rotate_and_replay(cx, client, &rt, false).await? {
        Ok(r) => r,
        Err(skip) => return Ok(skip),
    };
    if rotation.replay.issued() {
        return Ok(Outcome::not_met(format!(
            "public client `{}` used the same refresh token twice: the second use returned HTTP 200 and an access_token",
            client.id
        )));
    }
    Ok(Outcome::pass(format!(
        "the used refresh token was refused on reuse ({}){}",
        rotation.replay.describe(),
        if rotation.newer.is_some() {
            "; the refresh returned a new refresh token"
        } else {
            "; the refresh returned no new refresh token"
        }
    )))
}

/// RFC 9700 §4.14.2: with rotation, a replayed refresh token revokes the active one.
pub async fn replay_revokes_grant(cx: &Cx) -> ProbeResult {
    let client = match public_client(cx) {
        Ok(c) => c,
        Err(skip) => return Ok(skip),
    };
    let rt = match refresh_token_of(cx, client, None).await? {
        Ok((_, rt)) => rt,
        Err(skip) => return Ok(skip),
    };
    let rotation = match rotate_and_replay(cx, client, &rt, true).await? {
        Ok(r) => r,
        Err(skip) => return Ok(skip),
    };
    if rotation.replay.issued() {
        // One flaw, one check: a refresh token that works twice is not rotated at all.
        return Ok(Outcome::skip(format!(
            "the replay of a used refresh token by public client `{}` returned HTTP 200 and an access_token: the token is not rotated, so there is no replay to detect; refresh-rotated-for-public-client reports that flaw",
            client.id
        )));
    }
    if rotation.newer.is_none() {
        return Ok(Outcome::skip(
            "the refresh returned no new refresh token, so there is no active token that a replay should revoke",
        ));
    }
    let Some(after) = rotation.newest_after_replay else {
        return Err(ProbeError::Unexpected(
            "the newest refresh token was not used after the replay".into(),
        ));
    };
    if after.issued() {
        return Ok(Outcome::not_met(format!(
            "the replay was refused ({}), but the newest refresh token still returned HTTP 200 and an access_token afterwards",
            rotation.replay.describe()
        )));
    }
    Ok(Outcome::pass(format!(
        "the replay was refused ({}) and the newest refresh token was revoked with it ({})",
        rotation.replay.describe(),
        after.describe()
    )))
}

/// RFC 6749 §6 and §10.4: a refresh token works only for the client it was issued to.
pub async fn bound_to_client(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let Some(other) = cx.second_client() else {
        return Ok(Outcome::skip(
            crate::catalog::Requirement::SecondClient.missing_reason(),
        ));
    };
    let rt = match refresh_token_of(cx, client, None).await? {
        Ok((_, rt)) => rt,
        Err(skip) => return Ok(skip),
    };
    let resp = cx
        .refresh(
            "use the first client's refresh token as the second client",
            other,
            &rt,
            None,
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(format!(
            "a refresh token issued to `{}` was used by `{}`: HTTP 200 with an access_token",
            client.id, other.id
        )));
    }
    Ok(Outcome::pass(format!(
        "the second client could not use the first client's refresh token ({})",
        resp.describe()
    )))
}

/// RFC 6749 §6: a confidential client authenticates to refresh.
pub async fn requires_client_auth(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    if client.secret.is_none() {
        return Ok(Outcome::skip(
            "the [client] of the target file has no secret; give it its client secret to run this check",
        ));
    }
    let rt = match refresh_token_of(cx, client, None).await? {
        Ok((_, rt)) => rt,
        Err(skip) => return Ok(skip),
    };
    let req = token::client_id_only(
        client,
        cx.server.endpoints.token.clone(),
        refresh_form(&rt, None),
    );
    let resp = cx
        .send_token("refresh with the client_id alone, no secret", req)
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(format!(
            "confidential client `{}` refreshed without its secret: HTTP 200 with an access_token",
            client.id
        )));
    }
    Ok(Outcome::pass(format!(
        "a refresh with the client_id alone was refused ({})",
        resp.describe()
    )))
}

/// RFC 6749 §5.1: the refresh response carries tokens, so Cache-Control: no-store.
pub async fn no_store(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let rt = match refresh_token_of(cx, client, None).await? {
        Ok((_, rt)) => rt,
        Err(skip) => return Ok(skip),
    };
    let resp = cx
        .refresh("refresh with the refresh token", client, &rt, None)
        .await?;
    if !resp.issued() {
        return Err(ProbeError::Unexpected(format!(
            "the first use of a fresh refresh token failed: {}",
            resp.describe()
        )));
    }
    let cache_control = resp.header("cache-control").unwrap_or("absent");
    if !resp.is_no_store() {
        return Ok(Outcome::not_met(format!(
            "the refresh returned HTTP 200 with an access_token, and its Cache-Control is {cache_control} (no no-store)"
        )));
    }
    Ok(Outcome::pass(format!(
        "the refresh response carries Cache-Control: {cache_control}"
    )))
}

/// The narrower scope to ask for first and the scope to add at refresh time.
fn scope_pair(cx: &Cx, client: &Client) -> Option<(String, String)> {
    let mut granted: Vec<&str> = client.scope.split(' ').filter(|s| !s.is_empty()).collect();
    // offline_access decides whether a refresh token exists at all; never drop or add it.
    let keep: Vec<&str> = granted
        .iter()
        .copied()
        .filter(|s| *s == "openid" || *s == "offline_access")
        .collect();
    let candidates: Vec<String> = granted
        .iter()
        .filter(|s| !keep.contains(s))
        .map(|s| s.to_string())
        .chain(
            cx.server.metadata["scopes_supported"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .filter(|s| !granted.contains(s) && !matches!(*s, "openid" | "offline_access"))
                .map(str::to_string),
        )
        .collect();
    let extra = candidates.first()?.clone();
    granted.retain(|s| *s != extra);
    let narrow: Vec<&str> = if granted.is_empty() { keep } else { granted };
    if narrow.is_empty() {
        return None;
    }
    Some((narrow.join(" "), extra))
}

/// RFC 6749 §6: "The requested scope MUST NOT include any scope not originally granted".
pub async fn scope_not_widened(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let Some((narrow, extra)) = scope_pair(cx, client) else {
        return Ok(Outcome::skip(
            "no second scope to widen with: give [client] a scope of two values or more (for example \"openid profile\"), or publish scopes_supported",
        ));
    };
    let request = cx.request_for(client).set("scope", &narrow);
    let (first, rt) = match refresh_token_of(cx, client, Some(request)).await? {
        Ok(found) => found,
        Err(skip) => return Ok(skip),
    };
    if first
        .scopes()
        .is_some_and(|granted| granted.contains(&extra.as_str()))
    {
        return Ok(Outcome::skip(format!(
            "the server granted `{extra}` in the code exchange already, although only `{narrow}` was asked for, so a refresh cannot widen the grant with it; give [client] a scope the server grants only on request"
        )));
    }
    let wider = format!("{narrow} {extra}");
    let resp = cx
        .refresh(
            &format!("refresh asking for scope `{wider}`, wider than the granted `{narrow}`"),
            client,
            &rt,
            Some(&wider),
        )
        .await?;
    if !resp.issued() {
        let refused = format!(
            "a refresh asking for `{extra}` on top of the granted `{narrow}` was refused ({})",
            resp.describe()
        );
        // invalid_scope names the reason (RFC 6749 §5.2); any other refusal needs a control.
        if resp.error() == Some("invalid_scope") {
            return Ok(Outcome::pass(refused));
        }
        let control = cx
            .refresh(
                "control: refresh with the same token, no scope asked for",
                client,
                &rt,
                None,
            )
            .await?;
        return Ok(if control.issued() {
            Outcome::pass(format!(
                "{refused}; the same refresh token then refreshed without a scope"
            ))
        } else {
            Outcome::error(format!(
                "{refused}, not with invalid_scope, and the same refresh token then did not refresh without a scope either ({}): the scanner could not tell whether the wider scope was the reason",
                control.describe()
            ))
        });
    }
    match resp.scopes() {
        Some(scopes) if scopes.contains(&extra.as_str()) => Ok(Outcome::not_met(format!(
            "a refresh asking for `{extra}`, never granted, returned HTTP 200 with an access_token and scope `{}`",
            scopes.join(" ")
        ))),
        Some(scopes) => Ok(Outcome::pass(format!(
            "the refresh succeeded but the granted scope stayed `{}`, without `{extra}`",
            scopes.join(" ")
        ))),
        // The MUST NOT is not shown broken: the response may mean the original scope.
        None => Ok(Outcome::best_practice_not_met(format!(
            "a refresh asking for `{extra}` on top of the granted `{narrow}` returned tokens without a scope member, which RFC 6749 §5.1 reads as the requested (wider) scope"
        ))),
    }
}
