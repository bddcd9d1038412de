// Verifies an aispend webhook in a Node receiver (README "Alert channels"): header is the
// Aispend-Signature value, rawBody the request body as received, before any JSON parsing.
// report/channel/verify_ts_test.go runs it against signatures made by aispend.
import { createHmac, timingSafeEqual } from "node:crypto";

export function verifyAispend(secret: string, header: string | undefined, rawBody: string | Uint8Array, nowMs = Date.now()): boolean {
  let t = "";
  const sigs: Buffer[] = [];
  for (const part of (header ?? "").split(",")) {
    const [k, v = ""] = part.trim().split("=", 2);
    if (k === "t") t = v;
    else if (k === "v1" && /^[0-9a-f]{64}$/.test(v)) sigs.push(Buffer.from(v, "hex"));
  }
  if (!/^[0-9]+$/.test(t) || sigs.length === 0) return false;
  if (Math.abs(nowMs / 1000 - Number(t)) > 300) return false;
  const want = createHmac("sha256", secret).update(t + ".").update(rawBody).digest();
  return sigs.some((s) => timingSafeEqual(s, want));
}
