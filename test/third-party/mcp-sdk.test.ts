import t, { type Test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { UnauthorizedError, extractWWWAuthenticateParams, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js'
import { authorize, ecKey, serviceClient, startProvider } from '../helpers/oidc-provider.js'
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
const metadataUrl = `${api}/.well-known/oauth-protected-resource/mcp`
const browser = 'https://agent.example'
const SERVICE = { id: 'batch-service', secret: 'a-client-secret-long-enough-for-the-provider' }

t.teardown(await startProvider(providerPort, {
  keys: [ecKey('k1').jwk],
  scopes: ['openid'],
  registration: true,
  resources: { [resource]: Object.keys(MCP_SCOPES), [otherResource]: Object.keys(MCP_SCOPES) },
  signIn: () => ({ accountId: 'ada' }),
  // A confidential client with tokens of any scope, for either API, to try the server with.
  clients: [serviceClient(SERVICE.id, SERVICE.secret)]
}))
const { app, files } = await mcpApp({ issuer, resource, origins: [browser] })
await app.listen({ port: apiPort, host: '127.0.0.1' })
t.teardown(() => app.close())

/** A `WWW-Authenticate` challenge as the SDK client reads it, with its own parser. */
function challengeOf (res: Response): { error?: string, scope?: string, resource_metadata?: string } {
  const { error, scope, resourceMetadataUrl } = extractWWWAuthenticateParams(res)
  return { error, scope, resource_metadata: resourceMetadataUrl?.href }
}

/** One HTTP exchange the SDK client made. */
interface Exchange { method: string, url: URL, body: string, status: number, challenge: ReturnType<typeof challengeOf> }

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
    return {
      client_name: 'warden test agent',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    }
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
    this.exchanges.push({ method: init?.method ?? 'GET', url, body: String(init?.body ?? ''), status: res.status, challenge: challengeOf(res) })
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
async function serviceToken (t: Test, audience: string, scope: string): Promise<string> {
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
  const firstChallenge = { error: undefined, scope: 'mcp:tools', resource_metadata: metadataUrl }
  t.same(challenged.challenge, firstChallenge, 'the challenge: where the metadata is, the scope the endpoint needs')
  t.equal(metadata.url.href, metadataUrl, 'the metadata named by the challenge')
  t.match(await (await fetch(metadataUrl)).json(), { resource, authorization_servers: [issuer], scopes_supported: Object.keys(MCP_SCOPES) }, 'which says')
  t.equal(asMetadata.url.origin, issuer, "the authorization server named by the metadata's authorization_servers")
  const registered = { redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', scope: 'mcp:tools' }
  t.match(JSON.parse(registration.body), registered, 'registered as a public client')
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
  const { exp, jti } = claimsOf(token)
  t.match(echoed, {
    message: 'hello',
    auth: { token, clientId, scopes: ['mcp:tools'], expiresAt: exp, resource, extra: { scheme: 'oauth2', subject: 'ada', claims: { jti } } }
  }, "the tool sees the caller as warden verified it (the SDK's extra.authInfo)")
})

/** A refusal as the SDK client reads it (its own parser of `WWW-Authenticate`), and its body. */
async function refusal (res: Response) {
  return {
    status: res.status,
    challenge: challengeOf(res),
    header: res.headers.get('www-authenticate'),
    type: res.headers.get('content-type'),
    body: await res.json() as unknown
  }
}

t.test("a good token of the same provider minted for another resource is refused: the audience is this server's", async (t) => {
  const mine = await serviceToken(t, resource, 'mcp:tools')
  t.equal((await call(mine, 'echo', { message: 'hi' })).status, 200, 'the same client, scope and key, for this resource: served')
  const theirs = await serviceToken(t, otherResource, 'mcp:tools')
  const refused = await refusal(await call(theirs, 'echo', { message: 'hi' }))
  t.match(refused, { status: 401, header: /^Bearer realm="api", /, type: /^application\/problem\+json/, body: { status: 401 } })
  t.same(refused.challenge, { error: 'invalid_token', scope: 'mcp:tools', resource_metadata: metadataUrl }, 'as the SDK reads it')
})

t.test("each tool's scope, demanded once the body says which tool: 403 insufficient_scope naming it", async (t) => {
  const token = await serviceToken(t, resource, 'mcp:tools files:read')
  t.equal((await call(token, 'read_file', { name: 'notes.txt' })).status, 200, 'files:read: read_file is served')
  const refused = await refusal(await call(token, 'write_file', { name: 'notes.txt', content: 'overwritten' }))
  t.match(refused, { status: 403, header: /^Bearer realm="api", /, type: /^application\/problem\+json/, body: { status: 403 } })
  // Every scope the call needs, the route's and the tool's (RFC 6750 §3.1): the SDK asks for exactly these.
  t.same(refused.challenge, { error: 'insufficient_scope', scope: 'mcp:tools files:write', resource_metadata: metadataUrl }, 'as the SDK reads it')
  t.equal(files.get('notes.txt'), 'remember the milk', 'the tool never ran')

  const unknown = await call(token, 'format_disk', {})
  t.equal(unknown.status, 200, 'a tool the table does not know: no demand, the SDK answers it')
  t.match(await unknown.json(), { result: { isError: true, content: [{ text: /format_disk/ }] } })

  const withoutTools = await refusal(await call(await serviceToken(t, resource, 'files:read files:write'), 'read_file', { name: 'notes.txt' }))
  t.match(withoutTools, { status: 403, challenge: { error: 'insufficient_scope', scope: 'mcp:tools' } }, "the route's own scope comes first")
})

t.test('the SDK client steps up when a tool needs a scope its token lacks, and the call then succeeds', async (t) => {
  const agent = new Agent()
  const { client, transport } = await connect(agent)
  const before = agent.exchanges.length
  const err = await rejection(client.callTool({ name: 'write_file', arguments: { name: 'todo.txt', content: 'step up' } }))
  t.ok(err instanceof UnauthorizedError, 'the SDK sent the user to authorize again')
  t.same(agent.trace(before), [
    'POST /mcp 403',
    'GET /.well-known/oauth-protected-resource/mcp 200',
    'GET as:/.well-known/oauth-authorization-server 200'
  ], 'no new registration: the client it registered asks again')
  t.equal(agent.authorizations.length, 2)
  const asked = Object.fromEntries(agent.authorizations[1].searchParams)
  t.match(asked, { client_id: agent.information?.client_id, code_challenge_method: 'S256', resource })
  t.equal(asked.scope, 'mcp:tools files:write', "what the 403 named: the SDK replaces the scope it asks for with the challenge's")

  const stepped = agent.exchanges.length
  await transport.finishAuth(agent.codes[1])
  t.match(claimsOf(agent.tokenSet!.access_token), { aud: resource, scope: 'mcp:tools files:write' })
  t.equal(textOf(await client.callTool({ name: 'write_file', arguments: { name: 'todo.txt', content: 'step up' } })), 'wrote todo.txt')
  t.equal(files.get('todo.txt'), 'step up')
  t.same(agent.trace(stepped), [
    'GET /.well-known/oauth-protected-resource/mcp 200',
    'GET as:/.well-known/oauth-authorization-server 200',
    'POST as:/token 200',
    'POST /mcp 200'
  ], 'the code for tokens, then the same call again: served')
})

t.test('a browser agent: CORS headers (and the request id) on the answers the SDK transport writes itself', async (t) => {
  const token = await serviceToken(t, resource, 'mcp:tools')
  const preflight = await fetch(resource, {
    method: 'OPTIONS',
    headers: { origin: browser, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, mcp-protocol-version' }
  })
  t.equal(preflight.status, 204)
  t.match(preflight.headers.get('access-control-allow-headers'), /Mcp-Protocol-Version/)

  const res = await call(token, 'echo', { message: 'from a page' }, { origin: browser, 'x-request-id': 'page-1' })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-request-id'), 'page-1')
  t.equal(res.headers.get('access-control-allow-origin'), browser)
  t.match(res.headers.get('access-control-expose-headers'), /(^|, ?)Mcp-Session-Id(,|$)/)
  t.equal(res.headers.get('cache-control'), 'no-store', 'an authenticated answer is not cached')
  t.match(await res.json(), { result: { content: [{ text: /from a page/ }] } })

  const other = await call(token, 'echo', { message: 'from elsewhere' }, { origin: 'https://evil.example' })
  t.equal(other.status, 200)
  t.equal(other.headers.get('access-control-allow-origin'), null, 'no CORS headers for an origin not allowed')
})

t.test('GET and DELETE: authorized like POST, then 405 (a stateless server has no stream and no session)', async (t) => {
  const token = await serviceToken(t, resource, 'mcp:tools')
  for (const method of ['GET', 'DELETE']) {
    t.equal((await fetch(resource, { method })).status, 401, `${method} without a token`)
    t.equal((await fetch(resource, { method, headers: { authorization: `Bearer ${token}` } })).status, 405, `${method} with one`)
  }
})
