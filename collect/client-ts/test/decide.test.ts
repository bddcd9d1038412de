// decide() against a real collector (harness.ts) whose configuration (testdata/aispend.yaml)
// enforces a daily envelope of 10 USD per user: degrade big to small from 80 %, deny from 100 %,
// carol 0.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Client } from "../src/index.js";
import { Collector, recordingLogger, token } from "./harness.js";

function newClient(url: string, o: Record<string, unknown> = {}) {
  return new Client({ url, token, logger: recordingLogger(), flushOnExit: false, decideTimeoutMs: 5000, decideCacheTtlMs: 60_000, ...o });
}

// Ensures decide() returns the collector's decision as events arrive (allow, then degrade with the
// model to use once the logged spend passes 80 %), reuses an answer without an estimate, asks
// again with an estimate, and reuses a denial for any request of the same who and what.
test("decide follows the envelope and caches answers", async () => {
  const col = await Collector.start();
  const client = newClient(col.url);
  const alice = { user_id: "alice", model: "big", service: "QA_CHAT" };
  const first = await client.decide(alice);
  assert.equal(first.decision, "allow", JSON.stringify(first));
  assert.equal(first.cached, undefined);
  client.log({ service: "QA_CHAT", model: "big", input_tokens: 1, output_tokens: 1, cost: "8.5", user_id: "alice" });
  await client.flush();
  const degraded = await client.decide({ ...alice, estimated_cost: "0.5" });
  assert.equal(degraded.decision, "degrade", JSON.stringify(degraded));
  assert.equal(degraded.model, "small");
  assert.equal(degraded.budgets[0]?.entity, "alice");
  assert.equal(degraded.budgets[0]?.spent, "8.5");
  const again = await client.decide(alice);
  assert.equal(again.cached, true);
  assert.equal(again.decision, "degrade");
  const carol = await client.decide({ user_id: "carol", model: "big" });
  assert.equal(carol.decision, "deny");
  const carolAgain = await client.decide({ user_id: "carol", model: "big", estimated_cost: 0.01 });
  assert.equal(carolAgain.cached, true);
  assert.equal(carolAgain.decision, "deny");
  await client.close();
});

// Ensures decide() fails open when the collector is down (allow, unanswered, the reason), and
// closed with decideFailClosed; it never throws.
test("decide fails open when the collector does not answer", async () => {
  const col = await Collector.start();
  await col.kill();
  const open = await newClient(col.url, { decideTimeoutMs: 200 }).decide({ user_id: "carol", model: "big" });
  assert.equal(open.decision, "allow");
  assert.equal(open.unanswered, true);
  assert.ok(open.error);
  const closed = await newClient(col.url, { decideTimeoutMs: 200, decideFailClosed: true }).decide({ user_id: "carol", model: "big" });
  assert.equal(closed.decision, "deny");
  assert.equal(closed.unanswered, true);
});
