#!/usr/bin/env bash
# Upload a file for a Datadog Synthetic test through the multipart API, and
# hand the cleanup step what it needs the moment the upload exists.
#
#   upload-test-file.sh TEST_PUBLIC_ID FILE
#
# Environment:
#   DD_API_KEY, DD_APP_KEY        required
#   DD_SITE                       Datadog site (default datadoghq.com)
#   DD_API_URL                    API base URL instead of https://api.$DD_SITE
#                                 (a local emulator, say)
#   DD_BUCKET_KEY_PREFIX          api-upload-file (default) or
#                                 browser-upload-file-step
#   DD_SYNTHETICS_UPLOADS_FILE    if set (the guard sets it), Datadog's answer
#                                 that started the upload is appended to it,
#                                 one a line, then a completion mark once the
#                                 upload is complete: the guard's manifest, or
#                                 the action's uploads-file input
#   UPLOAD_PART_BYTES             part size (default 10 MiB, as Datadog's own
#                                 uploaders send; S3 takes 5 MiB to 5 GiB for
#                                 all parts but the last, and 10,000 parts)
#
# Writes key= and upload-id= to $GITHUB_OUTPUT right after Datadog has opened
# the upload, before any part is sent: if the job fails or is cancelled
# later, an `if: failure() || cancelled()` step can abort it. Each part goes
# to its presigned URL with its Content-MD5 and without the keys. Works with
# S3-style storage (200 and an ETag) and Azure Blob Storage (201, no ETag;
# the upload is completed with empty ETags, as Datadog's uploader does). Needs
# bash, curl, sed, grep and GNU coreutils (a Linux runner); no jq.
set -euo pipefail

fail() {
  echo "upload-test-file.sh: $*" >&2
  exit 1
}

[ "$#" -eq 2 ] || fail "usage: upload-test-file.sh TEST_PUBLIC_ID FILE"
test_id=$1
file=$2
[ -n "${DD_API_KEY:-}" ] || fail "DD_API_KEY is not set"
[ -n "${DD_APP_KEY:-}" ] || fail "DD_APP_KEY is not set"
[[ $test_id =~ ^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$ ]] || fail "'$test_id' is not a test public ID (like abc-def-123)"
[ -f "$file" ] || fail "$file is not a file"
[ -s "$file" ] || fail "$file is empty"
api_url=${DD_API_URL:-https://api.${DD_SITE:-datadoghq.com}}
api_url=${api_url%/}
prefix=${DD_BUCKET_KEY_PREFIX:-api-upload-file}
part_bytes=${UPLOAD_PART_BYTES:-10485760}
# At most 5 GiB, the largest part S3 takes; the digit count keeps bash's
# arithmetic from overflowing first.
if ! [[ $part_bytes =~ ^[1-9][0-9]{0,9}$ ]] || ((part_bytes > 5368709120)); then
  fail "UPLOAD_PART_BYTES must be a whole number of bytes from 1 to 5368709120 (5 GiB), got '$part_bytes'"
fi
# Storage takes at most 10,000 parts: refuse now, before Datadog opens an
# upload that could never be completed.
size=$(wc -c <"$file")
part_count=$(((size + part_bytes - 1) / part_bytes))
if ((part_count > 10000)); then
  fail "$file needs $part_count parts of $part_bytes bytes, and storage takes at most 10000: raise UPLOAD_PART_BYTES"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The keys go to curl as a header file on a pipe, so that they never appear
# in a process list as command-line arguments would.
key_headers() {
  printf 'DD-API-KEY: %s\nDD-APPLICATION-KEY: %s\n' "$DD_API_KEY" "$DD_APP_KEY"
}

# POST a JSON body file to one of the test's file endpoints; the answer is left
# in $tmp/answer. Fails, quoting Datadog's answer, on anything but 2xx.
api_post() {
  local endpoint=$1 body=$2 status
  status=$(curl -sS --connect-timeout 10 --max-time 120 -o "$tmp/answer" -w '%{http_code}' \
    -X POST -H @<(key_headers) -H 'Content-Type: application/json' \
    --data-binary @"$body" "$api_url/api/v2/synthetics/tests/$test_id/files/$endpoint") ||
    fail "could not reach $api_url ($endpoint)"
  case $status in
    2??) ;;
    *) fail "$endpoint answered $status: $(head -c 500 "$tmp/answer" | tr -d '\r\n')" ;;
  esac
}

# The first string value named $1 in the JSON on stdin, with the escapes a JSON
# encoder may put in a URL undone. Enough for Datadog's answer, not for any JSON.
json_string() {
  grep -o "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" |
    sed -n -e '1{' -e 's/^"[^"]*"[[:space:]]*:[[:space:]]*"//' -e 's/"$//' \
      -e 's#\\/#/#g' -e 's/\\u0026/\&/g' -e 's/\\u003[dD]/=/g' -e 's/\\u003[cC]/</g' -e 's/\\u003[eE]/>/g' \
      -e 'p' -e '}'
}

# Base64 of the MD5 of a file, as the start request takes it.
md5_base64() {
  local hex
  hex=$(md5sum <"$1")
  hex=${hex%% *}
  printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')" | base64
}

# True when a presigned URL leads to Azure Blob Storage.
azure_host() {
  local host=${1#*://}
  host=${host%%[/?#]*}
  host=${host##*@}
  host=${host%:*}
  [[ ${host,,} == *.blob.core.windows.net ]]
}

split -b "$part_bytes" -a 5 "$file" "$tmp/part-"
parts=("$tmp"/part-*)
md5s=()
for part in "${parts[@]}"; do md5s+=("$(md5_base64 "$part")"); done

{
  printf '{"bucketKeyPrefix":"%s","parts":[' "$prefix"
  for i in "${!parts[@]}"; do
    [ "$i" -eq 0 ] || printf ','
    printf '{"md5":"%s","partNumber":%d}' "${md5s[$i]}" $((i + 1))
  done
  printf ']}'
} >"$tmp/start.json"

api_post multipart-presigned-urls "$tmp/start.json"
answer=$(tr -d '\r\n' <"$tmp/answer")
key=$(json_string key <<<"$answer" || true)
upload_id=$(json_string upload_id <<<"$answer" || true)
urls=$(grep -o '"urls"[[:space:]]*:[[:space:]]*{[^}]*}' <<<"$answer" || true)
for value in "$key" "$upload_id" "$urls"; do
  if [ -z "$value" ] || [[ $value == *\\* ]]; then
    fail "unexpected answer from multipart-presigned-urls: ${answer:0:500}"
  fi
done

# The upload exists from here on: tell the cleanup step before anything else.
if [ -n "${DD_SYNTHETICS_UPLOADS_FILE:-}" ]; then
  printf '%s\n' "$answer" >>"$DD_SYNTHETICS_UPLOADS_FILE"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'key=%s\nupload-id=%s\n' "$key" "$upload_id" >>"$GITHUB_OUTPUT"
else
  printf 'key=%s\nupload-id=%s\n' "$key" "$upload_id"
fi
echo "Started upload $upload_id of $file (${#parts[@]} part(s))" >&2

# The parts go to storage with their Content-MD5 (storage checks it) and no
# Content-Type (the URLs are signed without one), never with the keys.
completed='['
azure_parts=0
for i in "${!parts[@]}"; do
  n=$((i + 1))
  url=$(json_string "$n" <<<"$urls" || true)
  [ -n "$url" ] || fail "the answer has no URL for part $n"
  status=$(curl -sS --connect-timeout 10 --max-time 600 -D "$tmp/put-headers" -o "$tmp/put-answer" \
    -w '%{http_code}' -H "Content-MD5: ${md5s[$i]}" --upload-file "${parts[$i]}" "$url") ||
    fail "could not send part $n"
  case $status in
    2??) ;;
    *) fail "part $n: storage answered $status: $(head -c 500 "$tmp/put-answer" | tr -d '\r\n')" ;;
  esac
  etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]:[[:space:]]*//p' "$tmp/put-headers" | tr -d '\r"')
  if [ -n "$etag" ]; then
    # Quoted (JSON-escaped), as in Datadog's API examples; S3 takes both.
    etag="\\\"$etag\\\""
  elif [ "$status" = 201 ] || azure_host "$url"; then
    # Azure's Put Block answers 201 without an ETag; Datadog's uploader
    # completes such a part with an empty one.
    azure_parts=$((azure_parts + 1))
  else
    fail "part $n: storage answered $status without an ETag"
  fi
  [ "$i" -eq 0 ] || completed+=','
  completed+=$(printf '{"ETag":"%s","PartNumber":%d}' "$etag" "$n")
done
completed+=']'
if [ "$azure_parts" -eq 0 ]; then
  storage="S3-style storage (an ETag for each part)"
else
  storage="Azure-style storage ($azure_parts part(s) without an ETag, completed with an empty one)"
fi

printf '{"key":"%s","uploadId":"%s","parts":%s}' "$key" "$upload_id" "$completed" >"$tmp/complete.json"
api_post multipart-upload-complete "$tmp/complete.json"
# A completed upload must not be aborted by the cleanup.
if [ -n "${DD_SYNTHETICS_UPLOADS_FILE:-}" ]; then
  printf '{"completed":{"key":"%s","uploadId":"%s"}}\n' "$key" "$upload_id" >>"$DD_SYNTHETICS_UPLOADS_FILE"
fi
echo "Completed upload $upload_id on $storage" >&2
