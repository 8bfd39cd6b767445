import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { Server as HttpServer } from 'node:http'
import Provider, { type ClientMetadata } from 'oidc-provider'

/** The resource (audience) the provider issues RFC 9068 JWT access tokens for. */
export const RESOURCE = 'urn:warden:api'

/** A P-256 signing key for the provider, with its private key for forging look-alikes. */
export function ecKey (kid: string): { kid: string; privateKey: KeyObject; jwk: JsonWebKey } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { kid, privateKey: pair.privateKey, jwk: { ...pair.privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } }
}

/**
 * panva's oidc-provider, in-process on 127.0.0.1:`port`, signing with the first of `keys` and
 * issuing JWT access tokens for RESOURCE with `scopes`. `interactive` turns on its development
 * sign-in and consent pages (for a browser), and lets pages of other origins call it.
 * Returns a function that stops it.
 */
export async function startProvider (
  port: number,
  options: { keys: JsonWebKey[]; clients: ClientMetadata[]; scopes: string[]; interactive?: boolean }
): Promise<() => Promise<void>> {
  const scope = options.scopes.join(' ')
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    jwks: { keys: options.keys as never },
    clients: options.clients.map((client) => ({ id_token_signed_response_alg: 'ES256', ...client })),
    scopes: options.scopes,
    ttl: { ClientCredentials: 600 },
    ...(options.interactive === true ? { clientBasedCORS: () => true } : {}),
    features: {
      devInteractions: { enabled: options.interactive === true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope, audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } })
      }
    }
  })
  const server = provider.listen(port, '127.0.0.1') as HttpServer
  await new Promise<void>((resolve) => server.once('listening', resolve))
  return async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}
