// uuidv7 makes the idempotency keys: a 48-bit millisecond timestamp, then random bits (RFC 9562),
// so ids sort by time, which keeps the collector's index appends local.

let lastMs = 0;
let seq = 0;

/** A new UUIDv7 string. */
export function uuidv7(): string {
  const b = new Uint8Array(16);
  random(b);
  let ms = Date.now();
  // Within one millisecond a 12-bit counter in rand_a keeps ids from one client increasing
  // (RFC 9562, method 1); when it runs out, borrow the next millisecond.
  if (ms <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    seq = b[6]! & 0x07; // start low, leaving room to count up
  }
  const hi = Math.floor(ms / 2 ** 16);
  b[0] = (hi >>> 24) & 0xff;
  b[1] = (hi >>> 16) & 0xff;
  b[2] = (hi >>> 8) & 0xff;
  b[3] = hi & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | ((seq >>> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// random fills b from the Web Crypto API where the runtime has it (Node 19+, Deno, Bun,
// browsers; Node 18 only with --experimental-global-webcrypto), else from Math.random: these
// ids need to be unique, not secret, and 62 random bits per millisecond and client are ample.
function random(b: Uint8Array): void {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (typeof c?.getRandomValues === "function") {
    c.getRandomValues(b);
    return;
  }
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
}
