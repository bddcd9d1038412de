// The aispend client: log(event) queues and returns; one sender loop delivers batches in order.
//
// It mirrors the Go client (collect/client) in behaviour, defaults and counters:
//   - log never blocks on the network and never throws; a full buffer drops and counts;
//   - batches of up to batchSize events / maxBatchBytes, or whatever arrived within
//     flushIntervalMs of a batch's first event, POSTed to /v1/events as a JSON array;
//   - network errors, 408, 429 and 5xx are retried with the very same body (so the same
//     event_id and occurred_at: the collector stores each event once however often it is
//     re-sent), with exponential back-off and jitter, honouring Retry-After;
//   - a 413 splits the batch, a 422 drops the events it names and re-sends the rest, any other
//     4xx refuses the batch for good;
//   - batches go one at a time, so a failing collector holds back later events rather than
//     reordering or losing them; the bounded buffer is what gives way.

import { Decider } from "./decide.js";
import type { DecideOptions, DecideRequest, Decision } from "./decide.js";
import { uuidv7 } from "./uuid.js";

/** The collector's limit of events per request. */
export const MAX_BATCH_SIZE = 1000;

/** One AI request, in the collector's wire format (snake_case, as in POST /v1/events). */
export interface Event {
  /** Idempotency key, 1–128 characters. Left out: log() assigns a UUIDv7. */
  event_id?: string;
  /** When the AI request happened. Left out: log() uses the current time. */
  occurred_at?: Date | string;
  /** The feature that made the request, e.g. QA_CHAT ([A-Za-z0-9_.:-], ≤ 64). */
  service: string;
  /** The model, e.g. claude-sonnet-4-5. */
  model: string;
  /** e.g. anthropic, openai, google. */
  provider?: string;
  /** Every input token, cached ones included (see the usage mappers). */
  input_tokens: number;
  /** Every output token, reasoning included. */
  output_tokens: number;
  cache_read_tokens?: number;
  cache_write_tokens?: number;
  cache_write_1h_tokens?: number;
  reasoning_tokens?: number;
  /** What the provider charged, as a decimal string (exact) or a number; overrides the price table. */
  cost?: string | number;
  /** ISO 4217 currency of cost; default the collector's reporting currency. */
  currency?: string;
  duration_ms?: number;
  /** Default true. */
  success?: boolean;
  error?: string;
  /** The application answered from its own cache. */
  cache_hit?: boolean;
  user_id?: string;
  org_id?: string;
  endpoint?: string;
  tags?: Record<string, string>;
}

/** The client's own log lines (rejections, drops, outages); `console` fits. */
export interface Logger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** Options of a Client. Only url is required. */
export interface ClientOptions extends DecideOptions {
  /** The collector's base URL, e.g. http://127.0.0.1:8080; events go to url/v1/events. */
  url: string;
  /** Bearer token; empty or absent sends no Authorization header. */
  token?: string;
  /** Events that may wait to be sent; more are dropped. Default 10,000. */
  bufferSize?: number;
  /** Most events per request, at most 1,000. Default 100. */
  batchSize?: number;
  /** Most bytes per request body. Default 1 MiB, the collector's default limit. */
  maxBatchBytes?: number;
  /** Longest an event waits for its batch to fill, in ms. Default 1,000. */
  flushIntervalMs?: number;
  /**
   * Retries of one batch before it is dropped. 0 (the default): no limit, the batch is retried
   * until it is stored or close() gives up, while new events queue behind it. Negative: never.
   */
  maxRetries?: number;
  /** First retry delay, doubled per retry up to maxBackoffMs, with jitter. Defaults 100 and 30,000 ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Bound of each HTTP attempt, in ms. Default 10,000. */
  requestTimeoutMs?: number;
  /** The fetch to use; default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Where the client reports its problems; default console. Lines start with "aispend client:". */
  logger?: Logger;
  /**
   * In Node, send what is buffered when the process is about to exit on its own (the
   * beforeExit event), waiting at most exitTimeoutMs. Default true. process.exit() and signals
   * end a process without that event: call close() in your shutdown handler.
   */
  flushOnExit?: boolean;
  /** Longest the exit flush waits, in ms. Default 5,000. */
  exitTimeoutMs?: number;
}

/**
 * The client's counters since it was created. Every event passed to log() ends up in exactly
 * one of sent, dropped or rejected, or is still pending.
 */
export interface Stats {
  /** Events the collector acknowledged (stored now or already stored before). */
  sent: number;
  /** The part of sent the collector already had (a re-send after a lost reply, an id logged twice). */
  duplicates: number;
  /** Requests re-sent after a transient failure (network error, 408, 429, 5xx). */
  retried: number;
  /**
   * Events given up: the buffer was full, log() was called after close(), the batch ran out
   * of maxRetries, or the event was still unsent when close()'s deadline passed.
   */
  dropped: number;
  /**
   * Events the collector refused for good (4xx other than 408 and 429): invalid fields (422,
   * only the invalid events of a batch), a wrong token (401/403), or an event too large to send.
   */
  rejected: number;
}

/** Options of flush() and close(). */
export interface WaitOptions {
  /** Stop waiting after this many ms. */
  timeoutMs?: number;
  /** Stop waiting when this signal aborts. */
  signal?: AbortSignal;
}

/** What flush() and close() report when they return. */
export interface FlushResult {
  /**
   * Events still unsent. After flush() they are still queued and will be sent; after close()
   * they were given up and counted as dropped (a batch in flight when the deadline passed may
   * or may not have been stored).
   */
  unsent: number;
}

const MAX_RETRY_AFTER_MS = 5 * 60_000; // a stuck Retry-After must not stall the client for hours
const REJECT_LOG_EVERY_MS = 60_000; // a permanent failure (a wrong token) is logged once a minute, not per batch
const DROP_LOG_EVERY_MS = 10_000; // same for drops, which come in bursts
const MAX_LOG_PROBLEMS = 10;
const MAX_REPLY_BYTES = 1 << 20;

type Encoded = { json: string; bytes: number };

type Outcome =
  | { kind: "reply"; status: number; retryAfterMs: number; body: string }
  | { kind: "network"; error: unknown }
  | { kind: "aborted" };

const encoder = new TextEncoder();

/** Client sends events to the collector in the background. */
export class Client {
  private readonly endpoint: string;
  private readonly token: string;
  private readonly bufferSize: number;
  private readonly batchSize: number;
  private readonly maxBatchBytes: number;
  private readonly flushIntervalMs: number;
  private readonly maxRetries: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly exitTimeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly logger: Logger;
  private readonly decider: Decider;

  private readonly queue: Encoded[] = [];
  private inFlight = 0; // events of the batch being delivered
  private closed = false;
  private urgent = 0; // flush()/close() calls waiting: send without waiting for batches to fill
  private loop: Promise<void> | undefined; // the sender loop, while it runs
  private wake: (() => void) | undefined; // ends the sender's wait for a batch to fill
  private readonly abort = new AbortController(); // aborted when close()'s deadline passes
  private closing: Promise<FlushResult> | undefined;
  private removeExitHook: (() => void) | undefined;

  private counters: Stats = { sent: 0, duplicates: 0, retried: 0, dropped: 0, rejected: 0 };
  private abandoned = 0;
  private failing = false;
  private reportedDrops = 0;
  private lastDropLog = 0;
  private readonly lastReject = new Map<number, number>();
  private readonly suppressed = new Map<number, number>();

  /** Checks the options and applies defaults; throws a TypeError listing every problem. */
  constructor(options: ClientOptions) {
    const o = options ?? ({} as ClientOptions);
    const problems: string[] = [];
    let base: URL | undefined;
    if (!o.url) {
      problems.push("url is required");
    } else {
      try {
        base = new URL(o.url);
        if ((base.protocol !== "http:" && base.protocol !== "https:") || !base.host) {
          problems.push(`url ${JSON.stringify(o.url)}: must be http(s)://host[:port][/path]`);
        }
      } catch {
        problems.push(`url ${JSON.stringify(o.url)}: not a URL`);
      }
    }
    const num = (name: keyof ClientOptions, def: number, min: number, max = Infinity): number => {
      const v = o[name];
      if (v === undefined || v === 0) return def;
      if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
        problems.push(`${name} ${String(v)}: must be a number from ${min}${max < Infinity ? ` to ${max}` : ""}`);
        return def;
      }
      return v;
    };
    this.bufferSize = num("bufferSize", 10_000, 1);
    this.batchSize = num("batchSize", 100, 1, MAX_BATCH_SIZE);
    this.maxBatchBytes = num("maxBatchBytes", 1 << 20, 64);
    this.flushIntervalMs = num("flushIntervalMs", 1000, 0);
    this.maxRetries = o.maxRetries === undefined ? 0 : num("maxRetries", 0, -Infinity);
    this.minBackoffMs = num("minBackoffMs", 100, 0);
    this.maxBackoffMs = Math.max(num("maxBackoffMs", 30_000, 0), this.minBackoffMs);
    this.requestTimeoutMs = num("requestTimeoutMs", 10_000, 1);
    this.exitTimeoutMs = num("exitTimeoutMs", 5000, 1);
    const decideTimeoutMs = num("decideTimeoutMs", 250, 1);
    const decideCacheTtlMs = o.decideCacheTtlMs !== undefined && o.decideCacheTtlMs < 0 ? -1 : num("decideCacheTtlMs", 1000, 0);
    if (o.token !== undefined && (typeof o.token !== "string" || /[\r\n]/.test(o.token))) {
      problems.push("token must be a string without line breaks");
    }
    const f = o.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (typeof f !== "function") {
      problems.push("no fetch: this runtime has no globalThis.fetch (Node 18 or later has); pass options.fetch");
    }
    if (problems.length > 0) {
      throw new TypeError(`configure aispend client: ${problems.join("; ")}`);
    }
    this.endpoint = base!.href.replace(/\/+$/, "") + "/v1/events";
    this.token = o.token ?? "";
    this.fetch = f!;
    this.logger = o.logger ?? console;
    this.decider = new Decider(base!.href.replace(/\/+$/, "") + "/v1/decide", this.token, this.fetch, decideTimeoutMs,
      decideCacheTtlMs, o.decideFailClosed === true);
    if (o.flushOnExit !== false) this.installExitHook();
  }

  /**
   * Asks the collector, before an AI request, whether it may go ahead and on which model
   * (POST /v1/decide). It never throws and waits at most decideTimeoutMs: when the collector
   * does not answer, the decision is allow (deny with decideFailClosed) with unanswered set.
   * Answers are reused for decideCacheTtlMs (see decide.ts).
   */
  decide(req: DecideRequest): Promise<Decision> {
    return this.decider.decide(req);
  }

  /**
   * Queues ev for sending and returns at once; it never throws and never waits for the
   * network. It fills in event_id (a UUIDv7) and occurred_at (now) when absent, here and once,
   * so that every retry carries the same values. The event is encoded now, so the caller may
   * change the object afterwards. When the buffer is full, or after close(), the event is
   * dropped and counted in stats().dropped; an event that cannot be encoded, or alone exceeds
   * maxBatchBytes, is counted as rejected.
   */
  log(ev: Event): void {
    try {
      if (this.closed) {
        this.counters.dropped++;
        return;
      }
      if (this.queue.length >= this.bufferSize) {
        this.counters.dropped++;
        return;
      }
      const enc = encode(ev);
      if (enc === undefined || enc.bytes + 2 > this.maxBatchBytes) {
        this.counters.rejected++;
        return;
      }
      this.queue.push(enc);
      this.kick();
    } catch {
      // Whatever went wrong (a getter that throws, a hostile toJSON), the caller's request
      // must not fail because of its log line.
      this.counters.rejected++;
    }
  }

  /** The counters so far (a copy). */
  stats(): Stats {
    return { ...this.counters };
  }

  /**
   * Sends everything queued now, without waiting for batches to fill, and resolves when the
   * queue is empty (retrying as usual) or the timeout or signal ends the wait; it never
   * rejects. Events not sent by then stay queued.
   */
  async flush(options: WaitOptions = {}): Promise<FlushResult> {
    this.urgent++;
    try {
      this.kick();
      await this.waitFor(this.idle(), options);
    } finally {
      this.urgent--;
    }
    return { unsent: this.pending() };
  }

  /**
   * Stops accepting events, sends everything queued (retrying as usual) and resolves; it never
   * rejects. When the timeout or signal ends the wait first, the request in flight is aborted
   * and whatever is still unsent is counted as dropped and reported in `unsent`. Calling
   * close() again returns the first call's result.
   */
  close(options: WaitOptions = {}): Promise<FlushResult> {
    this.closing ??= this.doClose(options);
    return this.closing;
  }

  private async doClose(options: WaitOptions): Promise<FlushResult> {
    this.closed = true;
    this.urgent++;
    this.removeExitHook?.();
    this.kick();
    const finished = await this.waitFor(this.idle(), options);
    if (!finished) {
      this.abort.abort();
      await this.idle(); // the sender sees the abort, counts what is left, and stops
    }
    this.reportDrops(true);
    return { unsent: this.abandoned };
  }

  private pending(): number {
    return this.queue.length + this.inFlight;
  }

  // kick starts the sender loop if it is not running, or ends its wait for a batch to fill
  // when the batch is full or someone is flushing.
  private kick(): void {
    if (this.loop === undefined) {
      this.loop = this.run().finally(() => {
        this.loop = undefined;
        // An event queued after the loop's last look (log() during the final await) starts a
        // new loop.
        if (this.queue.length > 0 && !this.abort.signal.aborted) this.kick();
      });
      return;
    }
    if (this.wake !== undefined && (this.queue.length >= this.batchSize || this.urgent > 0)) {
      this.wake();
    }
  }

  // idle resolves when the sender loop has nothing left to do.
  private async idle(): Promise<void> {
    while (this.loop !== undefined) await this.loop;
  }

  private async waitFor(p: Promise<void>, options: WaitOptions): Promise<boolean> {
    const { timeoutMs, signal } = options;
    if (timeoutMs === undefined && signal === undefined) {
      await p;
      return true;
    }
    if (signal?.aborted) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<boolean>((resolve) => {
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
      if (signal !== undefined) {
        onAbort = () => resolve(false);
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([p.then(() => true), stop]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    }
  }

  // run gathers batches and delivers them one at a time until the queue is empty.
  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.abort.signal.aborted) {
        this.abandon(this.queue.splice(0).length);
        return;
      }
      if (this.queue.length < this.batchSize && this.urgent === 0 && !this.closed) {
        await this.gatherWait();
        if (this.abort.signal.aborted) continue;
      }
      const batch = this.take();
      this.inFlight = batch.length;
      try {
        await this.deliver(batch);
      } finally {
        this.inFlight = 0;
      }
      this.reportDrops(false);
    }
  }

  // gatherWait waits up to flushIntervalMs for the batch to fill (kick ends it early). The timer
  // does not keep a Node process alive: the exit hook sends what is left.
  private gatherWait(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.flushIntervalMs);
      unref(timer);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private take(): Encoded[] {
    const batch: Encoded[] = [];
    let size = 1; // the opening bracket
    while (batch.length < this.batchSize && this.queue.length > 0) {
      const ev = this.queue[0]!;
      if (batch.length > 0 && size + ev.bytes + 1 > this.maxBatchBytes) break;
      batch.push(ev);
      size += ev.bytes + 1; // a comma or the closing bracket
      this.queue.shift();
    }
    return batch;
  }

  private async deliver(events: Encoded[]): Promise<void> {
    let payload = body(events);
    let retries = 0;
    for (;;) {
      const r = await this.post(payload);
      if (r.kind === "aborted") {
        // close()'s deadline passed during the request: its outcome is unknown.
        this.abandon(events.length);
        return;
      }
      const status = r.kind === "reply" ? r.status : 0;
      if (r.kind === "reply" && status >= 200 && status < 300) {
        this.succeeded(events.length, r.body, retries);
        return;
      }
      if (r.kind === "network" || status === 408 || status === 429 || status >= 500) {
        retries++;
        const err = r.kind === "network" ? errorText(r.error) : undefined;
        if (this.maxRetries < 0 || (this.maxRetries > 0 && retries > this.maxRetries)) {
          this.counters.dropped += events.length;
          this.logger.error("aispend client: dropped a batch after retries", {
            events: events.length, retries: retries - 1, status, error: err,
          });
          return;
        }
        if (retries === 1 && !this.failing) {
          this.failing = true;
          this.logger.warn("aispend client: collector unavailable; retrying", { url: this.endpoint, status, error: err });
        }
        let wait = this.backoff(retries);
        if (r.kind === "reply" && r.retryAfterMs > wait) wait = Math.min(r.retryAfterMs, MAX_RETRY_AFTER_MS);
        if (!(await this.sleep(wait))) {
          this.abandon(events.length);
          return;
        }
        this.counters.retried++;
        continue;
      }
      if (status === 413 && events.length > 1) {
        // The collector's limits are smaller than ours: halve until it fits.
        const half = Math.floor(events.length / 2);
        await this.deliver(events.slice(0, half));
        await this.deliver(events.slice(half));
        return;
      }
      if (status === 422) {
        const good = this.removeInvalid(events, r.body);
        if (good.length === 0) return;
        events = good;
        payload = body(good);
        continue;
      }
      this.counters.rejected += events.length;
      this.logRejected(status, events.length, errorMessage(r.body));
      return;
    }
  }

  private succeeded(n: number, reply: string, retries: number): void {
    let sent = n;
    let dups = 0;
    // A 2xx means every event is stored; the counts only tell new from already stored.
    const r = parse(reply) as { accepted?: unknown; duplicates?: unknown } | undefined;
    if (typeof r?.accepted === "number" && typeof r?.duplicates === "number") {
      sent = r.accepted + r.duplicates;
      dups = r.duplicates;
    }
    this.counters.sent += sent;
    this.counters.duplicates += dups;
    if (this.failing) {
      this.failing = false;
      this.logger.info("aispend client: collector reachable again", { url: this.endpoint, retries });
    }
  }

  // removeInvalid handles a 422: the events named in its problems are rejected, the others
  // returned to be re-sent. When the answer names no event of the batch, all are rejected.
  private removeInvalid(events: Encoded[], reply: string): Encoded[] {
    const r = parse(reply) as
      | { error?: string; problems?: { index?: number; field?: string; message?: string }[] }
      | undefined;
    let bad: Set<number> | undefined = new Set<number>();
    const logged: string[] = [];
    for (const p of Array.isArray(r?.problems) ? r!.problems : []) {
      const i = p?.index;
      if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= events.length) {
        bad = undefined;
        break;
      }
      bad.add(i);
      if (logged.length < MAX_LOG_PROBLEMS) {
        logged.push(`event ${eventId(events[i]!)}: ${p.field}: ${p.message}`);
      }
    }
    if (bad === undefined || bad.size === 0) {
      this.counters.rejected += events.length;
      this.logRejected(422, events.length, typeof r?.error === "string" ? r.error : reply.slice(0, 200));
      return [];
    }
    const good = events.filter((_, i) => !bad!.has(i));
    this.counters.rejected += bad.size;
    // Invalid events are application bugs worth seeing each time, but bounded per batch.
    this.logger.error("aispend client: collector rejected invalid events", {
      rejected: bad.size, resending: good.length, problems: logged,
    });
    return good;
  }

  private async post(payload: string): Promise<Outcome> {
    if (this.abort.signal.aborted) return { kind: "aborted" };
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    this.abort.signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => ac.abort(), this.requestTimeoutMs);
    try {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (this.token !== "") headers["Authorization"] = `Bearer ${this.token}`;
      const resp = await this.fetch(this.endpoint, { method: "POST", headers, body: payload, signal: ac.signal });
      let text = "";
      try {
        text = await readLimited(resp);
      } catch (err) {
        // The status is known for a 2xx even if its body was cut; for anything else, retry.
        if (resp.status < 200 || resp.status >= 300) {
          return this.abort.signal.aborted ? { kind: "aborted" } : { kind: "network", error: err };
        }
      }
      return { kind: "reply", status: resp.status, retryAfterMs: parseRetryAfter(resp.headers.get("Retry-After"), Date.now()), body: text };
    } catch (err) {
      return this.abort.signal.aborted ? { kind: "aborted" } : { kind: "network", error: err };
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener("abort", onAbort);
    }
  }

  // backoff is the delay before retry n (1-based): minBackoffMs doubled per retry, capped at
  // maxBackoffMs, with "equal jitter" (between half and all of it) so that clients that failed
  // together do not retry together.
  private backoff(n: number): number {
    return backoffDelay(n, this.minBackoffMs, this.maxBackoffMs, Math.random());
  }

  // sleep waits ms, or resolves false when close()'s deadline passes first. The timer does not
  // keep a Node process alive by itself; close() (and the exit hook) hold it open.
  private sleep(ms: number): Promise<boolean> {
    const signal = this.abort.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      unref(timer);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private abandon(n: number): void {
    if (n === 0) return;
    this.abandoned += n;
    this.counters.dropped += n;
  }

  // logRejected logs a permanent refusal once per status and minute: with a wrong token every
  // batch fails the same way, and one line says it all.
  private logRejected(status: number, n: number, message: string): void {
    const now = Date.now();
    const last = this.lastReject.get(status);
    if (last !== undefined && now - last < REJECT_LOG_EVERY_MS) {
      this.suppressed.set(status, (this.suppressed.get(status) ?? 0) + n);
      return;
    }
    this.logger.error("aispend client: collector refused events; not retrying", {
      url: this.endpoint, status, error: message, events: n, refused_since_last_log: this.suppressed.get(status) ?? 0,
    });
    this.lastReject.set(status, now);
    this.suppressed.set(status, 0);
  }

  // reportDrops logs how many events were dropped since the last report. log() itself never
  // logs: a slow logger must not slow the caller.
  private reportDrops(final: boolean): void {
    const d = this.counters.dropped;
    if (d === this.reportedDrops || (!final && Date.now() - this.lastDropLog < DROP_LOG_EVERY_MS)) return;
    this.logger.warn("aispend client: events dropped", {
      dropped_total: d, dropped_since_last_log: d - this.reportedDrops, buffer_size: this.bufferSize,
      unsent_at_close: this.abandoned,
    });
    this.reportedDrops = d;
    this.lastDropLog = Date.now();
  }

  // installExitHook sends what is buffered when a Node process runs out of work: beforeExit
  // fires, close() starts requests (which keep the process alive until they finish or the exit
  // timeout passes), and the next beforeExit finds the client closed.
  private installExitHook(): void {
    const proc = (globalThis as { process?: NodeProcessLike }).process;
    if (typeof proc?.once !== "function" || typeof proc.removeListener !== "function") return;
    const hook = () => {
      void this.close({ timeoutMs: this.exitTimeoutMs });
    };
    proc.once("beforeExit", hook);
    this.removeExitHook = () => proc.removeListener("beforeExit", hook);
  }
}

interface NodeProcessLike {
  once(event: "beforeExit", listener: () => void): unknown;
  removeListener(event: "beforeExit", listener: () => void): unknown;
}

// encode fills in the id and time and writes the wire JSON, or returns undefined when the event
// cannot be encoded (a cycle in tags, say).
function encode(ev: Event): Encoded | undefined {
  const wire: Record<string, unknown> = { ...ev };
  if (wire["event_id"] === undefined || wire["event_id"] === "") wire["event_id"] = uuidv7();
  const at = wire["occurred_at"];
  if (at === undefined || at === "") {
    wire["occurred_at"] = new Date().toISOString();
  } else if (at instanceof Date) {
    if (Number.isNaN(at.getTime())) return undefined;
    wire["occurred_at"] = at.toISOString();
  }
  const json = JSON.stringify(wire);
  if (typeof json !== "string") return undefined;
  return { json, bytes: encoder.encode(json).length };
}

function body(events: Encoded[]): string {
  return "[" + events.map((e) => e.json).join(",") + "]";
}

// readLimited reads a reply up to MAX_REPLY_BYTES: replies are small, and the limit guards
// against a misdirected URL serving something huge.
async function readLimited(resp: Response): Promise<string> {
  if (resp.body === null) return "";
  const reader = resp.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= MAX_REPLY_BYTES) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

/** parseRetryAfter reads delay-seconds or an HTTP date, in ms; anything else means no hint (0). */
export function parseRetryAfter(v: string | null, now: number): number {
  if (v === null || v === "") return 0;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Math.min(Number(t) * 1000, MAX_RETRY_AFTER_MS);
  if (/^-\d+$/.test(t)) return 0;
  const at = Date.parse(t);
  if (!Number.isNaN(at) && at > now) return Math.min(at - now, MAX_RETRY_AFTER_MS);
  return 0;
}

/**
 * backoffDelay is the delay before retry n (1-based), given a random number in [0, 1): min
 * doubled per retry, capped at max, then between half and all of it.
 */
export function backoffDelay(n: number, min: number, max: number, random: number): number {
  let d = min;
  for (let i = 1; i < n && d < max; i++) d *= 2;
  d = Math.min(d, max);
  const half = d / 2;
  return Math.floor(half + random * (d - half + 1));
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}

function parse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function errorMessage(reply: string): string {
  const r = parse(reply) as { error?: unknown } | undefined;
  if (typeof r?.error === "string" && r.error !== "") return r.error;
  return reply.slice(0, 200);
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

function eventId(ev: Encoded): string {
  const r = parse(ev.json) as { event_id?: unknown } | undefined;
  return JSON.stringify(r?.event_id ?? "");
}
