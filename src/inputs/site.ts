import { editDistance, quote } from '../text/text.js'

export interface Site {
  /** What Datadog calls the site: `datadoghq.com`, `datadoghq.eu`... */
  readonly site: string
  /** Datadog's region name: `US1`, `EU1`... */
  readonly region: string
}

export const SITES: readonly Site[] = [
  { site: 'datadoghq.com', region: 'US1' },
  { site: 'us3.datadoghq.com', region: 'US3' },
  { site: 'us5.datadoghq.com', region: 'US5' },
  { site: 'datadoghq.eu', region: 'EU1' },
  { site: 'ap1.datadoghq.com', region: 'AP1' },
  { site: 'ap2.datadoghq.com', region: 'AP2' },
  { site: 'uk1.datadoghq.com', region: 'UK1' },
  { site: 'ddog-gov.com', region: 'US1-FED' },
  { site: 'us2.ddog-gov.com', region: 'US2-FED' }
]

export const DEFAULT_SITE = 'datadoghq.com'

export type SiteResult = { ok: true; site: Site; apiHost: string } | { ok: false; message: string }

export function apiHostOf(site: Site): string {
  return `api.${site.site}`
}

export function isDatadogApiHost(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '')
  return SITES.some(s => apiHostOf(s) === name)
}

/**
 * Maps every spelling people paste for a site (bare site, web-app host, API
 * host, a URL of either, a region name or a short one that names a single
 * region, any letter case) to the site.
 */
export function resolveSite(raw: string, label = 'Input "site"'): SiteResult {
  const text = raw.trim()
  const host = hostPart(text)
  const found = host === undefined ? undefined : lookup(host)
  if (found) return { ok: true, site: found, apiHost: apiHostOf(found) }

  const valid = SITES.map(s => `${s.site} (${s.region})`).join(', ')
  const tail = `Valid sites: ${valid}. To reach another host, set "api-url" instead.`
  const regions = host === undefined ? [] : regionsNamed(host)
  if (regions.length > 1) {
    const names = regions.map(s => s.region).join(', ')
    return {
      ok: false,
      message: `${label} is ${quote(text, 81)}, which names several regions (${names}): give one. ${tail}`
    }
  }
  const nearest = host === undefined ? [] : suggest(host)
  const hint = nearest.length > 0 ? ` Did you mean ${nearest.map(n => `"${n}"`).join(' or ')}?` : ''
  return { ok: false, message: `${label} is ${quote(text, 81)}, which is not a Datadog site.${hint} ${tail}` }
}

function hostPart(text: string): string | undefined {
  let host = text.toLowerCase()
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(host)) {
    try {
      const url = new URL(host)
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
      if (url.username || url.password || url.port) return undefined
      host = url.hostname
    } catch {
      return undefined
    }
  } else {
    // A web-app address copied without its scheme keeps only its host.
    host = host.split('/')[0] ?? ''
  }
  return host.replace(/\.$/, '')
}

function lookup(host: string): Site | undefined {
  const region = SITES.find(s => s.region.toLowerCase() === host.replace(/_/g, '-'))
  if (region) return region
  const short = regionsNamed(host)
  if (short.length === 1) return short[0]
  const bare = host.replace(/^(app|api)\./, '')
  return SITES.find(s => s.site === bare)
}

/**
 * The regions a short name without a number could mean: `eu` is EU1 alone,
 * `us` five of them; `gov` and `fed` the two US-FED ones.
 */
function regionsNamed(host: string): Site[] {
  const word = host === 'gov' ? 'fed' : host
  if (!/^[a-z]{2,3}$/.test(word)) return []
  return SITES.filter(s =>
    s.region
      .toLowerCase()
      .split(/[\d-]+/)
      .includes(word)
  )
}

/** The sites meant most likely, the default first when it is one of them. */
function suggest(host: string): string[] {
  const regions = regionsNamed(host)
  if (regions.length > 0) return regions.map(s => s.region)
  const bare = host.replace(/^(app|api)\./, '')
  // A site with something added after it: `datadoghq.eu.com`.
  const within = SITES.filter(s => bare.startsWith(`${s.site}.`))
  if (within.length > 0) return within.map(s => s.site)
  // `datadoghq` alone: the site with its domain ending left off.
  const truncated = SITES.filter(s => s.site.startsWith(`${bare}.`) && !s.site.slice(bare.length + 1).includes('.'))
  if (truncated.length > 0) return truncated.map(s => s.site)
  let best: { name: string; distance: number } | undefined
  for (const s of SITES) {
    for (const candidate of [s.site, s.region.toLowerCase()]) {
      const distance = editDistance(bare, candidate)
      if (!best || distance < best.distance) {
        best = { name: candidate === s.site ? s.site : s.region, distance }
      }
    }
  }
  if (!best) return []
  // Farther than a third of the name is a different word, not a typo.
  return best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? [best.name] : []
}
