import { randomUUID } from 'node:crypto'
import type { PresentedToken, RefreshFamily, RefreshTokenStore } from '../../plugins/oauth2-server/session-store.js'

export interface MemoryRefreshTokenOptions {
  /**
   * Most token digests held. A family keeps every token it had, so reuse of any is recognised.
   * When full, what can no longer be used is purged first (at most once a second), then sessions
   * end: those rotated more than 64 times first (one session refreshed over and over cannot push
   * the others out), then the least recently used. Default 100 000.
   */
  max?: number
  /** Clock in ms since the epoch, for rotation times, expiry and purges. Default `Date.now`. */
  now?: () => number
}

interface Family extends RefreshFamily {
  expiresAt: number
  revokedAt: number | null
  revokedReason: string | null
  successorKey: string
  digests: string[]
}

interface Token { familyId: string, rotatedAt: number | null }

/** The credential version of a subject that is gone: greater than any a login can report. */
const GONE = Number.POSITIVE_INFINITY
const DAY = 86_400_000
/** A family past this many tokens is the first to go when the store is full. */
const FAMILY_DIGESTS = 64

/** Bookkeeping of one store: what `RefreshTokenStore` exposes is in `memoryRefreshTokenStore`. */
class Families {
  readonly byId = new Map<string, Family>()
  readonly tokens = new Map<string, Token>()
  readonly bySubject = new Map<string, Set<string>>()
  readonly credentials = new Map<string, { version: number, updatedAt: number }>()
  /** Families past FAMILY_DIGESTS, the first to go when full (so a full store need not scan them all). */
  readonly oversized = new Set<Family>()
  lastPurge = Number.NEGATIVE_INFINITY

  constructor (readonly max: number, readonly now: () => number) {}

  // A family without a credential version is stale only once its subject is gone.
  stale (f: Family): boolean {
    const current = this.credentials.get(f.subject)
    return current !== undefined && current.version > (f.credential ?? Number.MAX_VALUE)
  }

  live (f: Family | undefined): f is Family {
    return f !== undefined && f.revokedAt === null && !this.stale(f) && f.expiresAt > this.now()
  }

  familyOf (digest: string): [Token, Family] | undefined {
    const token = this.tokens.get(digest)
    const family = token === undefined ? undefined : this.byId.get(token.familyId)
    return token === undefined || family === undefined ? undefined : [token, family]
  }

  /** Record the credential version a new session checked; false when the subject's is newer (the session must not start). */
  recordCredential (subject: string, credential: number | undefined): boolean {
    if (credential === undefined) return true
    const current = this.credentials.get(subject)
    if (current !== undefined && current.version > credential) return false
    this.credentials.set(subject, { version: credential, updatedAt: current?.updatedAt ?? this.now() })
    return true
  }

  revoke (f: Family, reason: string): void {
    f.revokedAt = this.now()
    f.revokedReason = reason
  }

  /** End the live sessions of a subject (those of an older credential only, when one is given); their ids. */
  revokeSubject (subject: string, reason: string, credential: number | null | undefined): string[] {
    let older: number | null = null
    if (credential !== undefined) {
      older = credential ?? GONE
      const current = this.credentials.get(subject)
      this.credentials.set(subject, { version: Math.max(current?.version ?? older, older), updatedAt: this.now() })
    }
    const revoked: string[] = []
    for (const id of this.bySubject.get(subject) ?? []) {
      const f = this.byId.get(id)
      if (f === undefined || f.revokedAt !== null || f.expiresAt <= this.now()) continue
      if (older !== null && f.credential !== null && f.credential >= older) continue
      this.revoke(f, reason)
      revoked.push(id)
    }
    return revoked
  }

  add (family: Family, digest: string): void {
    this.byId.set(family.familyId, family)
    this.tokens.set(digest, { familyId: family.familyId, rotatedAt: null })
    family.digests.push(digest)
    const subjects = this.bySubject.get(family.subject) ?? new Set()
    this.bySubject.set(family.subject, subjects.add(family.familyId))
  }

  drop (family: Family): void {
    this.byId.delete(family.familyId)
    this.oversized.delete(family)
    for (const digest of family.digests) this.tokens.delete(digest)
    const subjects = this.bySubject.get(family.subject)
    subjects?.delete(family.familyId)
    if (subjects?.size === 0) this.bySubject.delete(family.subject)
  }

  /** A family's next token; the family is now the most recently used. */
  extend (family: Family, digest: string): void {
    this.tokens.set(digest, { familyId: family.familyId, rotatedAt: null })
    family.digests.push(digest)
    if (family.digests.length > FAMILY_DIGESTS) this.oversized.add(family)
    this.byId.delete(family.familyId)
    this.byId.set(family.familyId, family)
  }

  /**
   * Room for `more` digests: the unusable purged first (once a second at most), then families
   * past FAMILY_DIGESTS, `keep` included, then the least recently used but `keep`. False when
   * `keep` itself had to go.
   */
  makeRoom (more: number, keep?: Family): boolean {
    const fits = (): boolean => this.tokens.size + more <= this.max
    if (fits()) return true
    if (this.now() - this.lastPurge >= 1000) this.purge()
    for (const family of this.oversized) {
      if (fits()) break
      this.drop(family)
    }
    for (const family of this.byId.values()) {
      if (fits()) break
      if (family !== keep) this.drop(family)
    }
    return keep === undefined || this.byId.has(keep.familyId)
  }

  purge (): number {
    const now = this.now()
    this.lastPurge = now
    let purged = 0
    for (const family of this.byId.values()) {
      if (family.expiresAt <= now || (family.revokedAt !== null && family.revokedAt <= now - DAY)) {
        this.drop(family)
        purged++
      }
    }
    // A version is kept while its subject has families, and a day after its last change: no
    // login that checked an older one is still in flight.
    for (const [subject, { updatedAt }] of this.credentials) {
      if (updatedAt <= now - DAY && !this.bySubject.has(subject)) this.credentials.delete(subject)
    }
    return purged
  }
}

/**
 * Refresh-token families in memory, for tests and small apps of one instance: sessions end when
 * the process does. Tokens are kept as the digests the library gives, never in the clear. Every
 * method runs to its end without yielding, so each is one atomic step.
 */
export function memoryRefreshTokenStore (options: MemoryRefreshTokenOptions = {}):
RefreshTokenStore & { now (): number, purge (): Promise<number>, readonly size: number } {
  const { max = 100_000, now = Date.now } = options
  const state = new Families(max, now)
  const family = ({ familyId, subject, scope, clientId, credential, authTime, acr, jkt }: Family): RefreshFamily =>
    ({ familyId, subject, scope, clientId, credential, authTime, acr, jkt })
  return {
    now,
    get size () { return state.tokens.size },
    async createFamily ({ subject, scope, clientId, expiresAt, digest, successorKey, credential, authTime, acr, jkt }) {
      if (!state.recordCredential(subject, credential)) return null
      if (state.tokens.has(digest)) throw new Error('refresh token digest already stored')
      state.makeRoom(1)
      const familyId = randomUUID()
      state.add({
        familyId,
        subject,
        scope,
        clientId,
        credential: credential ?? null,
        authTime: authTime ?? null,
        acr: acr ?? null,
        jkt: jkt ?? null,
        expiresAt: expiresAt.getTime(),
        revokedAt: null,
        revokedReason: null,
        successorKey,
        digests: []
      }, digest)
      return familyId
    },
    async find (digest): Promise<PresentedToken | null> {
      const found = state.familyOf(digest)
      if (found === undefined || !state.live(found[1])) return null
      const [token, f] = found
      return { ...family(f), rotatedAt: token.rotatedAt, successorKey: f.successorKey }
    },
    async rotate (digest, nextDigest, bind) {
      const found = state.familyOf(digest)
      if (found === undefined || !state.live(found[1]) || found[0].rotatedAt !== null) return null
      if (state.tokens.has(nextDigest)) throw new Error('refresh token digest already stored')
      const [token, f] = found
      // A session rotated past its share when the store is full ends here: its token is refused.
      if (!state.makeRoom(1, f)) return null
      token.rotatedAt = now()
      state.extend(f, nextDigest)
      f.jkt ??= bind ?? null
      return family(f)
    },
    async revokeFamily (familyId, reason) {
      const f = state.byId.get(familyId)
      if (f === undefined || f.revokedAt !== null) return false
      state.revoke(f, reason)
      return true
    },
    async revokeByToken (digest) {
      const found = state.familyOf(digest)
      if (found === undefined) return null
      const f = found[1]
      if (f.revokedAt === null) state.revoke(f, 'revoked')
      return { familyId: f.familyId, subject: f.subject }
    },
    async revokeSubject (subject, reason, credential) {
      return state.revokeSubject(subject, reason, credential)
    },
    async isCurrent (subject, credential) {
      const current = state.credentials.get(subject)
      return current === undefined || current.version <= credential
    },
    /** Delete families that can no longer be used (expired, or revoked a day ago), with their tokens. */
    purge: async () => state.purge()
  }
}
