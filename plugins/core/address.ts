/**
 * The client an address stands for: an IPv4 address, or the /64 network of an IPv6 one (a host
 * is given a whole /64 and may use any address in it, so counting addresses one by one would
 * hand it billions of budgets).
 */
export function addressGroup (ip: string): string {
  // Most addresses are IPv4: nothing to do, on every request.
  if (!ip.includes(':')) return ip
  const address = ip.toLowerCase().replace(/%.*$/, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (mapped !== null) return mapped[1]
  const [head, tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':') + '::/64'
}
