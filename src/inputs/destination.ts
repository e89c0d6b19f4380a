import { sourceName, type Problems, type Source } from '../settings/problems.js'
import type { Env } from '../settings/settings.js'
import { DEFAULT_SITE, isDatadogApiHost, resolveSite } from './site.js'

/** Where the requests go. */
export interface Destination {
  /** Scheme, host and optional path prefix, no trailing slash. */
  readonly baseUrl: string
  /** `datadoghq.eu (EU1)`, or the api-url host. */
  readonly label: string
}

export interface DestinationInputs {
  readonly site: string
  readonly datadogSite: string
  readonly apiUrl: string
}

interface SiteChoice {
  readonly value: string
  readonly source: Source
}

interface SiteInput extends SiteChoice {
  readonly source: { readonly input: string }
}

/** The API base URL from api-url, else site / datadog-site, else DD_SITE, else the default site. */
export function parseDestination(problems: Problems, inputs: DestinationInputs, env: Env): Destination | undefined {
  const site = siteInput(problems, inputs)
  if (inputs.apiUrl) {
    if (site) {
      problems.warn(`"api-url" is set, so "${site.source.input}" is not used: requests go to the api-url host.`)
    }
    return parseApiUrl(problems, inputs.apiUrl)
  }
  const fromEnv = (env.DD_SITE ?? '').trim()
  const chosen: SiteChoice | undefined = site ?? (fromEnv ? { value: fromEnv, source: { env: 'DD_SITE' } } : undefined)
  const resolved = resolveSite(chosen?.value ?? DEFAULT_SITE, sourceName(chosen?.source ?? { input: 'site' }))
  if (!resolved.ok) return problems.error(resolved.message)
  return { baseUrl: `https://${resolved.apiHost}`, label: `${resolved.site.site} (${resolved.site.region})` }
}

/**
 * `datadog-site` is the name Datadog's own actions use: taken as `site`, so
 * a step copied from them does not quietly go to the default site.
 */
function siteInput(problems: Problems, inputs: DestinationInputs): SiteInput | undefined {
  const { site, datadogSite } = inputs
  if (site && datadogSite && !sameSite(site, datadogSite)) {
    problems.error('Inputs "site" and "datadog-site" name different sites; give only one.')
  }
  if (site) return { value: site, source: { input: 'site' } }
  if (datadogSite) return { value: datadogSite, source: { input: 'datadog-site' } }
  return undefined
}

/** Whether two spellings name one site (`EU1`, `datadoghq.eu`); a value that is no site counts as different. */
function sameSite(a: string, b: string): boolean {
  const [first, second] = [resolveSite(a), resolveSite(b)]
  return first.ok && second.ok ? first.site === second.site : a.toLowerCase() === b.toLowerCase()
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

function parseApiUrl(problems: Problems, text: string): Destination | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return problems.error(`Input "api-url" is not a URL; expected something like https://api.datadoghq.com.`)
  }
  const wrong: string[] = []
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    wrong.push('must start with https:// (plain http:// is accepted only for 127.0.0.1, ::1 and localhost)')
  }
  if (url.username || url.password) wrong.push('must not contain a user name or password')
  if (url.search || url.hash) wrong.push('must not contain a query (?) or fragment (#)')
  if (wrong.length > 0) return problems.error(`Input "api-url" ${wrong.join('; ')}.`)
  // Every Datadog API path starts with /api/: a pasted endpoint URL or one
  // ending in /api/v2 keeps only what comes before.
  const path = url.pathname.replace(/\/+$/, '')
  const apiAt = (path + '/').indexOf('/api/')
  const prefix = apiAt >= 0 ? path.slice(0, apiAt) : path
  if (url.protocol === 'https:' && !isDatadogApiHost(url.hostname) && /datadoghq|ddog-gov/i.test(url.hostname)) {
    problems.warn(
      `"api-url" names ${url.hostname}, which is not a Datadog API host; the API hosts are api.<site> (for example api.datadoghq.com). Use "site" for Datadog's own sites.`
    )
  }
  return { baseUrl: `${url.protocol}//${url.host}${prefix}`, label: url.host }
}
