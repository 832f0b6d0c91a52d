// A payment's live status: server-sent events from GET /api/payments/<id>/events, or, where the server
// has no stream (or it drops), polling GET /api/payments/<id>; until a final state or the page is left.

import { api, currentToken } from "./api.js";

const POLL_MS = 2000;
const SLOW_POLL_MS = 10_000; // after a minute: a transfer under review can wait days for an admin
const SLOW_AFTER_MS = 60_000;
export const FINAL = new Set(["confirmed", "failed", "expired", "rejected", "refunded", "disputed"]);

export function fetchPayment(paymentId) {
  return api(`/api/payments/${encodeURIComponent(paymentId)}`);
}

// Calls onPayment with the payment now and on every change, onError with a failed read.
// Answers a function that stops watching.
export function watchPayment(paymentId, onPayment, onError = () => {}) {
  const stop = new AbortController();
  let seen = "";
  let status = "";

  function deliver(payment) {
    if (stop.signal.aborted) return true;
    status = payment.status;
    const version = `${payment.status}|${payment.updated_at}`;
    if (version !== seen) {
      seen = version;
      onPayment(payment);
    }
    return FINAL.has(payment.status);
  }

  const refresh = async () => deliver(await fetchPayment(paymentId));

  async function run() {
    if (await refresh()) return;
    for (;;) {
      const outcome = await followEvents(paymentId, deliver, refresh, stop.signal);
      if (outcome === "final" || stop.signal.aborted) return;
      // The server ends a stream after a time limit (reconnect) or at a state that is not pending
      // but not final either, such as needs_review (poll: nothing would stream until an admin acts).
      if (outcome === "unavailable" || status !== "pending") break;
      await sleep(1000, stop.signal);
    }
    await poll(refresh, stop.signal);
  }

  run().catch((error) => {
    if (!stop.signal.aborted) onError(error);
  });
  return () => stop.abort();
}

async function poll(refresh, signal) {
  const started = Date.now();
  while (!signal.aborted) {
    await sleep(Date.now() - started < SLOW_AFTER_MS ? POLL_MS : SLOW_POLL_MS, signal);
    if (signal.aborted || (await refresh())) return;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { window.clearTimeout(timer); resolve(); }, { once: true });
  });
}

// Reads the stream with fetch rather than EventSource: it can send the token in a header instead of
// the URL, and it tells a missing endpoint (404) from a dropped connection. Each event's data is the
// Payment; anything else is taken as a cue to read the payment again. Answers "final", "ended" (the
// stream stopped before a final state) or "unavailable" (no stream here).
async function followEvents(paymentId, deliver, refresh, signal) {
  const token = await currentToken();
  let response;
  try {
    response = await fetch(`/api/payments/${encodeURIComponent(paymentId)}/events`, {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${token}` }, signal, cache: "no-store",
    });
  } catch {
    return "unavailable";
  }
  const type = response.headers.get("content-type") ?? "";
  if (!response.ok || !type.startsWith("text/event-stream") || !response.body) {
    response.body?.cancel().catch(() => {});
    return "unavailable";
  }
  try {
    for await (const data of sseData(response.body)) {
      const payment = parsePayment(data, paymentId);
      if (payment ? deliver(payment) : await refresh()) return "final";
    }
  } catch {
    // The connection dropped, or the page was left.
  }
  return "ended";
}

function parsePayment(data, paymentId) {
  try {
    const payment = JSON.parse(data);
    const same = String(payment?.payment_id).toLowerCase() === paymentId.toLowerCase();
    return same && typeof payment.status === "string" ? payment : null;
  } catch {
    return null;
  }
}

// The data of each event in a text/event-stream (comment lines, such as keep-alives, carry none).
async function* sseData(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((line) => line.startsWith("data:"));
        if (data.length) yield data.map((line) => line.slice(5).replace(/^ /, "")).join("\n");
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
