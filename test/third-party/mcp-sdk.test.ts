import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js'
import { authorize, ecKey, startProvider } from '../helpers/oidc-provider.js'
import { freePort } from '../helpers/services.js'
import { MCP_SCOPES, mcpApp } from '../helpers/mcp-app.js'
import { claimsOf, rejection } from '../conformance/oauth4webapi-client.js'

// The Model Context Protocol's authorization, end to end, with two implementations we did not
// write: the official MCP TypeScript SDK's client (and its server transport, behind warden) and
// panva's oidc-provider as the authorization server (dynamic client registration, PKCE, resource
// indicators). The client is given nothing but the MCP server's URL.
const [providerPort, apiPort] = [await freePort(), await freePort()]
const issuer = `http://127.0.0.1:${providerPort}`
const api = `http://127.0.0.1:${apiPort}`
const resource = `${api}/mcp`
/** Another API of the same provider: its tokens are good tokens, for someone else. */
const otherResource = `${api}/other`
/** The agent's redirect URI: the authorization response is read off the redirect, nothing listens there. */
const redirectUri = 'http://127.0.0.1:7/callback'
const browser = 'https://agent.example'
const SERVICE = { id: 'batch-service', secret: 'a-client-secret-long-enough-for-the-provider' }

t.teardown(await startProvider(providerPort, {
  keys: [ecKey('k1').jwk],
  scopes: ['openid'],
  registration: true,
  resources: { [resource]: Object.keys(MCP_SCOPES), [otherResource]: Object.keys(MCP_SCOPES) },
  signIn: () => ({ accountId: 'ada' }),
  // A confidential client with tokens of any scope, for either API, to try the server with.
  clients: [{ client_id: SERVICE.id, client_secret: SERVICE.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }]
}))
const { app, files } = await mcpApp({ issuer, resource, origins: [browser] })
await app.listen({ port: apiPort, host: '127.0.0.1' })
t.teardown(() => app.close())

/** One HTTP exchange the SDK client made. */
interface Exchange { method: string, url: URL, body: string, status: number, authenticate: string | null }

/**
 * An MCP agent as the SDK expects an application to be: it keeps what the SDK gives it in memory,
 * and its "browser" (the provider's automated sign-in and consent) brings back the code.
 * Every request the SDK makes goes through `fetch`, and is recorded.
 */
class Agent implements OAuthClientProvider {
  information?: OAuthClientInformationMixed
  tokenSet?: OAuthTokens
  verifier = ''
  /** The authorization requests the SDK sent the user to, and the codes they came back with. */
  readonly authorizations: URL[] = []
  readonly codes: string[] = []
  readonly exchanges: Exchange[] = []

  get redirectUrl (): string { return redirectUri }
  get clientMetadata (): OAuthClientMetadata {
    return { client_name: 'warden test agent', redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' }
  }

  clientInformation (): OAuthClientInformationMixed | undefined { return this.information }
  saveClientInformation (information: OAuthClientInformationMixed): void { this.information = information }
  tokens (): OAuthTokens | undefined { return this.tokenSet }
  saveTokens (tokens: OAuthTokens): void { this.tokenSet = tokens }
  saveCodeVerifier (verifier: string): void { this.verifier = verifier }
  codeVerifier (): string { return this.verifier }

  async redirectToAuthorization (url: URL): Promise<void> {
    this.authorizations.push(url)
    const back = await authorize(url, redirectUri)
    const code = back.searchParams.get('code')
    if (code === null) throw new Error(`the authorization server answered ${back.href}`)
    this.codes.push(code)
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    const url = new URL(input instanceof Request ? input.url : String(input))
    this.exchanges.push({ method: init?.method ?? 'GET', url, body: String(init?.body ?? ''), status: res.status, authenticate: res.headers.get('www-authenticate') })
    return res
  }

  /**
   * `METHOD path status` of each exchange from `from` on, the provider's paths marked `as:`; the
   * SDK's GET for a server-sent stream left out (it is sent without waiting, so its place varies).
   */
  trace (from = 0): string[] {
    return this.exchanges.slice(from)
      .filter((e) => !(e.method === 'GET' && e.url.href === resource))
      .map((e) => `${e.method} ${e.url.origin === issuer ? 'as:' : ''}${e.url.pathname} ${e.status}`)
  }

  transport (): StreamableHTTPClientTransport {
    return new StreamableHTTPClientTransport(new URL(resource), { authProvider: this, fetch: this.fetch })
  }
}

/**
 * How an application connects with the SDK: the first attempt ends in the authorization request
 * (UnauthorizedError once the user is sent away), the code comes back, `finishAuth` trades it for
 * tokens, and a new connection uses them.
 */
async function connect (agent: Agent): Promise<{ client: Client, transport: StreamableHTTPClientTransport }> {
  const first = agent.transport()
  const err = await rejection(new Client({ name: 'agent', version: '1.0.0' }).connect(first))
  if (!(err instanceof UnauthorizedError)) throw new Error(`expected the SDK to send the user to authorize, got ${String(err)}`)
  await first.finishAuth(agent.codes.at(-1)!)
  const client = new Client({ name: 'agent', version: '1.0.0' })
  const transport = agent.transport()
  await client.connect(transport)
  t.teardown(() => client.close())
  return { client, transport }
}

const form = (body: string): Record<string, string> => Object.fromEntries(new URLSearchParams(body))
const textOf = (result: Awaited<ReturnType<Client['callTool']>>): string => (result.content as Array<{ text: string }>)[0].text

/** A token of the confidential client (client credentials) for `audience` with `scope`. */
async function serviceToken (audience: string, scope: string): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${SERVICE.id}:${SERVICE.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: audience, scope })
  })
  const body = await res.json() as { access_token: string }
  t.match(claimsOf(body.access_token), { aud: audience, scope }, 'the provider minted what was asked')
  return body.access_token
}

/** A JSON-RPC request to the MCP endpoint as a client sends it, with `token`. */
async function rpc (token: string, method: string, params: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(resource, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })
  })
}
const call = async (token: string, name: string, args: Record<string, unknown>, headers?: Record<string, string>) =>
  await rpc(token, 'tools/call', { name, arguments: args }, headers)

t.test('given only the URL, the SDK client discovers, registers, authorizes with PKCE for this resource, and calls a tool', async (t) => {
  const agent = new Agent()
  const { client } = await connect(agent)

  const [challenged, metadata, asMetadata, registration] = agent.exchanges
  t.same(agent.trace(), [
    'POST /mcp 401', // initialize, no token: our challenge
    'GET /.well-known/oauth-protected-resource/mcp 200', // RFC 9728, from resource_metadata
    'GET as:/.well-known/oauth-authorization-server 200', // RFC 8414, from authorization_servers
    'POST as:/reg 201', // RFC 7591
    // … the user at the authorization endpoint; then finishAuth, which discovers again:
    'GET /.well-known/oauth-protected-resource/mcp 200',
    'GET as:/.well-known/oauth-authorization-server 200',
    'POST as:/token 200',
    'POST /mcp 200', // initialize, with the token
    'POST /mcp 202' // notifications/initialized
  ], 'the requests the SDK made, in order')
  t.match(challenged.authenticate, `Bearer realm="api", resource_metadata="${api}/.well-known/oauth-protected-resource/mcp"`)
  t.equal(metadata.url.href, `${api}/.well-known/oauth-protected-resource/mcp`, 'the metadata named by the challenge')
  t.equal(asMetadata.url.origin, issuer, "the authorization server named by the metadata's authorization_servers")
  t.match(JSON.parse(registration.body), { redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' }, 'registered as a public client')
  const clientId = agent.information?.client_id
  t.ok(clientId, 'with the client id the provider gave it')

  t.equal(agent.authorizations.length, 1)
  const asked = Object.fromEntries(agent.authorizations[0].searchParams)
  t.match(asked, { response_type: 'code', client_id: clientId, redirect_uri: redirectUri, code_challenge_method: 'S256', code_challenge: /^[\w-]{43}$/, resource })
  t.equal(asked.scope, 'mcp:tools', 'the scope asked for: what the challenge named')
  const tokenRequest = form(agent.exchanges[6].body)
  t.match(tokenRequest, { grant_type: 'authorization_code', code: agent.codes[0], code_verifier: agent.verifier, client_id: clientId, resource })

  const token = agent.tokenSet!.access_token
  t.match(claimsOf(token), { iss: issuer, aud: resource, sub: 'ada', client_id: clientId, scope: 'mcp:tools' }, 'a token for this MCP server only')

  const echoed = JSON.parse(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hello' } })))
  t.same(echoed, {
    message: 'hello',
    auth: { clientId, scopes: ['mcp:tools'], expiresAt: claimsOf(token).exp, extra: { subject: 'ada' } }
  }, "the tool sees the caller as warden verified it (the SDK's extra.authInfo)")
})
