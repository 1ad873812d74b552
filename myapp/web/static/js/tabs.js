// One login session for every tab of this origin. The refresh token rotates and
// a reused one ends the session, so exactly one tab rotates: the holder of the
// Web Lock "myapp.session" (the others queue for it and take over when it
// closes). Tabs talk over a BroadcastChannel, which only this origin's pages
// can join: a tab that needs a token (a new tab, or one whose access token
// expired) asks, the leading tab rotates and announces the new tokens to all.

const LOCK = "myapp.session";
const ASK_TIMEOUT_MS = 3000;
const channel = "BroadcastChannel" in window ? new BroadcastChannel("myapp.session") : null;
const locks = navigator.locks || null;

let handlers = null;
let leading = false;
let queued = null;
const waiting = new Set();

if (channel) channel.addEventListener("message", (event) => received(event.data || {}));

function received(message) {
  if (message.type === "tokens") {
    for (const resolve of waiting) resolve(message.tokens);
    waiting.clear();
    if (handlers) handlers.onTokens(message.tokens);
    else if (message.reason === "signed-in" && adopter) adopter(message.tokens);
  } else if (message.type === "ask" && leading && handlers) {
    handlers.onAsked();
  } else if (message.type === "end" && handlers) {
    handlers.onEnd(message.reason);
  }
}

// A tab without a session still follows a sign-in made in another tab.
let adopter = null;

/** onTokens(tokens) for a signed-out tab when another tab signs in. */
export function onSignInElsewhere(listener) {
  adopter = listener;
}

export function isLeader() {
  return leading || !locks || !channel;
}

/** Join the tabs that share the session: queue for the lead, hear their tokens. */
export function followSession(callbacks) {
  handlers = callbacks;
  if (queued || !locks || !channel) return;
  const mine = new AbortController();
  queued = mine;
  locks
    .request(LOCK, { signal: mine.signal }, () => {
      leading = true;
      if (handlers) handlers.onLead();
      // Held until this tab leaves the session or closes.
      return new Promise((resolve) => mine.signal.addEventListener("abort", resolve));
    })
    .catch(() => {})
    .finally(() => {
      // A later sign-in may already lead with a request of its own.
      if (queued === null) leading = false;
    });
}

export function leaveSession() {
  handlers = null;
  if (queued) queued.abort();
  queued = null;
  leading = false;
}

/** Whether another tab of this origin holds a session. */
export async function sessionOpenElsewhere() {
  if (!locks || !channel) return false;
  const { held } = await locks.query();
  return held.some((lock) => lock.name === LOCK) && !leading;
}

/** Ask the leading tab for fresh tokens; null if none answers in time. */
export function askOpenTab() {
  if (!channel) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = window.setTimeout(() => {
      waiting.delete(answer);
      resolve(null);
    }, ASK_TIMEOUT_MS);
    const answer = (tokens) => {
      window.clearTimeout(timer);
      resolve(tokens);
    };
    waiting.add(answer);
    channel.postMessage({ type: "ask" });
  });
}

/** Tell the other tabs the tokens this tab just received. */
export function announceTokens(tokens, reason = "rotated") {
  if (channel) channel.postMessage({ type: "tokens", tokens, reason });
}

/** Tell the other tabs the session is over ("signed-out" or "ended"). */
export function announceEnd(reason) {
  if (channel) channel.postMessage({ type: "end", reason });
}
