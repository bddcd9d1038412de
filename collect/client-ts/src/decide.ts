// decide: asks the collector, before an AI request, whether it may go ahead and on which model
// (POST /v1/decide), as the Go client's Decide does: a short local cache, a time-out, and fail
// open by default. A denial answers every request of the same who and what while it is cached;
// an allow or degrade answers only requests without an estimate, because an estimate must reach
// the collector to be held against the budgets.

/** Who and what a request is about, and optionally an estimate, as POST /v1/decide takes them. */
export interface DecideRequest {
  /** The id the request's event will carry: its arrival releases the estimate. */
  event_id?: string;
  user_id?: string;
  org_id?: string;
  service?: string;
  model?: string;
  provider?: string;
  endpoint?: string;
  tags?: Record<string, string>;
  /** In the reporting currency, a decimal string (exact) or a number; wins over tokens. */
  estimated_cost?: string | number;
  input_tokens?: number;
  max_output_tokens?: number;
}

/** One enforced budget's part in a decision. */
export interface DecidingBudget {
  name: string;
  entity?: string;
  decision: "allow" | "degrade" | "deny";
  spent: string;
  limit: string;
  percent: string;
  remaining: string;
  resets_at: string;
}

/** The collector's answer, or the client's own when the collector did not answer. */
export interface Decision {
  decision: "allow" | "degrade" | "deny";
  /** With degrade: the model to use instead. */
  model?: string;
  budgets: DecidingBudget[];
  estimate: string;
  as_of: string | null;
  staleness_ms: number;
  stale: boolean;
  /** Answered from the client's cache. */
  cached?: boolean;
  /** The collector did not answer (error says why); the decision is the client's default. */
  unanswered?: boolean;
  error?: string;
}

/** The decide options of a Client. */
export interface DecideOptions {
  /** Bound of a decide() call, in ms. Default 250. */
  decideTimeoutMs?: number;
  /** How long answers are reused, in ms. Default 1,000; negative: never. */
  decideCacheTtlMs?: number;
  /** Answer deny instead of allow when the collector does not answer. Default false (fail open). */
  decideFailClosed?: boolean;
}

const MAX_CACHE = 10_000;

function hasEstimate(r: DecideRequest): boolean {
  return r.estimated_cost !== undefined || (r.input_tokens ?? 0) > 0 || (r.max_output_tokens ?? 0) > 0;
}

function cacheKey(r: DecideRequest): string {
  const tags = Object.keys(r.tags ?? {})
    .sort()
    .map((k) => [k, r.tags![k]]);
  return JSON.stringify([r.user_id, r.org_id, r.service, r.model, r.provider, r.endpoint, tags]);
}

/** The decide call of a Client (see Client.decide). */
export class Decider {
  private readonly cache = new Map<string, { d: Decision; expires: number }>();

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly fetchFn: typeof fetch,
    private readonly timeoutMs: number,
    private readonly cacheTtlMs: number,
    private readonly failClosed: boolean,
  ) {}

  async decide(req: DecideRequest): Promise<Decision> {
    const key = cacheKey(req);
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now < hit.expires && (hit.d.decision === "deny" || !hasEstimate(req))) {
      return { ...hit.d, cached: true };
    }
    let d: Decision;
    try {
      d = await this.ask(req);
    } catch (e) {
      return {
        decision: this.failClosed ? "deny" : "allow", budgets: [], estimate: "0", as_of: null, staleness_ms: 0, stale: false,
        unanswered: true, error: e instanceof Error ? e.message : String(e),
      };
    }
    if (this.cacheTtlMs > 0) {
      if (this.cache.size >= MAX_CACHE) this.cache.clear();
      this.cache.set(key, { d, expires: now + this.cacheTtlMs });
    }
    return d;
  }

  private async ask(req: DecideRequest): Promise<Decision> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (this.token) headers["Authorization"] = `Bearer ${this.token}`;
      const resp = await this.fetchFn(this.url, { method: "POST", headers, body: JSON.stringify(req), signal: ctl.signal });
      const text = await resp.text();
      if (resp.status !== 200) throw new Error(`POST /v1/decide: ${resp.status}: ${text.slice(0, 500)}`);
      const d = JSON.parse(text) as Decision;
      if (d.decision !== "allow" && d.decision !== "degrade" && d.decision !== "deny") {
        throw new Error(`POST /v1/decide: unknown decision ${JSON.stringify(d.decision)}`);
      }
      return d;
    } catch (e) {
      throw ctl.signal.aborted && ctl.signal.reason instanceof Error ? ctl.signal.reason : e;
    } finally {
      clearTimeout(timer);
    }
  }
}
