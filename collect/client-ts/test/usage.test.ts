// The usage mappers on recorded response bodies (testdata/, shared with the Go client's tests),
// and their output accepted and stored by a real collector.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  anthropicUsage,
  Client,
  fromAnthropic,
  fromGemini,
  fromOpenAIChat,
  fromOpenAIResponses,
  geminiUsage,
  openaiChatUsage,
  openaiResponsesUsage,
} from "../src/index.js";
import type { ResponseFields, TokenFields } from "../src/index.js";
import { assertStoredOnce, Collector, recordingLogger, token } from "./harness.js";

const testdata = new URL("../../testdata/", import.meta.url);

interface Case {
  file: string;
  api: "openai-chat" | "openai-responses" | "anthropic" | "gemini";
  why: string;
  want: ResponseFields;
}

const cases: Case[] = JSON.parse(readFileSync(new URL("usage-cases.json", testdata), "utf8")).cases;

function load(file: string): any {
  return JSON.parse(readFileSync(new URL(file, testdata), "utf8"));
}

// Each API's two entry points: the whole response, and its usage object alone.
const mappers: Record<Case["api"], { response: (body: any) => ResponseFields; usage: (body: any) => TokenFields }> = {
  "openai-chat": { response: fromOpenAIChat, usage: (b) => openaiChatUsage(b.usage) },
  "openai-responses": { response: fromOpenAIResponses, usage: (b) => openaiResponsesUsage(b.usage) },
  anthropic: { response: fromAnthropic, usage: (b) => anthropicUsage(b.usage) },
  gemini: { response: (b) => fromGemini(b), usage: (b) => geminiUsage(b.usageMetadata) },
};

test("recorded responses map to the contract's token fields", async (t) => {
  assert.ok(cases.length >= 7, "the recorded cases are loaded");
  for (const c of cases) {
    await t.test(c.file, () => {
      const body = load(c.file);
      const m = mappers[c.api];
      assert.deepEqual(m.response(body), c.want, c.why);
      const { provider: _p, model: _m, ...tokens } = c.want;
      assert.deepEqual(m.usage(body), tokens, c.why);
    });
  }
});

test("Anthropic: input_tokens becomes uncached + cache reads + cache writes", () => {
  const got = anthropicUsage({ input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200 });
  assert.deepEqual(got, { input_tokens: 1210, output_tokens: 5, cache_read_tokens: 1000, cache_write_tokens: 200 });
  // Only the breakdown: its sum is the write total.
  const split = anthropicUsage({
    input_tokens: 3, output_tokens: 1, cache_creation_input_tokens: null,
    cache_creation: { ephemeral_5m_input_tokens: 40, ephemeral_1h_input_tokens: 60 },
  });
  assert.deepEqual(split, { input_tokens: 103, output_tokens: 1, cache_write_tokens: 100, cache_write_1h_tokens: 60 });
});

test("a missing usage maps to zero tokens instead of throwing", () => {
  for (const f of [openaiChatUsage, openaiResponsesUsage, anthropicUsage, geminiUsage] as ((u: unknown) => TokenFields)[]) {
    assert.deepEqual(f(undefined), { input_tokens: 0, output_tokens: 0 });
    assert.deepEqual(f(null), { input_tokens: 0, output_tokens: 0 });
  }
  assert.deepEqual(fromOpenAIChat({ model: "gpt-4.1" }), { provider: "openai", model: "gpt-4.1", input_tokens: 0, output_tokens: 0 });
  assert.deepEqual(fromGemini({}, "gemini-2.5-flash"), { provider: "google", model: "gemini-2.5-flash", input_tokens: 0, output_tokens: 0 });
});

test("parts never exceed their whole, and odd values count as zero", () => {
  // A provider report that breaks the collector's rules would make the event be refused (422).
  assert.deepEqual(openaiChatUsage({
    prompt_tokens: 100, completion_tokens: 10,
    prompt_tokens_details: { cached_tokens: 150, cache_write_tokens: 20 },
    completion_tokens_details: { reasoning_tokens: 11 },
  }), { input_tokens: 100, output_tokens: 10, cache_read_tokens: 100, reasoning_tokens: 10 });
  assert.deepEqual(openaiResponsesUsage({
    input_tokens: 100, output_tokens: 10, input_tokens_details: { cached_tokens: 60, cache_write_tokens: 70 },
  }), { input_tokens: 100, output_tokens: 10, cache_read_tokens: 60, cache_write_tokens: 40 });
  assert.deepEqual(geminiUsage({ promptTokenCount: -5, candidatesTokenCount: 2.7, thoughtsTokenCount: Number.NaN }),
    { input_tokens: 0, output_tokens: 2 });
  assert.deepEqual(openaiChatUsage({ prompt_tokens: "12" as unknown as number, completion_tokens: 3 }),
    { input_tokens: 0, output_tokens: 3 });
});

test("a collector stores the mapped events with those token fields", async () => {
  const col = await Collector.start();
  const logger = recordingLogger();
  const client = new Client({ url: col.url, token, logger, flushOnExit: false });
  const ids: string[] = [];
  for (const c of cases) {
    const id = `usage-${c.file}`;
    ids.push(id);
    client.log({ event_id: id, service: "USAGE_TEST", ...mappers[c.api].response(load(c.file)) });
  }
  assert.deepEqual(await client.close({ timeoutMs: 30_000 }), { unsent: 0 });
  assert.deepEqual(client.stats(), { sent: cases.length, duplicates: 0, retried: 0, dropped: 0, rejected: 0 });
  assert.deepEqual(logger.lines, []);
  await assertStoredOnce(col, ids);
  const stored = new Map((await col.events()).map((e) => [e.event_id, e]));
  for (const c of cases) {
    const e = stored.get(`usage-${c.file}`)!;
    const w = c.want;
    assert.deepEqual(
      [e.provider, e.model, e.input_tokens, e.output_tokens, e.cache_read_tokens, e.cache_write_tokens, e.reasoning_tokens],
      [w.provider, w.model, w.input_tokens, w.output_tokens, w.cache_read_tokens ?? 0, w.cache_write_tokens ?? 0, w.reasoning_tokens ?? 0],
      c.file,
    );
  }
});
