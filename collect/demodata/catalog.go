package demodata

// The product the demo pretends to be: a matching platform with a Q&A assistant, document
// summaries, semantic search and an agent. Weights are relative; token sizes are medians of
// log-normal distributions.

// profile is how one service calls one model.
type profile struct {
	model, provider string
	weight          float64
	in, inSigma     float64 // variable part of the prompt
	prefix          int64   // fixed system prompt / tool definitions, what prompt caching reuses
	out, outSigma   float64
	cacheRead       float64 // probability that the prefix is read from the provider's prompt cache
	cacheWrite      float64 // probability that the prefix is written to it (Anthropic only)
	reasoning       float64 // share of output spent reasoning (reasoning models)
	ttftMS, perTok  float64 // latency: time to first token, ms per output token
}

type service struct {
	name     string
	weight   float64
	endpoint string
	feature  string
	cacheHit float64 // probability that the application answered from its own cache
	profiles []profile
}

// unknownModel is a model missing from the price table: its events are stored unpriced.
type unknownModel struct {
	service         string
	model, provider string
	p               float64 // probability per event of the service
}

var services = []service{
	{name: "QA_CHAT", weight: 0.34, endpoint: "/v1/chat/answer", feature: "assistant", cacheHit: 0.14, profiles: []profile{
		{model: "claude-sonnet-4-5", provider: "anthropic", weight: 0.40, in: 1400, inSigma: 0.6, prefix: 2200, out: 320, outSigma: 0.5, cacheRead: 0.78, cacheWrite: 0.12, ttftMS: 650, perTok: 14},
		{model: "claude-haiku-4-5", provider: "anthropic", weight: 0.42, in: 1300, inSigma: 0.6, prefix: 2200, out: 280, outSigma: 0.5, cacheRead: 0.78, cacheWrite: 0.12, ttftMS: 380, perTok: 7},
		{model: "gpt-4o", provider: "openai", weight: 0.18, in: 1500, inSigma: 0.6, prefix: 1800, out: 300, outSigma: 0.5, cacheRead: 0.55, ttftMS: 480, perTok: 10},
	}},
	{name: "MATCH_EXPLANATION", weight: 0.28, endpoint: "/v1/match/explain", feature: "matching", cacheHit: 0.11, profiles: []profile{
		{model: "claude-haiku-4-5", provider: "anthropic", weight: 0.55, in: 900, inSigma: 0.4, prefix: 1200, out: 220, outSigma: 0.4, cacheRead: 0.65, cacheWrite: 0.08, ttftMS: 350, perTok: 7},
		{model: "gpt-4o-mini", provider: "openai", weight: 0.45, in: 900, inSigma: 0.4, prefix: 1100, out: 200, outSigma: 0.4, cacheRead: 0.5, ttftMS: 320, perTok: 6},
	}},
	{name: "EMBED_SEARCH", weight: 0.21, endpoint: "/v1/search/query", feature: "search", cacheHit: 0.08, profiles: []profile{
		{model: "text-embedding-3-small", provider: "openai", weight: 1, in: 180, inSigma: 0.8, ttftMS: 45},
	}},
	{name: "DOC_SUMMARY", weight: 0.12, endpoint: "/v1/docs/summarize", feature: "documents", cacheHit: 0.04, profiles: []profile{
		{model: "gemini-2.5-flash", provider: "google", weight: 0.78, in: 9000, inSigma: 0.7, prefix: 600, out: 650, outSigma: 0.4, cacheRead: 0.25, ttftMS: 420, perTok: 5},
		{model: "claude-sonnet-4-5", provider: "anthropic", weight: 0.22, in: 7000, inSigma: 0.7, prefix: 900, out: 600, outSigma: 0.4, cacheRead: 0.3, cacheWrite: 0.1, ttftMS: 700, perTok: 14},
	}},
	{name: "AGENT_TASKS", weight: 0.05, endpoint: "/v1/agent/run", feature: "agent", profiles: []profile{
		{model: "claude-opus-4-1", provider: "anthropic", weight: 0.08, in: 3500, inSigma: 0.7, prefix: 9000, out: 900, outSigma: 0.6, cacheRead: 0.85, cacheWrite: 0.1, ttftMS: 1300, perTok: 25},
		{model: "claude-sonnet-4-5", provider: "anthropic", weight: 0.52, in: 3500, inSigma: 0.7, prefix: 9000, out: 900, outSigma: 0.6, cacheRead: 0.85, cacheWrite: 0.1, ttftMS: 700, perTok: 14},
		{model: "o4-mini", provider: "openai", weight: 0.40, in: 4000, inSigma: 0.7, prefix: 6000, out: 1600, outSigma: 0.6, cacheRead: 0.6, reasoning: 0.65, ttftMS: 1600, perTok: 8},
	}},
}

var unknownModels = []unknownModel{
	{service: "DOC_SUMMARY", model: "llama-3.3-70b-instruct", provider: "self-hosted", p: 0.003},
	{service: "QA_CHAT", model: "mistral-large-2411", provider: "mistral", p: 0.0008},
}

// failure is an error as the application logged it.
type failure struct {
	provider   string // "" = any
	message    string
	durationMS float64
}

// Messages as the SDKs and gateways word them, quotes and markup included: reports must escape
// them.
var failures = []failure{
	{"anthropic", `anthropic: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 1800},
	{"anthropic", `anthropic: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 400,000 input tokens per minute."}}`, 120},
	{"anthropic", `anthropic: 500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}`, 900},
	{"openai", `openai: 429 Rate limit reached for requests in organization org-7c1f on tokens per min (TPM): Limit 2000000, Used 1999212, Requested 3120. Please try again in 94ms.`, 110},
	{"openai", `openai: 400 This model's maximum context length is 128000 tokens. However, your messages resulted in 131206 tokens. Please reduce the length of the messages.`, 140},
	{"openai", `openai: 500 The server had an error while processing your request. Sorry about that!`, 700},
	{"google", `google: 503 UNAVAILABLE: The model is overloaded. Please try again later.`, 1500},
	{"google", `google: 429 RESOURCE_EXHAUSTED: Resource has been exhausted (e.g. check quota).`, 100},
	{"", `gateway: upstream returned 502: <html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>`, 30000},
	{"", `context deadline exceeded (Client.Timeout exceeded while awaiting headers) after 60s & 2 retries`, 60000},
}

// spikeFailure is what the retry storm of the spike day mostly produced.
const spikeFailure = `anthropic: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 400,000 input tokens per minute."}}`

// Share of the day's requests in each hour, Seoul office life: quiet nights, a morning peak, a
// lunch dip, an afternoon peak and a long evening tail. Weekends are flatter.
var (
	weekdayHours = [24]float64{0.6, 0.4, 0.3, 0.25, 0.25, 0.3, 0.6, 1.2, 2.8, 5.5, 7.0, 7.2, 4.2, 6.2, 7.2, 7.0, 6.6, 5.4, 3.4, 2.4, 2.2, 2.0, 1.6, 1.0}
	weekendHours = [24]float64{1.0, 0.8, 0.5, 0.4, 0.3, 0.3, 0.4, 0.7, 1.2, 1.8, 2.4, 2.8, 2.9, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4, 2.5, 2.6, 2.4, 1.9, 1.4}
)

// Relative volume per weekday (Sunday first): quiet weekends, a Monday backlog, an early Friday.
var weekdayWeight = [7]float64{0.24, 1.06, 1.0, 1.03, 0.98, 0.89, 0.27}

// Organisations, fictitious.
var orgNames = []string{
	"hanbit-retail", "daon-logistics", "seoul-mobility", "namu-health", "bora-fintech", "gaon-edu",
	"haneul-air", "mirae-insurance", "sejong-legal", "arum-games", "doosan-parts", "jeju-travel",
	"northwind", "contoso", "fabrikam", "initech", "globex", "umbrella-labs", "stark-analytics",
	"wayne-media", "tyrell-bio", "cyberdyne", "soylent-foods", "wonka-confectionery", "acme-corp",
	"hooli", "pied-piper", "vandelay-import", "dunder-paper", "prestige-worldwide", "oscorp",
	"massive-dynamic", "aperture-science", "black-mesa", "blue-sun", "weyland-corp", "gringotts-bank",
	"monarch-solutions", "sirius-cybernetics", "virtucon", "bluth-homes", "kamsa-telecom",
	"hwarang-security", "baram-energy", "sol-pharma", "dal-robotics", "byeol-space", "ttukseom-studio",
}
