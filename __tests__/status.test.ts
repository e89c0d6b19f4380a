import { describe, expect, test } from '@jest/globals'
import { hintFor, shortLocation } from '../src/datadog/hints.js'
import { describeStatus } from '../src/transport/status.js'

const LINE_BREAK = /[\n\r\u2028\u2029]/

describe('hintFor', () => {
  test.each([
    [400, /"key" and "upload-id"/],
    [401, /synthetics_write/],
    [403, /same organisation.*"site".*synthetics_write or the synthetics_create_edit_trigger/],
    [404, /"test-id".*not the bucketKey.*ignore-not-found/],
    [408, /safe to run the step again/],
    [429, /Rate limited/],
    [500, /safe to run the step again/],
    [503, /safe to run the step again/],
    [301, /redirect/],
    [307, /never follows/],
    [418, /Unexpected/]
  ])('%d', (status, pattern) => {
    expect(hintFor(status)).toMatch(pattern)
  })

  test.each([401, 403])('%d with an access token names its scope, its expiry and its user, not the keys', status => {
    const hint = hintFor(status, undefined, 'token')
    expect(hint).toMatch(/synthetics_write scope.*expired.*personal access token acts with its user's permissions/)
    expect(hint).not.toMatch(/API key|application key/)
  })

  test('a redirect names what would have gone along', () => {
    expect(hintFor(302, undefined, 'token')).toMatch(/the token would go along/)
    expect(hintFor(302)).toMatch(/the keys would go along/)
  })

  test.each([400, 404])('%d in a batch names the entry, not inputs the step was not given', status => {
    const hint = hintFor(status, 'uploads[3]')
    expect(hint).toContain('the key and upload ID of uploads[3]')
    expect(hint).not.toMatch(/"key"|"upload-id"|"test-id"/)
  })
})

describe('describeStatus and shortLocation', () => {
  test('known statuses get their name, others their number', () => {
    expect(describeStatus(404)).toBe('404 Not Found')
    expect(describeStatus(503)).toBe('503 Service Unavailable')
    expect(describeStatus(418)).toBe('418')
  })

  test('a Location loses its query (which may hold tokens) but keeps its host', () => {
    expect(shortLocation('https://evil.example/path?token=secret#x')).toBe('https://evil.example/path')
    expect(shortLocation(undefined)).toMatch(/no Location/)
    expect(shortLocation('/relative\n::error::x')).not.toMatch(LINE_BREAK)
  })
})
