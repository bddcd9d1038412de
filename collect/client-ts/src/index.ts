/**
 * @aispend/client: log AI requests to an aispend collector without slowing them down.
 *
 * ```ts
 * import { Client, fromAnthropic } from "@aispend/client";
 * const aispend = new Client({ url: process.env.AISPEND_URL!, token: process.env.AISPEND_TOKEN });
 * const msg = await anthropic.messages.create({ ... });
 * aispend.log({ service: "QA_CHAT", user_id: "u-42", ...fromAnthropic(msg) });
 * ```
 */
export { Client, MAX_BATCH_SIZE, backoffDelay, parseRetryAfter } from "./client.js";
export type { ClientOptions, Event, FlushResult, Logger, Stats, WaitOptions } from "./client.js";
export {
  anthropicUsage,
  fromAnthropic,
  fromGemini,
  fromOpenAIChat,
  fromOpenAIResponses,
  geminiUsage,
  openaiChatUsage,
  openaiResponsesUsage,
} from "./usage.js";
export type {
  AnthropicMessage,
  AnthropicUsage,
  GeminiResponse,
  GeminiUsageMetadata,
  OpenAIChatResponse,
  OpenAIChatUsage,
  OpenAIResponsesResponse,
  OpenAIResponsesUsage,
  ResponseFields,
  TokenFields,
} from "./usage.js";
export type { DecideOptions, DecideRequest, Decision, DecidingBudget } from "./decide.js";
export { uuidv7 } from "./uuid.js";
