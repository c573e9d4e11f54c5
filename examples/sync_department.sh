#!/usr/bin/env bash
# Keeps a local copy of what a token may read (one département, for a CAF agent or integration
# token) in sync through the change feed, with curl and jq, as an integrator would.
#
#   CTG_API=https://ctg.example CTG_TOKEN=eyJ... examples/sync_department.sh ./mirror
#
# Each run reads the feed from where the previous one stopped (./mirror/cursor) until it is up to
# date, and applies every event:
#   mirror/<resource>/<id>.json        the resource as the API answers it (removed when deleted)
#   mirror/observations/<indicator>/<geo_level>-<geo_code>-<period>.json   one observation each
# Applying an event twice gives the same files, and the cursor is saved only after its page is
# applied, so a run cut short is simply run again. Needs bash, curl and jq.
set -euo pipefail

API="${CTG_API:?set CTG_API to the base URL of the service}"
TOKEN="${CTG_TOKEN:?set CTG_TOKEN to a bearer token}"
DIR="${1:?usage: sync_department.sh DIR}"
PAGE=200

mkdir -p "$DIR"

get() {
    curl -fsS --retry 3 -H "Authorization: Bearer $TOKEN" "$API$1"
}

# The observations one bulk file wrote, for one indicator, page by page.
fetch_observations() {
    local indicator="$1" ingest_id="$2" token="" page
    while :; do
        page="$(get "/v1/indicators/$indicator/observations?ingest_id=$ingest_id&page_size=200${token:+&page_token=$token}")"
        mkdir -p "$DIR/observations/$indicator"
        jq -c '.items[]' <<< "$page" | while read -r row; do
            name="$(jq -r '"\(.geo_level)-\(.geo_code)-\(.period)"' <<< "$row")"
            jq . <<< "$row" > "$DIR/observations/$indicator/$name.json"
        done
        token="$(jq -r '.next_page_token // empty' <<< "$page")"
        [[ -n "$token" ]] || return 0
    done
}

apply() {
    local event="$1" resource id
    resource="$(jq -r .resource <<< "$event")"
    id="$(jq -r .resource_id <<< "$event")"
    if [[ "$(jq -r .type <<< "$event")" == contract.touched ]]; then
        # A part of the contract changed: only its version and updated_at move.
        if [[ -f "$DIR/contract/$id.json" ]]; then
            jq -s '.[0] * .[1]' "$DIR/contract/$id.json" <(jq .data <<< "$event") > "$DIR/contract/$id.json.new"
            mv "$DIR/contract/$id.json.new" "$DIR/contract/$id.json"
        fi
    elif [[ "$resource" == observations ]]; then
        for indicator in $(jq -r '.data.indicators | keys[]' <<< "$event"); do
            fetch_observations "$indicator" "$id"
        done
    elif [[ "$(jq -r '.data == null' <<< "$event")" == true ]]; then
        rm -f "$DIR/$resource/$id.json"
    else
        mkdir -p "$DIR/$resource"
        jq .data <<< "$event" > "$DIR/$resource/$id.json"
    fi
}

# A page of the feed; a cursor older than the feed's retention window is answered 410.
feed_page() {
    local answer status
    answer="$(curl -sS --retry 3 -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$API$1")"
    status="${answer##*$'\n'}"
    if [[ "$status" == 410 ]]; then
        echo "the feed no longer holds the events after $DIR/cursor: rebuild the copy from the lists" >&2
        exit 3
    elif [[ "$status" != 200 ]]; then
        echo "the feed answered $status: ${answer%$'\n'*}" >&2
        exit 1
    fi
    printf '%s\n' "${answer%$'\n'*}"
}

while :; do
    cursor="$(cat "$DIR/cursor" 2> /dev/null || true)"
    page="$(feed_page "/v1/events?limit=$PAGE${cursor:+&after=$cursor}")"
    while read -r event; do
        apply "$event"
    done < <(jq -c '.items[]' <<< "$page")
    jq -r .next_cursor <<< "$page" > "$DIR/cursor.new"
    mv "$DIR/cursor.new" "$DIR/cursor"
    applied="$(jq '.items | length' <<< "$page")"
    echo "applied $applied event(s)"
    [[ "$applied" -eq "$PAGE" ]] || break
done
