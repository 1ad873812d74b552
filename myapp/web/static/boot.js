// Starts the token refresh while the modules still load; api.js takes the
// answer over (classic script: it runs as soon as it arrives, before modules).
// When another tab leads the shared session (tabs.js), it rotates instead: null.
(() => {
  const token = sessionStorage.getItem("myapp.refresh_token");
  // Arriving after api.js began its own refresh, a second one would reuse the token.
  if (!token || window.myappRefreshClaimed) return;
  const leadElsewhere = navigator.locks
    ? navigator.locks.query().then(({ held }) => held.some((lock) => lock.name === "myapp.session"))
    : Promise.resolve(false);
  window.myappEarlyRefresh = leadElsewhere.then((elsewhere) =>
    elsewhere
      ? null
      : fetch("/api/v1/auth/refresh", {
          method: "POST",
          headers: { Accept: "application/json, application/problem+json", Authorization: `Bearer ${token}` },
          cache: "no-store",
          credentials: "omit",
        }),
  );
  // api.js reports a failure; this only keeps it from being "unhandled" meanwhile.
  window.myappEarlyRefresh.catch(() => {});
})();
