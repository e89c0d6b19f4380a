import { describe, expect, test } from '@jest/globals'
import { apiHostOf, DEFAULT_SITE, isDatadogApiHost, resolveSite, SITES } from '../src/inputs/site.js'

// The table of docs/datadog-api.md, written out independently of src/inputs/site.ts.
const TABLE: ReadonlyArray<[site: string, region: string]> = [
  ['datadoghq.com', 'US1'],
  ['us3.datadoghq.com', 'US3'],
  ['us5.datadoghq.com', 'US5'],
  ['datadoghq.eu', 'EU1'],
  ['ap1.datadoghq.com', 'AP1'],
  ['ap2.datadoghq.com', 'AP2'],
  ['uk1.datadoghq.com', 'UK1'],
  ['ddog-gov.com', 'US1-FED'],
  ['us2.ddog-gov.com', 'US2-FED']
]

function hostFor(raw: string): string {
  const result = resolveSite(raw)
  if (!result.ok) throw new Error(`expected ${JSON.stringify(raw)} to resolve, got: ${result.message}`)
  return result.apiHost
}

function failureFor(raw: string, inputName?: string): string {
  const result = resolveSite(raw, inputName)
  if (result.ok) throw new Error(`expected ${JSON.stringify(raw)} to be refused, got ${result.apiHost}`)
  return result.message
}

describe('resolveSite: every spelling of every site', () => {
  test('the table of sites is the documented one', () => {
    expect(SITES.map(s => [s.site, s.region])).toEqual(TABLE)
    expect(DEFAULT_SITE).toBe('datadoghq.com')
  })

  describe.each(TABLE)('%s (%s)', (site, region) => {
    const api = `api.${site}`
    const spellings = [
      site,
      `app.${site}`,
      api,
      `https://${site}`,
      `https://${site}/`,
      `https://app.${site}/`,
      `https://app.${site}/synthetics/tests?query=x#top`,
      `https://${api}/api/v2`,
      `http://app.${site}`,
      `${site}/`,
      `app.${site}/synthetics/tests`,
      `app.${site}.`,
      site.toUpperCase(),
      `APP.${site.toUpperCase()}`,
      `HTTPS://API.${site.toUpperCase()}/`,
      `  ${site}  `,
      region,
      region.toLowerCase(),
      region.replace('-', '_')
    ]
    test.each(spellings)('%j resolves to the API host', spelling => {
      expect(hostFor(spelling)).toBe(api)
      const result = resolveSite(spelling)
      expect(result.ok && result.site.region).toBe(region)
    })
  })

  test.each([
    ['eu', 'EU1'],
    ['EU', 'EU1'],
    ['uk', 'UK1'],
    ['us1', 'US1'],
    ['us3', 'US3'],
    ['US5', 'US5'],
    ['ap1', 'AP1'],
    ['ap2', 'AP2'],
    ['uk1', 'UK1'],
    ['us1-fed', 'US1-FED'],
    ['us2_fed', 'US2-FED']
  ])('the short name %j names %s alone', (name, region) => {
    const result = resolveSite(name)
    expect(result.ok && result.site.region).toBe(region)
  })

  test('the API host is api. plus the site, and only those count as API hosts', () => {
    for (const s of SITES) {
      expect(apiHostOf(s)).toBe(`api.${s.site}`)
      expect(isDatadogApiHost(`API.${s.site.toUpperCase()}`)).toBe(true)
      expect(isDatadogApiHost(`app.${s.site}`)).toBe(false)
    }
    expect(isDatadogApiHost('api.datadoghq.com.evil.example')).toBe(false)
  })
})

describe('resolveSite: unknown sites', () => {
  test('the message names the input, quotes the value and lists every valid site', () => {
    const message = failureFor('datadog.example', 'Input "site"')
    expect(message).toContain('"site"')
    expect(message).toContain('"datadog.example"')
    for (const [site, region] of TABLE) {
      expect(message).toContain(site)
      expect(message).toContain(region)
    }
  })

  test.each([
    ['datadoghq.co', 'datadoghq.com'],
    ['datadog.eu', 'datadoghq.eu'],
    ['app.datadoghq.co', 'datadoghq.com'],
    ['https://app.datadog.eu/', 'datadoghq.eu'],
    ['us3.datadoghq.co', 'us3.datadoghq.com'],
    ['ddog-gov.co', 'ddog-gov.com']
  ])('%j suggests %j', (typo, nearest) => {
    expect(failureFor(typo)).toContain(`Did you mean "${nearest}"?`)
  })

  test.each([
    ['datadoghq', '"datadoghq.com" or "datadoghq.eu"'],
    ['app.datadoghq', '"datadoghq.com" or "datadoghq.eu"'],
    ['ddog-gov', '"ddog-gov.com"'],
    ['datadoghq.eu.com', '"datadoghq.eu"']
  ])('%j, which could be more than one site, suggests %s', (name, suggestion) => {
    expect(failureFor(name)).toContain(`Did you mean ${suggestion}?`)
  })

  test.each([
    ['us', 'US1, US3, US5, US1-FED, US2-FED'],
    ['AP', 'AP1, AP2'],
    ['gov', 'US1-FED, US2-FED'],
    ['fed', 'US1-FED, US2-FED']
  ])('%j names several regions: the message lists them (%s) and asks for one', (name, regions) => {
    expect(failureFor(name)).toContain(`which names several regions (${regions}): give one.`)
  })

  test('a name far from every site gets no suggestion', () => {
    expect(failureFor('example.org')).not.toContain('Did you mean')
  })

  test.each([
    'datadoghq.com.evil.example',
    'https://datadoghq.com.evil.example/',
    'api.datadoghq.com.evil.example',
    'api.datadoghq.com@evil.example',
    'https://api.datadoghq.com@evil.example',
    'https://user:pass@api.datadoghq.com',
    'https://api.datadoghq.com:8443',
    'evil.example/datadoghq.com',
    'https://evil.example/?site=datadoghq.com',
    'ftp://datadoghq.com',
    'xdatadoghq.com',
    ''
  ])('lookalike or foreign %j is refused', raw => {
    expect(failureFor(raw)).toContain('not a Datadog site')
  })

  test('the message names the input it is given, and a very long value is clipped', () => {
    const message = failureFor('x'.repeat(5000), 'The DD_SITE environment variable')
    expect(message).toMatch(/^The DD_SITE environment variable is "x+…"/)
    expect(message.length).toBeLessThan(1000)
  })
})
