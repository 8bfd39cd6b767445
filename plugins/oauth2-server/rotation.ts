import type { PresentedToken, RefreshFamily, RefreshTokenStore, Rotation } from './session-store.js'

/** The key of a request's DPoP proof, and whether the session's refresh tokens are bound to it too (a public client's, RFC 9449 §5). */
export interface ProofBinding {
  jkt?: string
  bindRefresh?: boolean
  /** Record the proof as used: at a refresh, once the token is to be swapped or its retry answered, not for a refusal. */
  use?: () => void | Promise<void>
}

const familyOf = ({ familyId, subject, scope, clientId, credential, authTime, acr, jkt }: RefreshFamily): RefreshFamily =>
  ({ familyId, subject, scope, clientId, credential, authTime, acr, jkt })

/**
 * Refresh-token reuse detection (RFC 9700 §4.14.2), the one rule every store gets: a token is
 * used once, swapped for its successor by the store's compare-and-swap, so of any number of
 * presentations at once (on any number of instances) one rotates it. Presented again, it was
 * stolen or replayed and its whole family is revoked, unless within `reuseInterval` ms of its
 * rotation its successor (derived from it, so the same for every retry) is still current: a
 * client that never heard the answer retries, and gets that successor again.
 *
 * A public client's proof binds an unbound family in the swap itself (RFC 9449 §5). A token
 * rotated already is judged on its family as it is now: bound meanwhile (by a concurrent
 * refresh), it is refused without the key, neither refreshed nor its family revoked; and a retry
 * is answered as the rotation was, so one asking for a binding the rotation did not make is refused.
 */
export async function decideRotation (
  store: RefreshTokenStore,
  presented: PresentedToken,
  [current, successor]: [string, string],
  reuseInterval: number,
  { jkt, bindRefresh = false, use }: ProofBinding
): Promise<Rotation> {
  const bind = bindRefresh ? jkt : undefined
  let token = presented
  let rotatedAt = presented.rotatedAt
  if (rotatedAt === null) {
    await use?.()
    const swapped = await store.rotate(current, successor, bind)
    if (swapped !== null) return { outcome: 'rotated', ...familyOf(swapped) }
    // Rotated or revoked since it was read (another instance): judged on what that left.
    const found = await store.find(current)
    if (found === null || found.rotatedAt === null) return { outcome: 'invalid' }
    token = found
    rotatedAt = found.rotatedAt
  }
  const now = store.now?.() ?? Date.now()
  if (reuseInterval > 0 && now - rotatedAt <= reuseInterval) {
    // A retry gets the successor only with the family's key; without it, it is neither a retry nor a reuse.
    if (token.jkt !== null && token.jkt !== jkt) return { outcome: 'invalid' }
    const next = await store.find(successor)
    const unrotated = next !== null && next.familyId === token.familyId && next.rotatedAt === null
    if (unrotated) {
      if (bind !== undefined && token.jkt === null) return { outcome: 'invalid' }
      await use?.()
      return { outcome: 'retried', ...familyOf(token) }
    }
  }
  // A reuse, key or not: the token was spent (perhaps before the family was bound, by whoever bound
  // it). The proof first, so a request replayed whole is refused as a replay and revokes nothing.
  await use?.()
  // Revoked once: of concurrent reuses of one family, one reports it.
  if (!(await store.revokeFamily(token.familyId, 'reuse'))) return { outcome: 'invalid' }
  return { outcome: 'reused', familyId: token.familyId, subject: token.subject }
}
