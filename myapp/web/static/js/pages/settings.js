// The user's settings: the time zone every time and every day is counted in.
import { api, get } from "../api.js";
import { announce, field, h, heading, select } from "../dom.js";
import { browserTimeZone, zoneLabel } from "../format.js";
import { attempt, onSubmit } from "../problems.js";

export async function render(main) {
  main.append(heading("Settings"));
  const box = h("div");
  main.append(box);
  await attempt(box, async () => {
    const user = await get("/users/me");
    box.append(timeZoneForm(user));
  });
}

function zoneNames(current) {
  const names = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [...new Set(["UTC", current, ...names])].sort();
}

function timeZoneForm(user) {
  const zone = select(
    zoneNames(user.time_zone).map((name) => [name, name]),
    user.time_zone,
    { name: "time_zone" },
  );
  const status = h("p", { role: "status", class: "saved" });
  const form = onSubmit(
    h(
      "form",
      { class: "card narrow", "aria-labelledby": "zone-title" },
      h("h2", { id: "zone-title" }, "Time zone"),
      h(
        "p",
        { class: "hint" },
        "Times are shown in this zone, and your days, weeks and months (chart buckets, habits) start at its midnight.",
      ),
      field("Time zone", zone, { pointer: "/time_zone" }),
      proposal(user.time_zone, zone),
      h("button", { type: "submit", class: "primary" }, "Save time zone"),
      status,
    ),
    async () => {
      status.textContent = "";
      const saved = await api("PATCH", "/users/me", { time_zone: zone.value });
      window.dispatchEvent(new CustomEvent("myapp:user", { detail: saved }));
      const note = document.querySelector(".zone-note");
      if (note) note.firstChild.textContent = `Times are in ${zoneLabel()}. `;
      status.textContent = `Saved: times are now shown in ${saved.time_zone}.`;
      announce(status.textContent);
    },
  );
  return form;
}

/** The browser's own zone, offered when it is not the one saved. */
function proposal(saved, zone) {
  const mine = browserTimeZone();
  if (mine === saved) return null;
  const use = h("button", { type: "button" }, `Use this device's zone, ${mine}`);
  use.addEventListener("click", () => {
    zone.value = mine;
    zone.focus();
  });
  return h("p", { class: "proposal" }, `This device is set to ${mine}, your account to ${saved}. `, use);
}
