/**
 * The canonical form of a user name, for uniqueness and for counting failed logins: compatibility
 * forms folded (NFKC: full-width `Ａｄａ`, ligatures), surrounding white space trimmed, case folded
 * (`Ada`, `ADA` and `ada` are one name; `ß` and `ss` too). Two names an app stores as different
 * accounts must differ here, or they would share one lockout counter: keep your users unique by
 * this form (a unique column holding it), and look them up by it.
 *
 * @example
 * await db.query('INSERT INTO users (name, name_key) VALUES ($1, $2)', [name, canonicalUsername(name)])
 */
export function canonicalUsername (username: string): string {
  // Upper then lower case maps what lower case alone leaves apart (ß → SS → ss, ς/σ → Σ → σ).
  return username.normalize('NFKC').trim().toUpperCase().toLowerCase().normalize('NFKC')
}
