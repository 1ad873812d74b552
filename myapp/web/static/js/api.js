// The API client: bearer tokens, silent refresh with rotation, problem+json errors.
//
// The access token lives in memory only. The refresh token lives in memory and
// in sessionStorage: it survives a reload of this tab, is never sent anywhere
// but POST /auth/refresh, is readable by no other origin, and is gone when the
// tab closes. (localStorage would share one token between tabs, and rotation
// with reuse detection would then end the session whenever two tabs refresh.)
//
// Tabs of this origin share one login session through tabs.js: one tab leads
// and alone rotates; the others ask it over a BroadcastChannel, and a new tab
// asks it for a session instead of showing the sign-in page.
import {
  announceEnd,
  announceTokens,
  askOpenTab,
  followSession,
  isLeader,
  leaveSession,
  onSignInElsewhere,
  sessionOpenElsewhere,
} from "./tabs.js";

const BASE = "/api/v1";
const REFRESH_KEY = "myapp.refresh_token";
// Refresh this long before the access token expires.
const EARLY_SECONDS = 60;

let accessToken = null;
let refreshing = null;
let refreshTimer = null;
// When the access token expires (ms), so a tab that takes the lead knows when to rotate.
let expiresAt = 0;
let signingOut = false;
const listeners = new Set();

/** An answer that was not 2xx, carrying its RFC 9457 problem. */
export class ApiError extends Error {
  constructor(problem) {
    super(`${problem.title}${problem.detail ? ": " + problem.detail : ""}`);
    this.problem = problem;
    this.status = problem.status;
  }
}

/** The login session is over (revoked elsewhere): the app returns to sign-in. */
class SessionEnded extends ApiError {
  constructor(problem) {
    super(problem);
    this.sessionEnded = true;
  }
}

/** listener(reason, error) on "signed-in", "signed-out" (error: the logout failed) and "ended". */
export function onSessionChange(listener) {
  listeners.add(listener);
}

export function hasSession() {
  return Boolean(accessToken || refreshTokenStored());
}

function refreshTokenStored() {
  return sessionStorage.getItem(REFRESH_KEY);
}

function storeTokens(tokens) {
  accessToken = tokens.access_token;
  sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  expiresAt = Date.now() + tokens.expires_in * 1000;
  followSession({ onLead: scheduleRefresh, onTokens: adoptTokens, onAsked: () => refresh().catch(() => {}), onEnd: ended });
  scheduleRefresh();
}

/** Only the leading tab refreshes ahead of time; the others get its tokens. */
function scheduleRefresh() {
  window.clearTimeout(refreshTimer);
  if (!isLeader()) return;
  const delay = Math.max(5000, expiresAt - Date.now() - EARLY_SECONDS * 1000);
  // An early refresh that fails is tried again by the next request that gets a
  // 401, which reports its error; a refused one ends the session (and says so).
  refreshTimer = window.setTimeout(() => refresh().catch(() => {}), delay);
}

/** Tokens another tab of this origin rotated or signed in with. */
function adoptTokens(tokens) {
  const joined = !hasSession();
  storeTokens(tokens);
  if (joined) emit("signed-in");
}

onSignInElsewhere(adoptTokens);

/** Another tab signed out, or found the session ended. */
function ended(reason) {
  if (!hasSession()) return;
  forget();
  emit(reason);
}

function forget() {
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  window.clearTimeout(refreshTimer);
  leaveSession();
}

/** At start-up without a session of its own: take the one an open tab has, if any. */
export async function joinOpenSession() {
  if (hasSession() || !(await sessionOpenElsewhere())) return false;
  const tokens = await askOpenTab();
  if (tokens && !hasSession()) storeTokens(tokens);
  return hasSession();
}

function emit(reason, detail) {
  if (signingOut && reason === "ended") return;
  for (const listener of listeners) listener(reason, detail);
}

/** One refresh at a time: concurrent 401s wait for the same rotation. */
function refresh() {
  if (!refreshing) {
    refreshing = rotate().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function rotate() {
  let response = await takeEarlyRefresh(window.myappEarlyRefresh);
  if (!response) {
    // Two tabs rotating one token would end the session: the leading tab rotates for all.
    if (!isLeader() && (await sessionOpenElsewhere())) {
      const tokens = await askOpenTab();
      if (tokens) return storeTokens(tokens);
    }
    const token = refreshTokenStored();
    if (!token) {
      const problem = { status: 401, title: "Unauthorized", detail: "You are not signed in." };
      // Said once: a session that already ended (a stream retrying, say) is not ended again.
      throw accessToken ? endSession(problem) : new SessionEnded(problem);
    }
    response = await send("POST", "/auth/refresh", undefined, token);
  }
  if (response.status === 401) throw endSession(await problemOf(response));
  if (!response.ok) throw new ApiError(await problemOf(response));
  const tokens = await response.json();
  storeTokens(tokens);
  announceTokens(tokens);
}

/**
 * The refresh boot.js sent with this same token at page load, once (null: it
 * left it to an open tab). Read and claimed in one synchronous step, so a
 * boot.js that runs later sends none of its own.
 */
async function takeEarlyRefresh(early) {
  window.myappRefreshClaimed = true;
  if (!early) return null;
  delete window.myappEarlyRefresh;
  return early.catch(() => {
    throw networkError();
  });
}

function endSession(problem) {
  forget();
  announceEnd("ended");
  emit("ended");
  return new SessionEnded(problem);
}

async function send(method, path, body, token, accept) {
  const headers = { Accept: accept || "application/json, application/problem+json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    return await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw networkError();
  }
}

function networkError() {
  return new ApiError({
    status: 0,
    title: "Network error",
    detail: "The server could not be reached. Check the connection and try again.",
  });
}

/** The response's problem details, or one made from its status line; a 429 says when to retry. */
async function problemOf(response) {
  const problem = await problemBody(response);
  const wait = retryAfterSeconds(response.headers.get("Retry-After"));
  if (wait !== null) problem.detail = `${problem.detail || ""} ${retryWords(wait)}`.trim();
  return problem;
}

async function problemBody(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      const body = await response.json();
      if (body && typeof body === "object") return { status: response.status, title: response.statusText, ...body };
    } catch (error) {
      // fall through: a body that is not JSON after all
    }
  }
  return { status: response.status, title: response.statusText || `HTTP ${response.status}`, detail: "" };
}

/** Retry-After as seconds from now: delay-seconds or an HTTP date; null if absent. */
function retryAfterSeconds(header) {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function retryWords(seconds) {
  if (seconds < 90) return `Try again in ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
  const minutes = Math.ceil(seconds / 60);
  return `Try again in ${minutes} minutes.`;
}

/** A user's request, refreshing the access token once when it has expired. */
async function authorized(method, path, body, accept) {
  if (!accessToken) await refresh();
  let response = await send(method, path, body, accessToken, accept);
  if (response.status === 401) {
    await refresh();
    response = await send(method, path, body, accessToken, accept);
    if (response.status === 401) throw endSession(await problemOf(response));
  }
  if (!response.ok) throw new ApiError(await problemOf(response));
  return response;
}

/**
 * The response of GET /stream, read with fetch() because an EventSource cannot
 * send the Authorization header; lastEventId asks for a replay.
 */
export async function openStream(lastEventId, signal) {
  if (!accessToken) await refresh();
  const open = () => {
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${accessToken}` };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    return fetch(BASE + "/stream", { headers, signal, cache: "no-store", credentials: "omit" });
  };
  let response = await open();
  if (response.status === 401) {
    await refresh();
    response = await open();
    if (response.status === 401) throw endSession(await problemOf(response));
  }
  if (!response.ok) throw new ApiError(await problemOf(response));
  return response;
}

/** JSON in, JSON out (null for 204). */
export async function api(method, path, body) {
  const response = await authorized(method, path, body);
  return response.status === 204 ? null : response.json();
}

export const get = (path) => api("GET", path);

/** path with the query's set members added to its query string. */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, value);
  }
  const text = params.toString();
  if (!text) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${text}`;
}

/** A streamed file (export) as a Blob, with the filename the server chose. */
export async function download(path, accept) {
  const response = await authorized("GET", path, undefined, accept);
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  return { blob: await response.blob(), filename: match ? match[1] : "download" };
}

async function publicCall(method, path, body) {
  const response = await send(method, path, body);
  if (!response.ok) throw new ApiError(await problemOf(response));
  return response.status === 204 ? null : response.json();
}

/** Follow an email verification link: signed in or not, its token verifies the address. */
export async function verifyEmail(token) {
  await publicCall("POST", "/auth/verify-email", { token });
}

export async function signIn(username, password) {
  const tokens = await publicCall("POST", "/auth/login", { username, password });
  storeTokens(tokens);
  announceTokens(tokens, "signed-in");
  emit("signed-in");
}

export async function register(account) {
  await publicCall("POST", "/auth/register", account);
  await signIn(account.username, account.password);
}

/** Log out on the server; the tokens are dropped whatever it answers. */
export async function signOut() {
  let failure = null;
  signingOut = true;
  try {
    await authorized("POST", "/auth/logout");
  } catch (error) {
    // A session that already ended is signed out anyway; anything else is reported.
    if (!error.sessionEnded) failure = error;
  } finally {
    signingOut = false;
    forget();
    announceEnd("signed-out");
    emit("signed-out", failure);
  }
}
