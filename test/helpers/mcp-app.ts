import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { z } from 'zod'
import { cors, hijackWithHeaders, mcpAuthInfo, oauth2Bearer, requestId, requestIdOptions, warden } from '../../plugins/index.js'

/** The scopes of the MCP server: one to use its tools at all, one per kind of file access. */
export const MCP_SCOPES = { 'mcp:tools': "Use the MCP server's tools", 'files:read': 'Read files', 'files:write': 'Write files' }

/** What each tool asks of the token beyond `mcp:tools`, known only once the JSON-RPC body is read. */
export const TOOL_SCOPES: Record<string, string[]> = { echo: [], read_file: ['files:read'], write_file: ['files:write'] }

export interface McpAppOptions {
  /** The authorization server, found by discovery. */
  issuer: string
  /** The MCP endpoint's URL: the resource (RFC 8707, RFC 9728) tokens must be minted for. */
  resource: string
  /** Browser origins allowed by warden's `cors`; none: no `cors` plugin. */
  origins?: string[]
}

/** The tools, over `files`; `echo` answers with what the SDK handed it of the caller. */
function mcpServer (files: Map<string, string>): McpServer {
  const server = new McpServer({ name: 'warden-files', version: '1.0.0' })
  const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: typeof value === 'string' ? value : JSON.stringify(value) }] })
  server.registerTool('echo', { description: 'Says it back, with who asked', inputSchema: { message: z.string() } }, async ({ message }, extra) =>
    text({ message, auth: extra.authInfo }))
  server.registerTool('read_file', { description: 'Reads a file', inputSchema: { name: z.string() } }, async ({ name }) => text(files.get(name) ?? ''))
  server.registerTool('write_file', { description: 'Writes a file', inputSchema: { name: z.string(), content: z.string() } }, async ({ name, content }) => {
    files.set(name, content)
    return text(`wrote ${name}`)
  })
  return server
}

/** The tools a JSON-RPC message (or batch) calls. */
function toolCalls (body: unknown): string[] {
  const messages = Array.isArray(body) ? body as unknown[] : [body]
  return messages.flatMap((message) => {
    const { method, params } = (message ?? {}) as { method?: unknown, params?: { name?: unknown } }
    return method === 'tools/call' && typeof params?.name === 'string' ? [params.name] : []
  })
}

/**
 * An MCP server (Streamable HTTP, stateless: a server and a transport per request) behind warden
 * in resource-server mode: tokens of `issuer` for `resource`, `mcp:tools` for the endpoint, and
 * each tool's own scope.
 */
export async function mcpApp (options: McpAppOptions): Promise<{ app: FastifyInstance, files: Map<string, string> }> {
  const { issuer, resource } = options
  const files = new Map([['notes.txt', 'remember the milk']])
  const app = Fastify(requestIdOptions())
  await app.register(requestId)
  if (options.origins !== undefined) await app.register(cors, { origins: options.origins })
  await app.register(warden, { scopes: MCP_SCOPES })
  await app.register(oauth2Bearer, { issuer, discovery: true, audience: resource, resourceMetadata: { resource } })
  const url = new URL(resource).pathname
  const security = [{ oauth2: ['mcp:tools'] }]

  app.post(url, { schema: { security, 'x-scope-demands': TOOL_SCOPES } }, async (request, reply) => {
    // A tool the table does not know is the SDK's to refuse (an unknown tool), not a demand.
    request.demandScopes(toolCalls(request.body).filter((tool) => Object.hasOwn(TOOL_SCOPES, tool)))
    const server = mcpServer(files)
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    hijackWithHeaders(reply)
    reply.raw.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(Object.assign(request.raw, { auth: mcpAuthInfo(request, { resource }) }), reply.raw, request.body)
  })
  // Stateless: no stream to open (GET), no session to end (DELETE); the SDK client takes 405 as that.
  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    await reply.code(405).header('allow', 'POST').send({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null })
  app.get(url, { schema: { security } }, notAllowed)
  app.delete(url, { schema: { security } }, notAllowed)
  return { app, files }
}
