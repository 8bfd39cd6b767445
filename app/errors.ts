/** A unique constraint refused a row (a username or email already taken). */
export class DuplicateError extends Error {
  constructor (readonly field: string) {
    super(`${field} is already taken`)
  }
}

/** Map PostgreSQL's unique violation (23505, same code on PGlite) to a DuplicateError. */
export function rethrowDuplicate (err: unknown, fields: readonly string[]): never {
  const e = err as { code?: string, constraint?: string, detail?: string, message?: string }
  if (e?.code === '23505') {
    const text = `${e.constraint ?? ''} ${e.detail ?? ''} ${e.message ?? ''}`
    throw new DuplicateError(fields.find((f) => text.includes(f)) ?? fields[0])
  }
  throw err
}
