/** What went wrong, for people and for the `results` output. */
export type ErrorKind = 'invalid-input' | 'http' | 'redirect' | 'network' | 'tls' | 'timeout' | 'cancelled'
