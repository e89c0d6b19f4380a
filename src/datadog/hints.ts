import type { Credentials } from '../settings/settings.js'
import { oneLine, truncate } from '../text/text.js'

// What to check when an HTTP status ends an upload's abort, in the words of
// the person reading the step.

/**
 * What the person reading the failed step should check, by status; `entry`
 * names the manifest entry of a batch, whose fields are not inputs, and
 * `auth` what the requests carried.
 */
export function hintFor(status: number, entry?: string, auth: Credentials['kind'] = 'keys'): string {
  const pair = entry === undefined ? '"key" and "upload-id"' : `the key and upload ID of ${entry}`
  if (status === 400) return `Datadog refused the request itself: check ${pair} (the errors above say which field).`
  if ((status === 401 || status === 403) && auth === 'token')
    return 'Check that the access token has the synthetics_write scope, that it has not expired (personal access tokens always expire: create a new one and update the secret), that it belongs to the organisation of "site" (or "api-url"), and, for a personal access token, that its user has the synthetics_write permission: a personal access token acts with its user\'s permissions.'
  if (status === 401 || status === 403)
    return 'Check that the API key and application key belong to the same organisation, that "site" (or "api-url") is the site of that organisation, and that the application key has the synthetics_write or the synthetics_create_edit_trigger permission (Datadog accepts either).'
  if (status === 404)
    return `Check ${entry === undefined ? '"test-id"' : `the test of ${entry}`} and "site" (or "api-url"), and that ${pair} come from the same answer that started the upload: the key is multipart_presigned_urls_params.key (the full storage path), not the bucketKey beside it (api-upload-file/... or browser-upload-file-step/...). The upload may also be completed or aborted already (set ignore-not-found: true to treat that as success).`
  if (status === 408) return 'The request timed out on the way; it is safe to run the step again.'
  if (status === 413) return 'The request body was refused as too large.'
  if (status === 429)
    return 'Rate limited by Datadog: the limit did not reset in time; run again later or raise "timeout".'
  if (status >= 500 && status < 600) return 'Datadog or a proxy in between failed; it is safe to run the step again.'
  if (status >= 300 && status < 400)
    return `The API answered with a redirect, which this action never follows (the ${auth === 'token' ? 'token' : 'keys'} would go along): check "site" or "api-url".`
  return 'Unexpected answer from the API.'
}

export function shortLocation(location: string | undefined): string {
  if (!location) return '(no Location header)'
  try {
    const url = new URL(location)
    return truncate(`${url.protocol}//${url.host}${url.pathname}`, 200)
  } catch {
    return oneLine(location, 200)
  }
}
