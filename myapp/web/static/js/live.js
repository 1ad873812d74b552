// Live updates: one GET /stream for the tab, read with fetch(), shared by pages.
// A page subscribes with onLive(listener) and calls what it returns to stop;
// the stream closes when no page listens. A dropped stream reconnects with
// Last-Event-ID, so nothing is missed; "reset" tells pages to reload.
import { openStream } from "./api.js";

const RETRY_MS = 2000;
const RETRY_MAX_MS = 30000;
const listeners = new Set();
let controller = null;
let lastEventId = null;

export function onLive(listener) {
  listeners.add(listener);
  if (!controller) {
    controller = new AbortController();
    run(controller.signal);
  }
  return () => {
    listeners.delete(listener);
    if (!listeners.size && controller) {
      controller.abort();
      controller = null;
    }
  };
}

async function run(signal) {
  let delay = RETRY_MS;
  while (!signal.aborted) {
    try {
      const response = await openStream(lastEventId, signal);
      delay = RETRY_MS;
      await readEvents(response.body, signal);
    } catch (error) {
      if (signal.aborted || error.sessionEnded) return;
      // Refused (429, 503) or unreachable: wait longer each time, up to 30 s.
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
    await new Promise((resolve) => window.setTimeout(resolve, delay));
  }
}

async function readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

function dispatch(block) {
  let name = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const key = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (key === "id") lastEventId = value;
    else if (key === "event") name = value;
    else if (key === "data") data = data ? `${data}\n${value}` : value;
  }
  if (!data) return;
  let parsed = null;
  try {
    parsed = JSON.parse(data);
  } catch (error) {
    return;
  }
  for (const listener of [...listeners]) listener(name, parsed);
}
