/**
 * Collects what is wrong with the inputs, so that one failed run lists
 * everything that needs fixing.
 */
export class Problems {
  readonly errors: string[] = []
  readonly warnings: string[] = []

  /** Records an error; returns undefined so a parser can `return problems.error(...)`. */
  error(message: string): undefined {
    this.errors.push(message)
    return undefined
  }

  warn(message: string): void {
    this.warnings.push(message)
  }

  get count(): number {
    return this.errors.length
  }
}

/** Where a value came from: an input of the step, or an environment variable. */
export type Source = { readonly input: string } | { readonly env: string }

export function sourceName(source: Source): string {
  return 'input' in source ? `Input "${source.input}"` : `The ${source.env} environment variable`
}
