// The node tests' side of the Go harness (node_test.go): real collectors (the aispend binary on
// a private PostgreSQL) started, killed and restarted on request, with a fault-injecting proxy
// in front. Run the tests with `go test ./collect/client-ts` (or `make test`), which starts it.

import assert from "node:assert/strict";

import type { Logger } from "../src/index.js";

const control = process.env["AISPEND_TEST_CONTROL"];
/** The collectors' ingest token. */
export const token = process.env["AISPEND_TEST_TOKEN"] ?? "";

export interface StoredEvent {
  event_id: string;
  occurred_at: string;
  service: string;
  model: string;
  provider: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost: string | null;
  cost_source: string;
  duration_ms: number | null;
  success: boolean;
  error: string | null;
  cache_hit: boolean;
  user_id: string | null;
  org_id: string | null;
  endpoint: string | null;
  tags: Record<string, string> | null;
}

export interface Fault {
  status?: number;
  retry_after?: string;
  lose_reply?: boolean;
}

async function call(method: string, path: string, body?: unknown): Promise<any> {
  if (!control) {
    throw new Error("AISPEND_TEST_CONTROL is not set: run these tests with `go test ./collect/client-ts` or `make test`, which start the collectors");
  }
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  const resp = await fetch(control + path, init);
  const text = await resp.text();
  if (!resp.ok) throw new Error(`harness ${method} ${path}: ${resp.status} ${text}`);
  return JSON.parse(text);
}

/** A real collector on its own fresh database. */
export class Collector {
  private constructor(
    readonly id: number,
    /** The collector itself. */
    readonly url: string,
    /** Through the proxy that applies queued faults. */
    readonly proxyUrl: string,
  ) {}

  static async start(): Promise<Collector> {
    const r = await call("POST", "/collectors");
    return new Collector(r.id, r.url, r.proxy_url);
  }

  /** SIGKILL, as a crash: open connections are cut, in-flight requests get no answer. */
  kill(): Promise<void> {
    return call("POST", `/collectors/${this.id}/kill`);
  }

  /** Starts it again on the same port and database; resolves once it is ready. */
  restart(): Promise<void> {
    return call("POST", `/collectors/${this.id}/start`);
  }

  /** Queues what the proxy does with its next requests, one fault per request. */
  faults(fs: Fault[]): Promise<void> {
    return call("POST", `/collectors/${this.id}/faults`, fs);
  }

  /** The request bodies the proxy received, in order. */
  async requests(): Promise<string[]> {
    return (await call("GET", `/collectors/${this.id}/requests`)).bodies;
  }

  /** Every stored row (a duplicate would be a second row with the same event_id). */
  async events(): Promise<StoredEvent[]> {
    return (await call("GET", `/collectors/${this.id}/events`)).events;
  }
}

/** Asserts that the stored rows are exactly the given ids, each once. */
export async function assertStoredOnce(c: Collector, ids: string[]): Promise<void> {
  const rows = await c.events();
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(r.event_id, (seen.get(r.event_id) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(twice, [], "events stored more than once");
  const missing = ids.filter((id) => !seen.has(id));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} events not stored`);
  assert.equal(rows.length, ids.length, "stored rows");
}

/** A logger that keeps the client's log lines for assertions (and prints none). */
export function recordingLogger(): Logger & { lines: { level: string; message: string; details?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; details?: Record<string, unknown> }[] = [];
  const rec = (level: string) => (message: string, details?: Record<string, unknown>) => {
    lines.push(details === undefined ? { level, message } : { level, message, details });
  };
  return { lines, info: rec("info"), warn: rec("warn"), error: rec("error") };
}

/** Resolves after ms. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls cond until it holds, failing after timeoutMs; for waiting on another process. */
export async function eventually(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}
