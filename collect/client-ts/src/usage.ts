// Usage mappers: the token counts of the provider APIs in aispend's terms.
//
// aispend follows the OpenTelemetry GenAI convention: input_tokens counts every input token,
// cached ones included, and cache_read_tokens / cache_write_tokens are parts of it;
// output_tokens counts every output token, reasoning included, and reasoning_tokens is a part
// of it. The providers disagree with that and with each other, and mapping them wrongly is the
// most common cost bug:
//
//   - OpenAI (Chat Completions and Responses): prompt/input tokens already include the cached
//     ones, completion/output tokens already include reasoning. Taken as they are.
//   - Anthropic Messages: input_tokens EXCLUDES cache reads and cache writes; the total input is
//     input_tokens + cache_read_input_tokens + cache_creation_input_tokens.
//   - Gemini: promptTokenCount includes cachedContentTokenCount, but thoughtsTokenCount is not
//     part of candidatesTokenCount (and toolUsePromptTokenCount not part of promptTokenCount),
//     although all are billed.
//
// The parameter types below are structural: they name only the fields read, so that the
// library depends on no SDK at run time, while test/sdk-types.ts checks that the SDKs' own
// types (openai, @anthropic-ai/sdk, @google/genai) are assignable to them. A missing usage
// (undefined or null: a stream without include_usage, say) maps to zero tokens rather than an
// exception, because logging must never break the request it describes.

/** The token fields of an event, as the collector reads them. */
export interface TokenFields {
  /** Every input token, cached (read or written) included. */
  input_tokens: number;
  /** Every output token, reasoning included. */
  output_tokens: number;
  /** The part of input_tokens read from the provider's prompt cache. */
  cache_read_tokens?: number;
  /** The part of input_tokens written to the provider's prompt cache. */
  cache_write_tokens?: number;
  /** The part of cache_write_tokens written with a 1-hour lifetime (Anthropic). */
  cache_write_1h_tokens?: number;
  /** The part of output_tokens spent on reasoning ("thinking"). */
  reasoning_tokens?: number;
}

/** The token fields plus the provider and the model that answered, for a whole response. */
export interface ResponseFields extends TokenFields {
  provider: string;
  model: string;
}

type Count = number | null | undefined;

/** `usage` of an OpenAI Chat Completions response (`CompletionUsage` in the openai SDK). */
export interface OpenAIChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: Count; cache_write_tokens?: Count } | null | undefined;
  completion_tokens_details?: { reasoning_tokens?: Count } | null | undefined;
}

/** `usage` of an OpenAI Responses API response (`ResponseUsage` in the openai SDK). */
export interface OpenAIResponsesUsage {
  input_tokens: number;
  output_tokens: number;
  input_tokens_details?: { cached_tokens?: Count; cache_write_tokens?: Count } | null | undefined;
  output_tokens_details?: { reasoning_tokens?: Count } | null | undefined;
}

/**
 * `usage` of an Anthropic Messages response (`Usage` in @anthropic-ai/sdk), or of a stream's
 * last `message_delta` event (`MessageDeltaUsage`, whose counts are cumulative).
 */
export interface AnthropicUsage {
  /** Uncached input only: cache reads and writes are NOT included. */
  input_tokens: number | null;
  output_tokens: number;
  cache_read_input_tokens?: Count;
  cache_creation_input_tokens?: Count;
  cache_creation?: { ephemeral_5m_input_tokens?: Count; ephemeral_1h_input_tokens?: Count } | null | undefined;
  output_tokens_details?: { thinking_tokens?: Count } | null | undefined;
}

/** `usageMetadata` of a Gemini response (`GenerateContentResponseUsageMetadata` in @google/genai). */
export interface GeminiUsageMetadata {
  promptTokenCount?: Count;
  cachedContentTokenCount?: Count;
  candidatesTokenCount?: Count;
  thoughtsTokenCount?: Count;
  toolUsePromptTokenCount?: Count;
}

/** Maps the `usage` of an OpenAI Chat Completions response (or of a stream's last chunk). */
export function openaiChatUsage(usage: OpenAIChatUsage | null | undefined): TokenFields {
  if (usage == null) return zero();
  return tokens({
    input: n(usage.prompt_tokens),
    output: n(usage.completion_tokens),
    cacheRead: n(usage.prompt_tokens_details?.cached_tokens),
    cacheWrite: n(usage.prompt_tokens_details?.cache_write_tokens),
    reasoning: n(usage.completion_tokens_details?.reasoning_tokens),
  });
}

/** Maps the `usage` of an OpenAI Responses API response. */
export function openaiResponsesUsage(usage: OpenAIResponsesUsage | null | undefined): TokenFields {
  if (usage == null) return zero();
  return tokens({
    input: n(usage.input_tokens),
    output: n(usage.output_tokens),
    cacheRead: n(usage.input_tokens_details?.cached_tokens),
    cacheWrite: n(usage.input_tokens_details?.cache_write_tokens),
    reasoning: n(usage.output_tokens_details?.reasoning_tokens),
  });
}

/**
 * Maps the `usage` of an Anthropic Messages response: input_tokens becomes the sum of the
 * uncached input, the cache reads and the cache writes.
 */
export function anthropicUsage(usage: AnthropicUsage | null | undefined): TokenFields {
  if (usage == null) return zero();
  const cacheRead = n(usage.cache_read_input_tokens);
  let cacheWrite = n(usage.cache_creation_input_tokens);
  const split = usage.cache_creation;
  const w5m = n(split?.ephemeral_5m_input_tokens);
  const w1h = n(split?.ephemeral_1h_input_tokens);
  // The breakdown and the total agree in every response seen; should only the breakdown come
  // back, it is the total.
  if (cacheWrite === 0) cacheWrite = w5m + w1h;
  return tokens({
    input: n(usage.input_tokens) + cacheRead + cacheWrite,
    output: n(usage.output_tokens),
    cacheRead,
    cacheWrite,
    cacheWrite1h: w1h,
    reasoning: n(usage.output_tokens_details?.thinking_tokens),
  });
}

/**
 * Maps a Gemini `usageMetadata`: tool-use prompt tokens join the input and thought tokens join
 * the output, as Gemini bills them.
 */
export function geminiUsage(usage: GeminiUsageMetadata | null | undefined): TokenFields {
  if (usage == null) return zero();
  const thoughts = n(usage.thoughtsTokenCount);
  return tokens({
    input: n(usage.promptTokenCount) + n(usage.toolUsePromptTokenCount),
    output: n(usage.candidatesTokenCount) + thoughts,
    cacheRead: n(usage.cachedContentTokenCount),
    reasoning: thoughts,
  });
}

/** An OpenAI Chat Completions response (`ChatCompletion` in the openai SDK). */
export interface OpenAIChatResponse {
  model: string;
  usage?: OpenAIChatUsage | null | undefined;
}

/** An OpenAI Responses API response (`Response` in the openai SDK). */
export interface OpenAIResponsesResponse {
  model: string;
  usage?: OpenAIResponsesUsage | null | undefined;
}

/** An Anthropic Messages response (`Message` in @anthropic-ai/sdk). */
export interface AnthropicMessage {
  model: string;
  usage?: AnthropicUsage | null | undefined;
}

/** A Gemini response (`GenerateContentResponse` in @google/genai). */
export interface GeminiResponse {
  modelVersion?: string | undefined;
  usageMetadata?: GeminiUsageMetadata | undefined;
}

/** Provider, model and tokens of an OpenAI Chat Completions response. */
export function fromOpenAIChat(response: OpenAIChatResponse): ResponseFields {
  return { provider: "openai", model: str(response?.model), ...openaiChatUsage(response?.usage) };
}

/** Provider, model and tokens of an OpenAI Responses API response. */
export function fromOpenAIResponses(response: OpenAIResponsesResponse): ResponseFields {
  return { provider: "openai", model: str(response?.model), ...openaiResponsesUsage(response?.usage) };
}

/** Provider, model and tokens of an Anthropic Messages response. */
export function fromAnthropic(message: AnthropicMessage): ResponseFields {
  return { provider: "anthropic", model: str(message?.model), ...anthropicUsage(message?.usage) };
}

/**
 * Provider, model and tokens of a Gemini response. `modelVersion` is the model that answered;
 * pass `model` (the one requested) for responses that lack it.
 */
export function fromGemini(response: GeminiResponse, model?: string): ResponseFields {
  return { provider: "google", model: str(response?.modelVersion) || str(model), ...geminiUsage(response?.usageMetadata) };
}

interface Parts {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  reasoning?: number;
}

// tokens builds the fields, leaving out zero parts, and keeps the collector's invariants (parts
// never exceed their whole), which a provider's report does not promise: an event that broke
// them would be refused (422) and its request lost from the books entirely.
function tokens(p: Parts): TokenFields {
  const out: TokenFields = { input_tokens: p.input, output_tokens: p.output };
  const cacheRead = Math.min(p.cacheRead ?? 0, p.input);
  const cacheWrite = Math.min(p.cacheWrite ?? 0, p.input - cacheRead);
  const cacheWrite1h = Math.min(p.cacheWrite1h ?? 0, cacheWrite);
  const reasoning = Math.min(p.reasoning ?? 0, p.output);
  if (cacheRead > 0) out.cache_read_tokens = cacheRead;
  if (cacheWrite > 0) out.cache_write_tokens = cacheWrite;
  if (cacheWrite1h > 0) out.cache_write_1h_tokens = cacheWrite1h;
  if (reasoning > 0) out.reasoning_tokens = reasoning;
  return out;
}

function zero(): TokenFields {
  return { input_tokens: 0, output_tokens: 0 };
}

// n reads a count: anything but a finite non-negative number (absent, null, a string from a
// hand-built object) counts as zero, and fractions are cut, so the event stays valid.
function n(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}
