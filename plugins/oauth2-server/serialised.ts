/** Runs one task at a time per key; `keys` is how many keys have a task running or waiting. */
export interface Serialiser {
  <T>(key: string, task: () => Promise<T>): Promise<T>
  readonly keys: number
}

/** One task at a time per key; a key is forgotten once its last task is done, so memory follows the load. */
export function serialised (): Serialiser {
  const tails = new Map<string, Promise<unknown>>()
  const run = async <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve()
    const current = previous.then(task, task)
    const tail = current.catch(() => {})
    tails.set(key, tail)
    try {
      return await current
    } finally {
      if (tails.get(key) === tail) tails.delete(key)
    }
  }
  return Object.defineProperty(run, 'keys', { get: () => tails.size }) as Serialiser
}
