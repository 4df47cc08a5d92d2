-- wrk script for bench/wrk.sh: POST /token with a bogus authorization code for an unknown
-- client, i.e. the token endpoint's error path (every answer is expected to be a 4xx).
wrk.method = "POST"
wrk.body = "grant_type=authorization_code&code=bogus&redirect_uri=http://x/cb&client_id=nope"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
