import { createHash, randomUUID } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'

/** A DPoP client key: proofs signed with it (RFC 9449 §4.2), and its thumbprint for `cnf.jkt`. */
export interface ProofKey {
  readonly jwk: JWK
  readonly jkt: string
  proof (claims: { htm: string, htu: string, token?: string, nonce?: string, iat?: number, jti?: string }, header?: Record<string, unknown>): Promise<string>
}

export async function proofKey (alg: 'ES256' | 'EdDSA' | 'PS256' = 'ES256'): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  return {
    jwk,
    jkt: await calculateJwkThumbprint(jwk),
    async proof ({ htm, htu, token, nonce, iat, jti }, header = {}) {
      return await new SignJWT({
        htm,
        htu,
        jti: jti ?? randomUUID(),
        iat: iat ?? Math.floor(Date.now() / 1000),
        ...(token === undefined ? {} : { ath: createHash('sha256').update(token).digest('base64url') }),
        ...(nonce === undefined ? {} : { nonce })
      })
        .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk, ...header })
        .sign(privateKey)
    }
  }
}
