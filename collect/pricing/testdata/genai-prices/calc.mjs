// The oracle of aispend's catalog pricing test: writes the price catalog bundled with
// @pydantic/genai-prices (every provider, as findProvider returns it) to the file named by
// argv[2], then prices each request read as JSON from stdin with calcPrice and prints the
// results as JSON: [{total, model, provider}] in the order of the requests (null: no price).
import { calcPrice, findProvider, waitForUpdate } from '@pydantic/genai-prices'
import { readFileSync, writeFileSync } from 'node:fs'

const providers = (await waitForUpdate()).map((p) => findProvider({ providerId: p.id }))
writeFileSync(process.argv[2], JSON.stringify(providers))

const requests = JSON.parse(readFileSync(0, 'utf8'))
const out = requests.map((r) => {
  const options = { timestamp: new Date(r.timestamp) }
  if (r.provider) options.providerId = r.provider
  const res = calcPrice(r.usage, r.model, options)
  return res === null ? null : { total: res.total_price, model: res.model.id, provider: res.provider.id }
})
process.stdout.write(JSON.stringify(out))
