// Compile-time checks of the usage mappers against the provider SDKs' own types (openai,
// @anthropic-ai/sdk, @google/genai, pinned devDependencies). Nothing here runs: if an SDK renames
// or retypes a field that a mapper reads, `tsc -p tsconfig.test.json` fails, and so does
// `make test`. Two checks per type:
//   1. the SDK's value is accepted by the mapper (assignability), and
//   2. every field the mapper reads exists in the SDK type (NotIn<...> is never), because an
//      optional field that the SDK lacks would pass check 1 and silently map to zero.

import type Anthropic from "@anthropic-ai/sdk";
import type { GenerateContentResponse, GenerateContentResponseUsageMetadata } from "@google/genai";
import type OpenAI from "openai";

import {
  anthropicUsage,
  fromAnthropic,
  fromGemini,
  fromOpenAIChat,
  fromOpenAIResponses,
  geminiUsage,
  openaiChatUsage,
  openaiResponsesUsage,
} from "../src/index.js";
import type {
  AnthropicMessage,
  AnthropicUsage,
  GeminiResponse,
  GeminiUsageMetadata,
  OpenAIChatResponse,
  OpenAIChatUsage,
  OpenAIResponsesResponse,
  OpenAIResponsesUsage,
} from "../src/index.js";

type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion;
type ChatCompletionChunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type CompletionUsage = OpenAI.CompletionUsage;
type ResponsesResponse = OpenAI.Responses.Response;
type ResponseUsage = OpenAI.Responses.ResponseUsage;
type Message = Anthropic.Messages.Message;
type Usage = Anthropic.Messages.Usage;
type MessageDeltaUsage = Anthropic.Messages.MessageDeltaUsage;

// Keys of Ours that Theirs lacks; Expect<> accepts only never.
type NotIn<Ours, Theirs> = Exclude<keyof NonNullable<Ours>, keyof NonNullable<Theirs>>;
type Expect<T extends never> = T;

export type FieldChecks = [
  Expect<NotIn<OpenAIChatUsage, CompletionUsage>>,
  Expect<NotIn<OpenAIChatUsage["prompt_tokens_details"], CompletionUsage["prompt_tokens_details"]>>,
  Expect<NotIn<OpenAIChatUsage["completion_tokens_details"], CompletionUsage["completion_tokens_details"]>>,
  Expect<NotIn<OpenAIChatResponse, ChatCompletion>>,
  Expect<NotIn<OpenAIResponsesUsage, ResponseUsage>>,
  Expect<NotIn<OpenAIResponsesUsage["input_tokens_details"], ResponseUsage["input_tokens_details"]>>,
  Expect<NotIn<OpenAIResponsesUsage["output_tokens_details"], ResponseUsage["output_tokens_details"]>>,
  Expect<NotIn<OpenAIResponsesResponse, ResponsesResponse>>,
  Expect<NotIn<AnthropicUsage, Usage>>,
  Expect<NotIn<AnthropicUsage["cache_creation"], Usage["cache_creation"]>>,
  Expect<NotIn<AnthropicUsage["output_tokens_details"], Usage["output_tokens_details"]>>,
  Expect<NotIn<AnthropicMessage, Message>>,
  Expect<NotIn<Omit<AnthropicUsage, "cache_creation">, MessageDeltaUsage>>,
  Expect<NotIn<GeminiUsageMetadata, GenerateContentResponseUsageMetadata>>,
  Expect<NotIn<GeminiResponse, GenerateContentResponse>>,
];

// Assignability: each mapper takes what the SDK returns, as the SDK types it.
export function sdkValuesAreAccepted(
  chat: ChatCompletion,
  chunk: ChatCompletionChunk,
  chatUsage: CompletionUsage,
  response: ResponsesResponse,
  responseUsage: ResponseUsage,
  message: Message,
  usage: Usage,
  delta: MessageDeltaUsage,
  gemini: GenerateContentResponse,
  geminiMeta: GenerateContentResponseUsageMetadata,
): unknown[] {
  return [
    openaiChatUsage(chatUsage),
    openaiChatUsage(chat.usage),
    openaiChatUsage(chunk.usage),
    fromOpenAIChat(chat),
    openaiResponsesUsage(responseUsage),
    openaiResponsesUsage(response.usage),
    fromOpenAIResponses(response),
    anthropicUsage(usage),
    anthropicUsage(message.usage),
    anthropicUsage(delta),
    fromAnthropic(message),
    geminiUsage(geminiMeta),
    geminiUsage(gemini.usageMetadata),
    fromGemini(gemini, "gemini-2.5-flash"),
  ];
}
