#!/usr/bin/env bash
# Runs the installation flow (the Unsplash seed's five steps) with curl against a running broker
# and prints the new child's client_id. The parent it creates sends installations back to the
# broker's demo callback page (/demo/callback, Development only), which shows the code and the next
# command to a person following the same steps in a browser.
#
#   scripts/demo.sh [BROKER_URL]            (default http://localhost:5080)
#
# Uses PARENT_CLIENT_ID / PARENT_CLIENT_SECRET / DEMO_EMAIL / DEMO_PASSWORD when set; otherwise it
# creates a parent and a user with the broker's own command line, on the same default database.
# It checks that the broker answers before it creates anything, and names the step that failed.
set -euo pipefail
BROKER=${1:-http://localhost:5080}
cd "$(dirname "$0")/.."
fail() { echo "demo: $*" >&2; exit 1; }
trap 'echo "demo: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
command -v curl >/dev/null || fail "curl is needed"
curl -sf -o /dev/null --max-time 5 "$BROKER/healthz" \
  || fail "cannot reach the broker at $BROKER (GET /healthz); start it (dotnet run --project src/Broker) or pass its URL: scripts/demo.sh URL"
jar=$(mktemp); trap 'rm -f "$jar"' EXIT
cli() { dotnet run --no-build --project src/Broker --no-launch-profile -- "$@"; }
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" | head -1; }
form_token() { grep -o 'name="__RequestVerificationToken" value="[^"]*"' | sed 's/.*value="\([^"]*\)"/\1/' | head -1; }
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

if [ -z "${PARENT_CLIENT_ID:-}" ]; then
  # Built once, up front and to stderr, so that no build message mixes into the JSON the commands print.
  dotnet build src/Broker -v q -nologo >&2
  app=$(cli apps create --name "Demo Plugin $(date +%s)" --redirect-uri https://vendor.example/broker/callback --json)
  PARENT_CLIENT_ID=$(echo "$app" | field client_id)
  PARENT_CLIENT_SECRET=$(echo "$app" | field client_secret)
  cli parents enable "$PARENT_CLIENT_ID" --redirect-policy installation --callback-path /demo/callback >/dev/null
  REDIRECT_URI=${REDIRECT_URI:-$BROKER/demo/callback}
  DEMO_EMAIL="owner$(date +%s%N)@blog.example"; DEMO_PASSWORD="demo-password-$RANDOM$RANDOM"
  cli users create --email "$DEMO_EMAIL" --password "$DEMO_PASSWORD" >/dev/null
fi
# A parent given from outside keeps the README's callback path unless REDIRECT_URI says otherwise.
REDIRECT_URI=${REDIRECT_URI:-https://blog.example/broker/callback}
echo "parent: $PARENT_CLIENT_ID"

# Step 1: the site owner signs in (the login form carries an antiforgery token) ...
token=$(curl -sf -c "$jar" -b "$jar" "$BROKER/account/login" | form_token)
curl -sf -o /dev/null -c "$jar" -b "$jar" "$BROKER/account/login" \
  --data-urlencode "__RequestVerificationToken=$token" --data-urlencode "email=$DEMO_EMAIL" \
  --data-urlencode "password=$DEMO_PASSWORD" --data-urlencode "returnUrl=/account/apps"
# ... opens the authorize URL and sees the consent page ...
authorize="$BROKER/oauth/authorize?client_id=$PARENT_CLIENT_ID&redirect_uri=$(urlencode "$REDIRECT_URI")&response_type=code&scope=public&state=demo"
token=$(curl -sf -c "$jar" -b "$jar" "$authorize" | form_token)
# Step 2: ... and approves: the broker redirects to redirect_uri with the code.
location=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" "$BROKER/oauth/authorize" \
  --data-urlencode "__RequestVerificationToken=$token" --data-urlencode "client_id=$PARENT_CLIENT_ID" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "response_type=code" \
  --data-urlencode "scope=public" --data-urlencode "state=demo" --data-urlencode "decision=approve")
code=$(echo "$location" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
echo "redirected to: $location"
if [ "${location#"$BROKER"/demo/callback}" != "$location" ] && curl -sf -o /dev/null "$location"; then
  echo "(a browser would now show the broker's demo callback page with this code and the token command)"
fi

# Step 3: the installation exchanges the code for its one-time token.
response=$(curl -sf "$BROKER/oauth/token" -d client_id="$PARENT_CLIENT_ID" -d client_secret="$PARENT_CLIENT_SECRET" \
  --data-urlencode redirect_uri="$REDIRECT_URI" -d code="$code" -d grant_type=authorization_code)
echo "token response: $response"
access_token=$(echo "$response" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

# Step 4: it spends the token on its own application.
child=$(curl -sf "$BROKER/clients" -H "Authorization: Bearer $access_token" -H 'Content-Type: application/json' \
  -d '{"name":"Beverly'"'"'s Plugin instance","description":"blog.example"}')
echo "POST /clients: $child"

# Step 5: the child's client_id is the installation's own key.
echo "child client_id: $(echo "$child" | sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p')"
