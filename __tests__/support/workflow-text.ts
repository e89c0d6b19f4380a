// Reading workflows as text: the YAML blocks of a Markdown file, and the
// `${{ ... }}` expressions that a `run:` script would get pasted into it.
import { parse } from 'yaml'

export interface CodeBlock {
  line: number
  text: string
}

/** Fenced ```yaml / ```yml blocks, indented ones (inside list items) included. */
export function yamlBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = []
  const fence = /^([ \t]*)```ya?ml\b[^\n]*\n([\s\S]*?)^\1```[ \t]*$/gm
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1] ?? ''
    const body = (match[2] ?? '')
      .split('\n')
      .map(line => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n')
    blocks.push({ line: markdown.slice(0, match.index).split('\n').length, text: body })
  }
  return blocks
}

/**
 * Every `${{ ... }}` inside the value of a `run:` key, anywhere in a parsed
 * workflow or fragment of one, with the path to it. The runner pastes an
 * expression's value into the script before the shell reads it, so quotes or
 * `$(...)` in a step output become shell syntax; `env:` hands it over as data.
 */
export function expressionsInRun(yamlText: string): string[] {
  const found: string[] = []
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${path}[${i}]`))
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
        const where = path === '' ? key : `${path}.${key}`
        if (key === 'run' && typeof value === 'string') {
          for (const m of value.matchAll(/\$\{\{[\s\S]*?\}\}/g)) found.push(`${where}: ${m[0]}`)
        } else {
          visit(value, where)
        }
      }
    }
  }
  visit(parse(yamlText), '')
  return found
}
