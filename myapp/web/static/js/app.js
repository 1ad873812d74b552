// Start-up and routing: #/<page>/<id>?<options>, one module per page.
import { get, hasSession, joinOpenSession, onSessionChange, signOut } from "./api.js";
import { h } from "./dom.js";
import { setTimeZone, zoneLabel } from "./format.js";
import * as alerts from "./pages/alerts.js";
import * as auth from "./pages/auth.js";
import * as devices from "./pages/devices.js";
import * as goals from "./pages/goals.js";
import * as readings from "./pages/readings.js";
import * as retention from "./pages/retention.js";
import * as sensor from "./pages/sensor.js";
import * as settings from "./pages/settings.js";

// [pattern, page, title]; a page's render(main, params, query) draws it.
const ROUTES = [
  [/^\/signin$/, auth.signInPage, "Sign in", { public: true }],
  [/^\/register$/, auth.registerPage, "Register", { public: true }],
  [/^\/verify-email$/, auth.verifyEmailPage, "Verify email", { anyone: true }],
  [/^\/readings$/, readings.render, "Readings"],
  [/^\/readings\/(?<sensor>.+)$/, sensor.render, "Sensor"],
  [/^\/devices$/, devices.render, "Devices"],
  [/^\/alerts$/, alerts.listPage, "Alerts"],
  [/^\/alerts\/new$/, alerts.newPage, "New alert rule"],
  [/^\/alerts\/(?<id>\d+)$/, alerts.rulePage, "Alert rule"],
  [/^\/alerts\/(?<id>\d+)\/edit$/, alerts.editPage, "Edit alert rule"],
  [/^\/goals$/, goals.render, "Goals"],
  [/^\/retention$/, retention.render, "Data retention"],
  [/^\/settings$/, settings.render, "Settings"],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
// Why the sign-in page is shown, when it is not the user's own doing.
let notice = null;
let user = null;
let cleanup = null;
// Counts navigations, so a slow page cannot outlive the one that replaced it.
let routed = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path, query: new URLSearchParams(search) };
}

async function route() {
  const { path, query } = parseHash();
  if (path === "/") return go(hasSession() ? "/readings" : "/signin");
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  if (!found) return go(hasSession() ? "/readings" : "/signin");
  const [pattern, page, title, options = {}] = found;
  // A link opened signed out comes back after sign-in.
  if (!options.public && !options.anyone && !hasSession()) return go(signInPath());
  if (options.public && hasSession()) return go(afterSignIn(query));
  if (cleanup) cleanup();
  cleanup = null;
  closeMenu();
  const params = decodeParams(pattern.exec(path).groups || {});
  document.title = `${title} · myapp`;
  markCurrent(path);
  main.replaceChildren();
  const shown = notice;
  notice = null;
  const generation = ++routed;
  try {
    // Times are shown in the user's zone: it is known before a page draws one.
    if (!options.public && hasSession()) await loadUser();
    if (generation !== routed) return;
    const done = (await page(main, params, query, shown)) || null;
    // A page the user already left only cleans up after itself.
    if (generation === routed) cleanup = done;
    else if (done) done();
  } finally {
    if (generation === routed) finishPage(options);
  }
}

/** The sign-in page, and after it the page shown now (unless that is sign-in or register). */
function signInPath() {
  const here = location.hash.replace(/^#/, "");
  if (/^\/(signin|register)(\?|$)/.test(here)) return here.startsWith("/signin") ? here : "/signin";
  return `/signin?${new URLSearchParams({ next: here })}`;
}

/** Where sign-in leads: the page a link asked for, else the readings. */
function afterSignIn(query) {
  const next = query.get("next") || "";
  return next.startsWith("/") && !next.startsWith("/signin") && !next.startsWith("/register") ? next : "/readings";
}

/** The zone every time on the page is in, said once under its title; focus on the title. */
function finishPage(options) {
  const h1 = main.querySelector("h1");
  if (h1 && !options.public && user && !main.querySelector(".zone-note")) {
    h1.after(
      h("p", { class: "zone-note" }, `Times are in ${zoneLabel()}. `, h("a", { href: "#/settings" }, "Change time zone")),
    );
  }
  if (h1 && !main.contains(document.activeElement)) h1.focus();
}

async function loadUser() {
  try {
    user = user || (await get("/users/me"));
    setTimeZone(user.time_zone);
  } catch (error) {
    if (error.sessionEnded) throw error;
    // The page still draws, in the browser's zone; the header says what failed.
  }
}

// The settings page changed the user: the header and every time follow.
window.addEventListener("myapp:user", (event) => {
  user = event.detail;
  setTimeZone(user.time_zone);
});

function decodeParams(groups) {
  return Object.fromEntries(Object.entries(groups).map(([key, value]) => [key, decodeURIComponent(value)]));
}

function go(path) {
  const target = `#${path}`;
  if (location.hash === target) route();
  else location.hash = target;
}

function markCurrent(path) {
  for (const link of nav.querySelectorAll("a")) {
    const current = path === link.hash.slice(1) || path.startsWith(`${link.hash.slice(1)}/`);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function showUser() {
  nav.hidden = !hasSession();
  const who = document.getElementById("who");
  who.textContent = "";
  if (!hasSession()) return;
  try {
    user = user || (await get("/users/me"));
    setTimeZone(user.time_zone);
    who.textContent = `Signed in as ${user.username}`;
  } catch (error) {
    if (!error.sessionEnded) who.textContent = `Account unavailable: ${error.message}`;
  }
}

// On a phone the links fold behind one button, so a page starts near the top.
const menuButton = document.getElementById("menu-button");
const menu = document.getElementById("menu");
menuButton.addEventListener("click", () => {
  const open = menuButton.getAttribute("aria-expanded") !== "true";
  menuButton.setAttribute("aria-expanded", String(open));
  menu.classList.toggle("open", open);
});

function closeMenu() {
  menuButton.setAttribute("aria-expanded", "false");
  menu.classList.remove("open");
}

// Focus rings for keyboard users only, also on titles focused by the app.
window.addEventListener("keydown", () => (document.documentElement.dataset.input = "keyboard"), true);
window.addEventListener("pointerdown", () => (document.documentElement.dataset.input = "pointer"), true);

onSessionChange((reason, failure) => {
  user = null;
  if (reason === "ended") {
    notice = {
      kind: "ended",
      text:
        "Your session ended elsewhere: it was signed out in another place, the password was " +
        "changed, or its sign-in was used twice. Sign in again to continue.",
    };
  } else if (reason === "signed-out") {
    notice = failure
      ? { kind: "error", text: `Signed out here, but the server could not be told: ${failure.message}` }
      : { kind: "info", text: "You signed out." };
  }
  showUser();
  if (reason === "signed-in") go(afterSignIn(parseHash().query));
  else go(reason === "ended" ? signInPath() : "/signin");
});

document.getElementById("sign-out").addEventListener("click", () => signOut());
// The skip link must not change the hash: the hash is the route.
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  (main.querySelector("h1") || main).focus();
});
window.addEventListener("hashchange", route);
// A page error that escaped its own handling still reaches the user.
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason && event.reason.sessionEnded) {
    event.preventDefault();
    return;
  }
  main.prepend(h("div", { class: "problem", role: "alert" }, h("strong", {}, "Something went wrong on this page:"), ` ${event.reason}`));
});

// A new tab takes the session of an open tab; then the page, then who is signed in.
joinOpenSession()
  .catch(() => false)
  .then(() => {
    nav.hidden = !hasSession();
    return route();
  })
  .finally(showUser);
