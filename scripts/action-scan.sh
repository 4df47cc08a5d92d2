#!/usr/bin/env bash
# The scan step of the GitHub Action (action.yml), kept in a file so that a test runs it as
# the Action does. Inputs come from the environment, never spliced into the script:
#   OAUTHPROBE_CONFIG      target file or directory of target files (required)
#   OAUTHPROBE_ARGS        more `scan` options, split on spaces (e.g. "--shard 1/4 --only pkce")
#   OAUTHPROBE_FAIL_ON     --fail-on severity (default low)
#   OAUTHPROBE_REPORT_DIR  where the reports go (default oauthprobe-report)
#   OAUTHPROBE_BIN         the binary (default: oauthprobe on PATH)
#   GITHUB_OUTPUT, GITHUB_STEP_SUMMARY  as GitHub Actions sets them (optional elsewhere)
# Writes oauthprobe.{sarif,json,md,xml} in the report dir, the Markdown to the job summary,
# and `exit-code`, `sarif`, `json`, `junit`, `markdown` to GITHUB_OUTPUT. Exits 0 whatever the
# scan found: the Action's last step gates on exit-code, after the SARIF is uploaded.
set -uo pipefail

config=${OAUTHPROBE_CONFIG:?set OAUTHPROBE_CONFIG to a target file or directory}
dir=${OAUTHPROBE_REPORT_DIR:-oauthprobe-report}
bin=${OAUTHPROBE_BIN:-oauthprobe}
mkdir -p "$dir" || exit 2

read -r -a extra <<<"${OAUTHPROBE_ARGS:-}"
"$bin" scan --config "$config" --fail-on "${OAUTHPROBE_FAIL_ON:-low}" "${extra[@]}" \
    --report "sarif=$dir/oauthprobe.sarif" \
    --report "json=$dir/oauthprobe.json" \
    --report "junit=$dir/oauthprobe.xml" \
    --report "markdown=$dir/oauthprobe.md"
code=$?

if [[ -n ${GITHUB_STEP_SUMMARY:-} && -f $dir/oauthprobe.md ]]; then
    cat "$dir/oauthprobe.md" >>"$GITHUB_STEP_SUMMARY"
fi
if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    {
        echo "exit-code=$code"
        echo "sarif=$dir/oauthprobe.sarif"
        echo "json=$dir/oauthprobe.json"
        echo "junit=$dir/oauthprobe.xml"
        echo "markdown=$dir/oauthprobe.md"
    } >>"$GITHUB_OUTPUT"
fi
case $code in
0) echo "oauthprobe: no check failed at or above ${OAUTHPROBE_FAIL_ON:-low}" ;;
1) echo "oauthprobe: a check failed (exit 1); the gate step fails after the upload" ;;
3) echo "oauthprobe: the scan is incomplete (exit 3)" ;;
*) echo "oauthprobe: exit $code (2: the command line or a target file is wrong)" ;;
esac
exit 0
