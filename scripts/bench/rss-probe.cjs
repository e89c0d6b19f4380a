// Preloaded into every measured process: records its peak RSS at exit.
'use strict'
process.on('exit', () => {
  require('node:fs').writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS))
})
