// The client against real collectors (the aispend binary on PostgreSQL, see harness.ts):
// delivery, retries with the same body, restarts, refusals, the buffer bound, close and the
// exit flush.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

import { backoffDelay, Client, parseRetryAfter, uuidv7 } from "../src/index.js";
import type { ClientOptions, Event } from "../src/index.js";
import { assertStoredOnce, Collector, delay, recordingLogger, token } from "./harness.js";

// Fast retries: the tests are about what is retried and with what, not about waiting.
function newClient(url: string, o: Partial<ClientOptions> = {}) {
  const logger = recordingLogger();
  const client = new Client({ url, token, logger, minBackoffMs: 1, maxBackoffMs: 20, flushOnExit: false, ...o });
  return { client, logger };
}

function ev(id: string, extra: Partial<Event> = {}): Event {
  return { event_id: id, service: "TS_TEST", model: "claude-sonnet-4-5", provider: "anthropic", input_tokens: 500, output_tokens: 300, ...extra };
}

function idsOf(body: string): string[] {
  return (JSON.parse(body) as { event_id: string }[]).map((e) => e.event_id);
}

// Ensures every event logged before close() is stored exactly once although the collector is
// killed twice (once while requests are in flight) and restarted, and nothing is dropped.
test("every event logged before close() is stored exactly once across collector restarts", async () => {
  const col = await Collector.start();
  const { client, logger } = newClient(col.url, { batchSize: 50, flushIntervalMs: 5 });
  const ids: string[] = [];
  let next = 0;
  const logSome = (n: number) => {
    for (let i = 0; i < n; i++) {
      const id = `restart-${next++}`;
      ids.push(id);
      client.log(ev(id, { user_id: `u-${next % 7}` }));
    }
  };
  // Keep logging while the collector goes down and comes back: log() must neither throw nor wait.
  const producer = (async () => {
    for (let round = 0; round < 60; round++) {
      logSome(25);
      await delay(5);
    }
  })();
  await delay(40);
  await col.kill(); // a crash with batches in flight: their commit may or may not have happened
  logSome(50); // logged while it is down, whatever the producer's pace on a busy machine
  await delay(100);
  await col.restart();
  await delay(60);
  await col.kill();
  logSome(50);
  await delay(50);
  await col.restart();
  await producer;
  logSome(100);

  const res = await client.close({ timeoutMs: 60_000 });
  assert.deepEqual(res, { unsent: 0 });
  const s = client.stats();
  assert.equal(s.sent, ids.length, "sent");
  assert.equal(s.dropped, 0, "dropped");
  assert.equal(s.rejected, 0, "rejected");
  assert.ok(s.retried > 0, "the outage caused retries");
  await assertStoredOnce(col, ids);
  // The outage was logged as such, and its end too.
  assert.ok(logger.lines.some((l) => l.message === "aispend client: collector unavailable; retrying"));
  assert.ok(logger.lines.some((l) => l.message === "aispend client: collector reachable again"));
});

// Ensures a batch whose reply was lost is re-sent with the very same body, so the collector
// recognises it and stores nothing twice.
test("a lost reply is retried with the same body and counted as duplicates", async () => {
  const col = await Collector.start();
  await col.faults([{ lose_reply: true }]);
  const { client } = newClient(col.proxyUrl);
  const ids = ["lost-1", "lost-2", "lost-3"];
  for (const id of ids) client.log(ev(id, { occurred_at: new Date("2026-11-30T10:00:00.123Z") }));
  assert.deepEqual(await client.close({ timeoutMs: 30_000 }), { unsent: 0 });
  const bodies = await col.requests();
  assert.equal(bodies.length, 2);
  assert.equal(bodies[1], bodies[0], "the retry carries the same bytes");
  assert.deepEqual(client.stats(), { sent: 3, duplicates: 3, retried: 1, dropped: 0, rejected: 0 });
  await assertStoredOnce(col, ids);
});

// Ensures 5xx, 429 and 408 are retried with the same body, Retry-After is waited out (a lower
// bound the client guarantees, not a speed measure), and the events are then stored once.
test("5xx, 429 and 408 are retried with the same body, honouring Retry-After", async () => {
  const col = await Collector.start();
  await col.faults([{ status: 503, retry_after: "1" }, { status: 500 }, { status: 429 }, { status: 408 }, { status: 502 }]);
  const arrivals: number[] = [];
  const timed: typeof fetch = (input, init) => {
    arrivals.push(Date.now());
    return fetch(input, init);
  };
  const { client } = newClient(col.proxyUrl, { fetch: timed });
  const ids = Array.from({ length: 40 }, (_, i) => `busy-${i}`);
  for (const id of ids) client.log(ev(id));
  assert.deepEqual(await client.close({ timeoutMs: 30_000 }), { unsent: 0 });
  const bodies = await col.requests();
  assert.equal(bodies.length, 6);
  for (const b of bodies) assert.equal(b, bodies[0]);
  assert.deepEqual(client.stats(), { sent: 40, duplicates: 0, retried: 5, dropped: 0, rejected: 0 });
  assert.ok(arrivals[1]! - arrivals[0]! >= 1000, `retried ${arrivals[1]! - arrivals[0]!} ms after Retry-After: 1`);
  await assertStoredOnce(col, ids);
});

// Ensures that with the collector down for good, close() gives up at its deadline, counts the
// unsent events as dropped and says so.
test("close() gives up at its timeout and counts what is unsent as dropped", async () => {
  const col = await Collector.start();
  await col.kill();
  const { client, logger } = newClient(col.url);
  for (let i = 0; i < 5; i++) client.log(ev(`down-${i}`));
  assert.deepEqual(await client.close({ timeoutMs: 300 }), { unsent: 5 });
  const s = client.stats();
  assert.equal(s.dropped, 5);
  assert.equal(s.sent, 0);
  assert.ok(logger.lines.some((l) => l.message === "aispend client: events dropped" && l.details?.["unsent_at_close"] === 5));
  // Closed: later events are dropped at once.
  client.log(ev("after-close"));
  assert.equal(client.stats().dropped, 6);
});

// Ensures maxRetries bounds the retries of one batch, after which it is dropped and the
// client moves on to the next.
test("maxRetries drops a batch that keeps failing, then goes on", async () => {
  const col = await Collector.start();
  await col.faults([{ status: 502 }, { status: 502 }, { status: 502 }]);
  const { client } = newClient(col.proxyUrl, { maxRetries: 2, batchSize: 2 });
  for (const id of ["m-1", "m-2", "m-3"]) client.log(ev(id));
  await client.close({ timeoutMs: 30_000 });
  assert.deepEqual(client.stats(), { sent: 1, duplicates: 0, retried: 2, dropped: 2, rejected: 0 });
  await assertStoredOnce(col, ["m-3"]);
});

// Ensures a 422 drops only the invalid events, named in the answer's problems, and stores the rest.
test("invalid events are rejected, the others of their batch stored", async () => {
  const col = await Collector.start();
  const { client, logger } = newClient(col.url);
  client.log(ev("ok-1"));
  client.log(ev("bad-1", { service: "has spaces" }));
  client.log(ev("ok-2"));
  client.log(ev("bad-2", { input_tokens: -1 }));
  await client.close({ timeoutMs: 30_000 });
  assert.deepEqual(client.stats(), { sent: 2, duplicates: 0, retried: 0, dropped: 0, rejected: 2 });
  await assertStoredOnce(col, ["ok-1", "ok-2"]);
  const line = logger.lines.find((l) => l.message === "aispend client: collector rejected invalid events");
  assert.ok(line, "the rejection is logged");
  assert.match(String(line.details?.["problems"]), /"bad-1"/);
});

// Ensures a wrong token is a refusal for good: no retries, one log line.
test("a wrong token is rejected without retrying", async () => {
  const col = await Collector.start();
  const { client, logger } = newClient(col.url, { token: "wrong", batchSize: 2 });
  for (let i = 0; i < 6; i++) client.log(ev(`tok-${i}`));
  await client.close({ timeoutMs: 30_000 });
  assert.deepEqual(client.stats(), { sent: 0, duplicates: 0, retried: 0, dropped: 0, rejected: 6 });
  const refusals = logger.lines.filter((l) => l.message === "aispend client: collector refused events; not retrying");
  assert.equal(refusals.length, 1, "logged once, not per batch");
  assert.equal(refusals[0]!.details?.["status"], 401);
  assert.equal((await col.events()).length, 0);
});

// Ensures a 413 halves the batch until it fits, and every event is stored once.
test("a 413 splits the batch", async () => {
  const col = await Collector.start();
  await col.faults([{ status: 413 }]);
  const { client } = newClient(col.proxyUrl);
  const ids = ["s-1", "s-2", "s-3", "s-4", "s-5"];
  for (const id of ids) client.log(ev(id));
  await client.close({ timeoutMs: 30_000 });
  const bodies = await col.requests();
  assert.deepEqual(bodies.map(idsOf), [ids, ["s-1", "s-2"], ["s-3", "s-4", "s-5"]]);
  assert.deepEqual(client.stats(), { sent: 5, duplicates: 0, retried: 0, dropped: 0, rejected: 0 });
  await assertStoredOnce(col, ids);
});

// Ensures batches respect batchSize and maxBatchBytes, and an event too large alone is rejected.
test("batches respect batchSize and maxBatchBytes", async () => {
  const col = await Collector.start();
  const { client } = newClient(col.proxyUrl, { batchSize: 3, maxBatchBytes: 1024 });
  const ids = Array.from({ length: 7 }, (_, i) => `b-${i}`);
  for (const id of ids) client.log(ev(id, { endpoint: "x".repeat(200) })); // ~450 bytes each: 2 per KiB
  client.log(ev("huge", { error: "y".repeat(1000) }));
  await client.close({ timeoutMs: 30_000 });
  const bodies = await col.requests();
  for (const b of bodies) assert.ok(new TextEncoder().encode(b).length <= 1024, `body of ${b.length} bytes`);
  assert.deepEqual(bodies.map(idsOf).flat(), ids, "in order, each once");
  assert.ok(bodies.every((b) => idsOf(b).length <= 3));
  assert.deepEqual(client.stats(), { sent: 7, duplicates: 0, retried: 0, dropped: 0, rejected: 1 });
  await assertStoredOnce(col, ids);
});

// Ensures the buffer is bounded: what does not fit is dropped and counted, what fits is sent.
test("a full buffer drops and counts", async () => {
  const col = await Collector.start();
  const { client } = newClient(col.url, { bufferSize: 10, batchSize: 100 });
  const ids = Array.from({ length: 25 }, (_, i) => `full-${i}`);
  for (const id of ids) client.log(ev(id)); // all in one tick: the sender has taken none yet
  await client.close({ timeoutMs: 30_000 });
  assert.deepEqual(client.stats(), { sent: 10, duplicates: 0, retried: 0, dropped: 15, rejected: 0 });
  await assertStoredOnce(col, ids.slice(0, 10));
});

// Ensures every field reaches the collector as the contract names it, and that event_id and
// occurred_at are filled in when absent.
test("event fields are stored as sent; id and time are filled in", async () => {
  const col = await Collector.start();
  const { client } = newClient(col.url);
  const at = new Date("2026-11-30T08:15:30.250Z");
  client.log({
    event_id: "full-fields", occurred_at: at, service: "QA_CHAT", model: "gpt-4.1", provider: "openai",
    input_tokens: 1200, output_tokens: 80, cache_read_tokens: 1000, reasoning_tokens: 20, cost: "0.0123",
    currency: "USD", duration_ms: 845, success: false, error: "upstream timeout", cache_hit: true,
    user_id: "u-42", org_id: "org-7", endpoint: "/api/chat", tags: { team: "search", "feature.flag": "b" },
  });
  const before = Date.now();
  client.log({ service: "QA_CHAT", model: "gpt-4.1", input_tokens: 1, output_tokens: 1 });
  await client.close({ timeoutMs: 30_000 });
  const rows = await col.events();
  assert.equal(rows.length, 2);
  const full = rows.find((r) => r.event_id === "full-fields")!;
  assert.deepEqual(
    { ...full, occurred_at: new Date(full.occurred_at).toISOString() },
    {
      event_id: "full-fields", occurred_at: at.toISOString(), service: "QA_CHAT", model: "gpt-4.1", provider: "openai",
      input_tokens: 1200, output_tokens: 80, cache_read_tokens: 1000, cache_write_tokens: 0, reasoning_tokens: 20,
      cost: "0.0123", cost_source: "provider", duration_ms: 845, success: false, error: "upstream timeout",
      cache_hit: true, user_id: "u-42", org_id: "org-7", endpoint: "/api/chat", tags: { team: "search", "feature.flag": "b" },
    },
  );
  const auto = rows.find((r) => r.event_id !== "full-fields")!;
  assert.match(auto.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const t = new Date(auto.occurred_at).getTime();
  assert.ok(t >= before - 1000 && t <= Date.now(), "occurred_at is the time of log()");
  assert.equal(auto.success, true);
});

// Ensures flush() sends what is queued without waiting for the batch to fill, and leaves the
// client open.
test("flush() sends now; the client stays open", async () => {
  const col = await Collector.start();
  const { client } = newClient(col.url, { flushIntervalMs: 600_000 });
  client.log(ev("f-1"));
  client.log(ev("f-2"));
  assert.deepEqual(await client.flush({ timeoutMs: 30_000 }), { unsent: 0 });
  await assertStoredOnce(col, ["f-1", "f-2"]);
  client.log(ev("f-3"));
  await client.close({ timeoutMs: 30_000 });
  await assertStoredOnce(col, ["f-1", "f-2", "f-3"]);
  assert.equal(client.stats().sent, 3);
});

// Ensures log() never throws, whatever it is given, and counts what it cannot send.
test("log() never throws", () => {
  const { client } = newClient("http://127.0.0.1:9");
  const cyclic: any = { service: "S", model: "m", input_tokens: 1, output_tokens: 1 };
  cyclic.tags = { self: cyclic };
  const hostile = { get service(): string { throw new Error("boom"); } } as unknown as Event;
  assert.doesNotThrow(() => {
    client.log(cyclic);
    client.log({ service: "S", model: "m", input_tokens: 1, output_tokens: 1, cost: 10n as unknown as number });
    client.log(hostile);
    client.log(null as unknown as Event);
    client.log({ service: "S", model: "m", input_tokens: 1, output_tokens: 1, occurred_at: new Date("nonsense") });
  });
  assert.equal(client.stats().rejected, 4, "cycle, bigint, throwing getter, invalid date");
  void client.close({ timeoutMs: 1 });
});

// Ensures a Node process that logs and then simply ends sends its events on the way out (the
// beforeExit flush), and that without the hook they would be lost, so the hook is what does it.
test("a Node process flushes on exit", async () => {
  const col = await Collector.start();
  const child = fileURLToPath(new URL("./fixtures/exit-child.js", import.meta.url));
  const run = (flag: string, prefix: string) =>
    new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const p = spawn(process.execPath, [child, col.url, token, prefix, "30", flag], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (out += d));
      p.on("error", reject);
      p.on("exit", (code) => resolve({ code, out }));
    });
  const on = await run("flush-on-exit", "exit");
  assert.equal(on.code, 0, on.out);
  const ids = Array.from({ length: 30 }, (_, i) => `exit-${i}`);
  await assertStoredOnce(col, ids);
  const off = await run("no-flush-on-exit", "noexit");
  assert.equal(off.code, 0, off.out);
  await assertStoredOnce(col, ids); // the 30 "noexit-" events never left the process
});

test("uuidv7 ids are valid, unique and increasing", () => {
  const ids = Array.from({ length: 5000 }, () => uuidv7());
  for (const id of ids.slice(0, 50)) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids, "sorted by creation");
  const ms = parseInt(ids[0]!.replace(/-/g, "").slice(0, 12), 16);
  assert.ok(Math.abs(ms - Date.now()) < 60_000, "the first 48 bits are the time in ms");
});

test("options are checked, every problem at once", () => {
  assert.throws(() => new Client({ url: "ftp://example.com", batchSize: 5000, bufferSize: -1, token: "a\nb" }), (err: Error) => {
    assert.ok(err instanceof TypeError);
    for (const want of ["url", "batchSize", "bufferSize", "token"]) assert.match(err.message, new RegExp(want));
    return true;
  });
  assert.throws(() => new Client({ url: "" }), /url is required/);
});

test("parseRetryAfter reads seconds and HTTP dates, capped at 5 minutes", () => {
  const now = Date.parse("2026-12-01T10:00:00Z");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter("-4", now), 0);
  assert.equal(parseRetryAfter("86400", now), 300_000);
  assert.equal(parseRetryAfter("Tue, 01 Dec 2026 10:00:07 GMT", now), 7000);
  assert.equal(parseRetryAfter("Tue, 01 Dec 2026 09:59:00 GMT", now), 0);
  assert.equal(parseRetryAfter("soon", now), 0);
  assert.equal(parseRetryAfter(null, now), 0);
});

test("backoff doubles up to the cap, with equal jitter", () => {
  assert.equal(backoffDelay(1, 100, 30_000, 0), 50);
  assert.equal(backoffDelay(1, 100, 30_000, 0.999999), 100);
  assert.equal(backoffDelay(4, 100, 30_000, 0), 400);
  assert.equal(backoffDelay(20, 100, 30_000, 0), 15_000);
  assert.equal(backoffDelay(20, 100, 30_000, 0.999999), 30_000);
});
