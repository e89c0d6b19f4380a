import { describe, expect, test } from '@jest/globals'
import type { UploadResult } from '../src/abort/outcomes.js'
import { renderInputErrors, renderSummary } from '../src/report/summary.js'
import { MISSING_OUTPUT_HINT } from '../src/settings/upload.js'

function result(
  overrides: Partial<UploadResult> & { testId?: string; key?: string; uploadId?: string } = {}
): UploadResult {
  const { testId = 'abc-def-123', key = 'org/api-upload-file/abc-def-123/f.json', uploadId = 'u1', ...rest } = overrides
  return {
    upload: { testId, key, uploadId },
    outcome: 'aborted',
    status: 204,
    errors: [],
    attempts: 1,
    message: 'Aborted.',
    ...rest
  }
}

/** The Markdown with every code span taken out: what GitHub would still interpret. */
function outsideCode(markdown: string): string {
  // A span closes on a run of backticks as long as the one that opened it.
  return markdown.replace(/(`+)[\s\S]*?\1(?!`)/g, '')
}

/**
 * The rows of the table, split into cells as GitHub's cmark-gfm does: its
 * cell scanner takes the longest match of (backslash + punctuation | other),
 * so a pipe right after a backslash is always part of the cell.
 */
function tableRows(markdown: string): string[][] {
  const lines = markdown.split('\n')
  const header = lines.findIndex(l => l.startsWith('| Test |'))
  expect(header).toBeGreaterThan(-1)
  const rows: string[][] = []
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break
    const cells: string[] = []
    let cell = ''
    for (let i = 1; i < line.length; i++) {
      if (line[i] === '|' && line[i - 1] !== '\\') {
        cells.push(cell.trim())
        cell = ''
      } else {
        cell += line.charAt(i)
      }
    }
    rows.push(cells)
  }
  return rows
}

describe('renderSummary', () => {
  test('one row per upload, seven cells each, with outcome, status and attempts', () => {
    const md = renderSummary(
      [
        result({ uploadId: 'u1' }),
        result({ uploadId: 'u2', outcome: 'not-found', status: 404, warning: 'gone' }),
        result({
          uploadId: 'u3',
          outcome: 'failed',
          status: 403,
          attempts: 1,
          errors: ['Forbidden'],
          hint: 'Check the keys.'
        }),
        result({ uploadId: 'u4', outcome: 'failed', status: undefined, attempts: 6, errors: ['connection refused'] })
      ],
      'datadoghq.eu (EU1)',
      false
    )
    const rows = tableRows(md)
    expect(rows).toHaveLength(4)
    for (const row of rows) expect(row).toHaveLength(7)
    expect(rows.map(r => r[1])).toEqual(['`u1`', '`u2`', '`u3`', '`u4`'])
    expect(rows.map(r => r[4])).toEqual(['204', '404', '403', ''])
    expect(rows.map(r => r[5])).toEqual(['1', '1', '1', '6'])
    expect(rows[0]?.[3]).toMatch(/aborted/)
    expect(rows[1]?.[3]).toMatch(/not found/)
    expect(rows[2]?.[3]).toMatch(/failed/)
    expect(rows[2]?.[6]).toBe('`Forbidden`; Check the keys.')
    expect(md).toContain('datadoghq.eu (EU1)')
    expect(md).toMatch(/2 of 4 upload\(s\) could not be aborted/)
  })

  test('headline for full success counts aborted and already gone', () => {
    const md = renderSummary([result(), result({ uploadId: 'u2', outcome: 'not-found', status: 404 })], 'x', false)
    expect(md).toMatch(/1 upload\(s\) aborted, 1 already gone/)
  })

  test('a cancelled upload counts as not aborted', () => {
    const md = renderSummary([result({ outcome: 'cancelled', status: undefined })], 'x', false)
    expect(md).toMatch(/1 of 1 upload\(s\) could not be aborted/)
  })

  test('dry run says nothing was sent', () => {
    const md = renderSummary(
      [
        result({ outcome: 'dry-run', status: undefined, attempts: 0 }),
        result({ outcome: 'dry-run', status: undefined, attempts: 0 })
      ],
      'x',
      true
    )
    expect(md).toMatch(/Dry run: 2 upload\(s\) would be aborted; nothing was sent/)
    expect(tableRows(md)).toHaveLength(2)
  })

  test('untrusted text cannot add cells, rows or HTML', () => {
    const nasty = 'a|b\n| injected | row |\r\n<script>alert(1)</script><img src=x onerror=y>'
    const md = renderSummary(
      [
        result({
          key: nasty,
          uploadId: nasty,
          outcome: 'failed',
          status: 500,
          errors: [nasty, '`code` | more'],
          hint: nasty
        })
      ],
      nasty,
      false
    )
    const rows = tableRows(md)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toHaveLength(7)
    expect(outsideCode(md)).not.toMatch(/<script|<img/i)
    expect(md).not.toContain('\r')
    expect(md).not.toMatch(/^\| injected/m)
  })

  test('server text and inputs stay literal: no link, image, @mention or math outside a code span', () => {
    const hostile =
      'Your key expired, renew at https://evil.example/renew or www.evil.example, ask @octocat, ' +
      '![x](https://evil.example/p.png) [click](javascript:x) <a href="https://evil.example">here</a> $e^{i\\pi}$ $$x$$'
    const md = renderSummary(
      [result({ testId: hostile, key: hostile, uploadId: hostile, outcome: 'failed', status: 401, errors: [hostile] })],
      'datadoghq.com (US1)',
      false
    )
    const outside = outsideCode(md)
    for (const marker of ['https://', 'www.', '@octocat', '![', '](', '<a', '$']) expect(outside).not.toContain(marker)
    expect(md).toContain('renew at https://evil.example/renew')
  })

  test('text ending in a backslash cannot swallow the cell border', () => {
    const md = renderSummary(
      [result({ outcome: 'failed', status: 400, errors: ['C:\\'], key: 'k\\', uploadId: 'u\\' })],
      'x',
      false
    )
    const rows = tableRows(md)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toHaveLength(7)
  })

  test('a very large batch is cut, pointing at the results output', () => {
    const many = Array.from({ length: 520 }, (_, i) => result({ uploadId: `u${i}` }))
    const md = renderSummary(many, 'x', false)
    expect(tableRows(md)).toHaveLength(500)
    expect(md).toMatch(/20 more uploads/)
    expect(md).toMatch(/520 upload\(s\) aborted/)
  })
})

describe("code in the action's own words", () => {
  test('the step-output hint of an empty input shows its guard as code, not as quotes', () => {
    const md = renderInputErrors([`Input "upload-id" is empty while "key" is set. ${MISSING_OUTPUT_HINT}`])
    // Shown literally, in a code span whose fence outlasts the backticks inside.
    expect(md).toContain('- ``Input "upload-id" is empty')
    expect(md).toContain("`if: steps.<step id>.outputs.<output name> != ''`.``")
    expect(md).not.toContain("'if: steps")
  })

  test("a failure's hint shows code; Datadog's words never become code", () => {
    const md = renderSummary(
      [result({ outcome: 'failed', status: 400, errors: ['`rm -rf` <b>'], hint: 'Set `ignore-not-found: true`.' })],
      'x',
      false
    )
    expect(tableRows(md)[0]?.[6]).toBe('`` `rm -rf` <b> ``; Set <code>ignore-not-found: true</code>.')
  })

  test('an input error quoting text from elsewhere shows it literally: no link, no HTML, backticks and all', () => {
    const md = renderInputErrors([
      'Input "site" is "`[x](https://evil.example)` <img src=x> `a|b", which is not a site.'
    ])
    expect(md).toContain('- ``Input "site" is "`[x](https://evil.example)` <img src=x> `a\\|b", which is not a site.``')
    expect(outsideCode(md)).not.toMatch(/<img|\[x\]/)
  })
})
