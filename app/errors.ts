/** A unique constraint refused a row (a username or email already taken): `APP_ERR_DUPLICATE`, answered 409. */
export class DuplicateError extends Error {
  readonly code = 'APP_ERR_DUPLICATE'
  readonly statusCode = 409

  constructor (readonly field: string) {
    super(`${field} is already taken`)
    this.name = 'DuplicateError'
  }
}

/**
 * Map PostgreSQL's unique violation (23505, same code on PGlite) to a DuplicateError for the
 * field its constraint guards, found by the constraint's name (never by reading the message).
 */
export function rethrowDuplicate (err: unknown, constraints: Readonly<Record<string, string>>): never {
  const e = err as { code?: unknown, constraint?: unknown } | null
  if (e?.code === '23505') {
    const field = typeof e.constraint === 'string' ? constraints[e.constraint] : undefined
    throw new DuplicateError(field ?? Object.values(constraints)[0])
  }
  throw err
}
