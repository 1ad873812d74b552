// The API client: bearer tokens, silent refresh with rotation, problem+json errors.
//
// The access token lives in memory only. The refresh token lives in memory and
// in sessionStorage: it survives a reload of this tab, is never sent anywhere
// but POST /auth/refresh, is readable by no other origin, and is gone when the
// tab closes. (localStorage would share one token between tabs, and rotation
// with reuse detection would then end the session whenever two tabs refresh.)

const BASE = "/api/v1";
const REFRESH_KEY = "myapp.refresh_token";
// Refresh this long before the access token expires.
const EARLY_SECONDS = 60;

let accessToken = null;
let refreshing = null;
let refreshTimer = null;
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
  window.clearTimeout(refreshTimer);
  const delay = Math.max(5, tokens.expires_in - EARLY_SECONDS) * 1000;
  // An early refresh that fails is tried again by the next request that gets a
  // 401, which reports its error; a refused one ends the session (and says so).
  refreshTimer = window.setTimeout(() => refresh().catch(() => {}), delay);
}

function forget() {
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  window.clearTimeout(refreshTimer);
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
  const token = refreshTokenStored();
  if (!token) throw endSession({ status: 401, title: "Unauthorized", detail: "You are not signed in." });
  const response = await (takeEarlyRefresh() || send("POST", "/auth/refresh", undefined, token));
  if (response.status === 401) throw endSession(await problemOf(response));
  if (!response.ok) throw new ApiError(await problemOf(response));
  storeTokens(await response.json());
}

/** The refresh boot.js sent with this same token at page load, once. */
function takeEarlyRefresh() {
  const early = window.myappEarlyRefresh;
  if (!early) return null;
  delete window.myappEarlyRefresh;
  return early.catch(() => {
    throw networkError();
  });
}

function endSession(problem) {
  forget();
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

/** The response's problem details, or one made from its status line. */
async function problemOf(response) {
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
  storeTokens(await publicCall("POST", "/auth/login", { username, password }));
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
    emit("signed-out", failure);
  }
}
