/**
 * The client an address stands for: an IPv4 address, or the /64 network of an IPv6 one (a host
 * is given a whole /64 and may use any address in it, so counting addresses one by one would
 * hand it billions of budgets).
 */
export function addressGroup (ip: string): string {
  // Most addresses are IPv4: nothing to do, on every request.
  if (!ip.includes(':')) return ip
  // A zone (`fe80::1%eth0`) ends the last group, which the /64 never reads.
  const address = ip.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (mapped !== null) return mapped[1]
  // Stryker disable next-line StringLiteral: equivalent, without `::` the eight groups come first and the default lands after them
  const [head, tail = ''] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  // A trailing `::` leaves an empty last group, which the /64 never reads either.
  const right = tail.split(':')
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':') + '::/64'
}
