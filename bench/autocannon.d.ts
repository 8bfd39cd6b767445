declare module 'autocannon' {
  interface Options {
    url: string
    method?: 'GET' | 'POST'
    headers?: Record<string, string>
    body?: string
    connections?: number
    duration?: number
    overallRate?: number
    /** Called with each connection's client as it is made. */
    setupClient?: (client: Client) => void
  }
  /** Mutates a request before it is built; called before each send. */
  type SetupRequest = (request: { headers: Record<string, string> }) => { headers: Record<string, string> }
  interface Client {
    /** The requests this connection sends in turn, each rebuilt by its `setupRequest` before each send. */
    setRequests(requests: Array<{ setupRequest?: SetupRequest }>): void
  }
  interface Result {
    requests: { average: number; total: number }
    '2xx': number
    non2xx: number
    errors: number
    latency: { p50: number; p99: number }
    statusCodeStats?: Record<string, { count: number }>
  }
  /** The run: a promise of its result that also reports every response as it comes. */
  interface Instance extends Promise<Result> {
    on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this
    /** End the run now; the promise then resolves. */
    stop(): void
  }
  export default function autocannon (options: Options): Instance
}
