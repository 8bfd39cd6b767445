import { generateKeyPairSync, randomBytes } from 'node:crypto'

/** Test secrets are made per run, never committed. */
export const SECRET = randomBytes(32).toString('base64url')
export const ISSUER = 'https://id.test'
export const AUDIENCE = 'https://api.test'

export function ed25519 (): { privateKey: string, publicKey: string } {
  return generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
}
