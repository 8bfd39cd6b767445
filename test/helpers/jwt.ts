import { constants, createHmac, sign, type KeyObject } from 'node:crypto'

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** Build a compact JWS by hand, so tests can make every kind of wrong token. */
export function forge (header: unknown, payload: unknown, key: string | Buffer | KeyObject | null = null): string {
  const input = `${b64(header)}.${b64(payload)}`
  if (key === null) return `${input}.`
  const alg = (header as { alg?: string }).alg
  let sig: Buffer
  if (typeof key === 'string' || Buffer.isBuffer(key) || key.type === 'secret') {
    sig = createHmac('sha256', key).update(input).digest()
  } else if (alg === 'EdDSA') {
    sig = sign(null, Buffer.from(input), key)
  } else {
    const hash = `sha${/\d+$/.exec(alg ?? '')?.[0] ?? '256'}`
    sig = alg?.startsWith('PS') === true
      ? sign(hash, Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  }
  return `${input}.${sig.toString('base64url')}`
}

export function claims (now: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(now / 1000)
  return { iss: 'https://id.test', aud: 'https://api.test', sub: 'user-1', jti: 'jti-1', iat, exp: iat + 900, scope: 'users:read', ...extra }
}
