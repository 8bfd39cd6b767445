import { createHash, createPrivateKey, generatePrimeSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto'

// A genuine RSA key pair whose public exponent is as long as its modulus (RFC 7518 §6.3.1 puts
// no bound on `e`; OpenSSL accepts any `e` for moduli up to 3072 bits). Verifying one of its
// signatures is a full-length modular exponentiation: ~100x the work of e = 65537.

const toB64 = (n: bigint): string => {
  let hex = n.toString(16)
  if (hex.length % 2 === 1) hex = '0' + hex
  return Buffer.from(hex, 'hex').toString('base64url')
}
const fromBuf = (b: Buffer): bigint => BigInt('0x' + b.toString('hex'))

function gcd (a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}
function inverse (a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m]
  let [s0, s1] = [1n, 0n]
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1]
  }
  return ((s0 % m) + m) % m
}

export interface BigExponentKey {
  readonly jwk: { kty: 'RSA', n: string, e: string }
  readonly privateKey: KeyObject
  readonly eBits: number
  readonly nBits: number
}

export function bigExponentKey (modulusBits = 3072): BigExponentKey {
  for (;;) {
    const p = generatePrimeSync(modulusBits / 2, { bigint: true })
    const q = generatePrimeSync(modulusBits / 2, { bigint: true })
    const n = p * q
    if (n.toString(2).length !== modulusBits) continue
    const phi = (p - 1n) * (q - 1n)
    let e: bigint
    do {
      const bytes = randomBytes(modulusBits / 8 - 1)
      bytes[0] |= 0x80
      bytes[bytes.length - 1] |= 1
      e = fromBuf(bytes)
    } while (gcd(e, phi) !== 1n)
    const d = inverse(e, phi)
    const jwk = { kty: 'RSA' as const, n: toB64(n), e: toB64(e) }
    const privateKey = createPrivateKey({
      key: { ...jwk, d: toB64(d), p: toB64(p), q: toB64(q), dp: toB64(d % (p - 1n)), dq: toB64(d % (q - 1n)), qi: toB64(inverse(q, p)) },
      format: 'jwk'
    })
    return { jwk, privateKey, eBits: e.toString(2).length, nBits: modulusBits }
  }
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An RS256 DPoP proof signed with `key` (a valid signature), or with a garbage one when `valid` is false. */
export function rsaProof (
  key: BigExponentKey,
  claims: { htm: string, htu: string, token?: string, iat?: number, jti?: string, nonce?: string },
  valid = true
): string {
  const input = `${b64({ typ: 'dpop+jwt', alg: 'RS256', jwk: key.jwk })}.${b64({
    htm: claims.htm,
    htu: claims.htu,
    jti: claims.jti ?? randomUUID(),
    iat: claims.iat ?? Math.floor(Date.now() / 1000),
    ...(claims.token === undefined ? {} : { ath: createHash('sha256').update(claims.token).digest('base64url') }),
    ...(claims.nonce === undefined ? {} : { nonce: claims.nonce })
  })}`
  const sig = valid ? sign('sha256', Buffer.from(input), key.privateKey) : Buffer.concat([Buffer.alloc(1), randomBytes(key.nBits / 8 - 1)])
  return `${input}.${sig.toString('base64url')}`
}
