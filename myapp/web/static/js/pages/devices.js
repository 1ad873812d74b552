// Devices: create (key shown once), scopes, rotate with grace, delete, last used.
import { api } from "../api.js";
import { ago, announce, field, formatTime, h, heading, rowButton, select } from "../dom.js";
import { pagedTable } from "../paged.js";
import { attempt, onSubmit } from "../problems.js";
import { revealSecret, secretPanel } from "../secret.js";
import { examplesSection } from "./uploadexamples.js";

const KEY_WARNING =
  "The server keeps only a hash of this key: copy it into the device now. " +
  "If it is lost, rotate the key to get a new one.";
const GRACE_CHOICES = [
  ["0", "none: the old key stops now"],
  ["3600", "1 hour"],
  ["86400", "1 day"],
  ["604800", "7 days"],
];

/** The textarea's patterns (one a line) -> the API's value: null for any sensor.
 * The textarea is rewritten as sent, so an error's item number is its line. */
function sensorsFrom(textarea) {
  const patterns = textarea.value.split("\n").map((line) => line.trim()).filter(Boolean);
  textarea.value = patterns.join("\n");
  return patterns.length ? patterns : null;
}

function sensorsText(sensors) {
  return sensors ? sensors.join("\n") : "";
}

function sensorsInput(sensors) {
  return h("textarea", { name: "sensors", rows: 3, value: sensorsText(sensors), spellcheck: "false" });
}

const SENSORS_HINT = "One per line: an exact sensor name, or a prefix ending in /* (kitchen/*). Empty: any sensor.";

export async function render(main) {
  const keys = h("div", { class: "keys" });
  const name = h("input", { name: "name", autocomplete: "off" });
  const sensors = sensorsInput(null);
  const createForm = h(
    "form",
    { class: "card", "aria-labelledby": "new-device-title" },
    h("h2", { id: "new-device-title" }, "New device"),
    field("Name", name, { pointer: "/name" }),
    field("Sensors it may write", sensors, { pointer: "/sensors", hint: SENSORS_HINT }),
    h("button", { type: "submit", class: "primary" }, "Create device"),
  );
  const context = { showKey: null, listSection: null };
  const devices = pagedTable({
    title: "Your devices",
    headers: ["Name", "Sensors", "Key", "Created", "Last used", "Actions"],
    path: "/devices/",
    more: "More devices",
    empty: [
      "No devices yet. Name one in the form above to get its key; ",
      "what it uploads then shows under ",
      h("a", { href: "#/readings" }, "Readings"),
      ".",
    ],
    rows: (items) => items.map((device) => deviceRow(device, context)),
  });
  const listSection = devices.section;
  main.append(
    heading("Devices"),
    h("p", {}, "A device uploads readings with its own key, limited to the sensors you allow."),
    keys,
    createForm,
    listSection,
  );

  context.listSection = listSection;
  context.showKey = (device, title) => {
    const panel = secretPanel(`${title}: key of ${device.name}`, device.key, KEY_WARNING);
    panel.append(examplesSection(device.key, device.sensors));
    revealSecret(keys, panel);
  };

  onSubmit(createForm, async () => {
    const device = await api("POST", "/devices/", { name: name.value, sensors: sensorsFrom(sensors) });
    devices.body.append(deviceRow(device, context));
    createForm.reset();
    context.showKey(device, "New device");
  });
  await devices.load();
}

function deviceRow(device, context) {
  const row = h("tr", { dataset: { deviceId: device.id } });
  const fill = (current) => {
    row.replaceChildren(
      h("th", { scope: "row" }, current.name),
      h("td", {}, current.sensors ? h("ul", { class: "plain" }, current.sensors.map((p) => h("li", {}, h("code", {}, p)))) : "any sensor"),
      h("td", {}, h("code", {}, `${current.key_prefix}…`)),
      h("td", {}, h("time", { datetime: current.created_at }, formatTime(current.created_at))),
      h("td", {}, ago(current.last_used_at)),
      h("td", {}, actions(current, row, fill, context)),
    );
  };
  fill(device);
  return row;
}

function actions(device, row, fill, { showKey, listSection }) {
  const panel = h("div", { class: "row-panel" });
  const edit = rowButton("Edit", device.name);
  const rotate = rowButton("Rotate key", `of ${device.name}`);
  const remove = rowButton("Delete", device.name, { class: "danger" });

  edit.addEventListener("click", () => {
    const name = h("input", { name: "name", value: device.name });
    const sensors = sensorsInput(device.sensors);
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `Edit ${device.name}` },
      field("Name", name, { pointer: "/name" }),
      field("Sensors it may write", sensors, { pointer: "/sensors", hint: SENSORS_HINT }),
      h("button", { type: "submit", class: "primary" }, "Save"),
      cancelButton(panel, edit),
    );
    onSubmit(form, async () => {
      const changed = await api("PATCH", `/devices/${device.id}`, { name: name.value, sensors: sensorsFrom(sensors) });
      fill(changed);
      row.querySelector("button").focus();
      announce(`Saved ${changed.name}`);
    });
    panel.replaceChildren(form);
    name.focus();
  });

  rotate.addEventListener("click", () => {
    const grace = select(GRACE_CHOICES, "0", { name: "grace_seconds" });
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `Rotate the key of ${device.name}` },
      field("The old key keeps working for", grace, { pointer: "/grace_seconds" }),
      h("button", { type: "submit", class: "primary" }, "Rotate key"),
      cancelButton(panel, rotate),
    );
    onSubmit(form, async () => {
      const rotated = await api("POST", `/devices/${device.id}/rotate`, { grace_seconds: Number(grace.value) });
      fill(rotated);
      showKey(rotated, "Rotated");
    });
    panel.replaceChildren(form);
    grace.focus();
  });

  remove.addEventListener("click", () =>
    attempt(listSection, async () => {
      if (!window.confirm(`Delete ${device.name}? Its keys stop working at once; its readings stay.`)) return;
      await api("DELETE", `/devices/${device.id}`);
      row.remove();
      announce(`Deleted ${device.name}`);
      listSection.querySelector("h2").focus();
    }),
  );
  return h("div", { class: "actions" }, edit, rotate, remove, panel);
}

function cancelButton(panel, returnTo) {
  const button = h("button", { type: "button" }, "Cancel");
  button.addEventListener("click", () => {
    panel.replaceChildren();
    returnTo.focus();
  });
  return button;
}
