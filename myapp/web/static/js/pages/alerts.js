// Alert rules (threshold, silence) with their state, events and deliveries (webhook, email).
import { api, get, withQuery } from "../api.js";
import { ago, announce, field, formatTime, h, heading, select, uid } from "../dom.js";
import { formatNumber, parseNumber } from "../format.js";
import { sameValue } from "../json.js";
import { pagedTable } from "../paged.js";
import { loadSensors, sensorAndField } from "../pickers.js";
import { attempt, onSubmit } from "../problems.js";
import { revealSecret, secretPanel } from "../secret.js";
import { onLive } from "../live.js";
import { deliveriesTable } from "./deliveries.js";

const SECRET_WARNING =
  "Your webhook receiver checks each delivery's webhook-signature with this secret " +
  "(Standard Webhooks). The server will not show it again.";
// A secret from the answer that created or changed a rule, shown on its page once.
let pendingSecret = null;

/** A rule's state (Firing / OK), or with event: what happened (Fired / Resolved). */
function stateBadge(rule, { event = false } = {}) {
  const firing = rule.state === "firing";
  const text = event ? (firing ? "Fired" : "Resolved") : firing ? "Firing" : "OK";
  return h("span", { class: `state ${firing ? "state-firing" : "state-ok"}` }, text);
}

function conditionText(condition) {
  if (condition.type === "silence") return `no new reading for ${duration(condition.seconds)}`;
  const parts = [];
  if (condition.above != null) parts.push(`${condition.field} above ${formatNumber(condition.above)}`);
  if (condition.below != null) parts.push(`${condition.field} below ${formatNumber(condition.below)}`);
  const hysteresis = condition.hysteresis ? `, hysteresis ${formatNumber(condition.hysteresis)}` : "";
  return parts.join(" or ") + hysteresis;
}

function duration(seconds) {
  if (seconds % 86400 === 0) return `${formatNumber(seconds / 86400)} d`;
  if (seconds % 3600 === 0) return `${formatNumber(seconds / 3600)} h`;
  if (seconds % 60 === 0) return `${formatNumber(seconds / 60)} min`;
  return `${formatNumber(seconds)} s`;
}

export async function listPage(main) {
  const rules = pagedTable({
    title: "Rules",
    headers: ["Name", "Sensor", "Condition", "Webhook", "Email", "State", "Since"],
    path: "/alerts/",
    empty: [
      "No alert rules yet. ",
      h("a", { href: "#/alerts/new" }, "Create a rule"),
      " to be told when a sensor's value crosses a bound or a sensor goes quiet.",
    ],
    rows: (items) => items.map(ruleRow),
  });
  main.append(
    heading("Alerts"),
    h("p", {}, "A rule watches one sensor's readings and records an event each time its state changes."),
    h("p", {}, h("a", { href: "#/alerts/new", class: "button primary" }, "New rule")),
    rules.section,
  );
  await rules.load();
  // Uploads are judged as they commit: their events may change a rule's state.
  return onLive((name) => {
    if (name === "readings" || name === "alert" || name === "reset") rules.reload();
  });
}

function ruleRow(rule) {
  return h(
    "tr",
    { dataset: { ruleId: rule.id } },
    h("th", { scope: "row" }, h("a", { href: `#/alerts/${rule.id}` }, rule.name)),
    h("td", {}, rule.sensor),
    h("td", {}, conditionText(rule.condition)),
    h("td", {}, rule.webhook_url ? new URL(rule.webhook_url).host : "none"),
    h("td", {}, rule.email ? "on" : "off"),
    h("td", {}, stateBadge(rule)),
    h("td", {}, ago(rule.state_since)),
  );
}

export async function newPage(main) {
  main.append(heading("New alert rule"));
  const [me, sensors] = await Promise.all([get("/users/me"), loadSensors()]);
  main.append(
    ruleForm(null, me, sensors, async (body) => {
      const rule = await api("POST", "/alerts/", body);
      pendingSecret = rule.webhook_secret || null;
      location.hash = `#/alerts/${rule.id}`;
    }),
  );
}

export async function editPage(main, { id }) {
  const box = h("div");
  main.append(heading("Edit alert rule"), box);
  await attempt(box, async () => {
    const [rule, me, sensors] = await Promise.all([get(`/alerts/${id}`), get("/users/me"), loadSensors()]);
    box.append(
      ruleForm(rule, me, sensors, async (body) => {
        // Only what changed: re-sending an unchanged condition would restart the rule.
        const changes = Object.fromEntries(Object.entries(body).filter(([key, value]) => !sameValue(value, rule[key])));
        const saved = Object.keys(changes).length ? await api("PATCH", `/alerts/${id}`, changes) : rule;
        pendingSecret = saved.webhook_secret || null;
        location.hash = `#/alerts/${id}`;
      }),
    );
  });
}

export async function rulePage(main, { id }) {
  let stop = null;
  const box = h("div");
  main.append(heading("Alert rule"), box);
  const secret = pendingSecret;
  pendingSecret = null;
  await attempt(box, async () => {
    const rule = await get(`/alerts/${id}`);
    main.querySelector("h1").textContent = rule.name;
    const remove = h("button", { type: "button", class: "danger" }, "Delete rule");
    remove.addEventListener("click", () =>
      attempt(box, async () => {
        if (!window.confirm(`Delete ${rule.name}, its events and pending deliveries?`)) return;
        await api("DELETE", `/alerts/${id}`);
        announce(`Deleted ${rule.name}`);
        location.hash = "#/alerts";
      }),
    );
    const events = eventsTable(id);
    const deliveries = deliveriesTable(id);
    const state = h("span", {}, stateBadge(rule), " since ", ago(rule.state_since));
    // The state follows this rule's events on the stream, firing and resolved alike.
    stop = onLive((name, data) => {
      if (name === "alert" && data.rule.id === rule.id) {
        state.replaceChildren(stateBadge(data.rule), " since ", ago(data.rule.state_since));
        events.reload();
      }
    });
    box.append(
      h(
        "dl",
        { class: "facts" },
        fact("State", state),
        fact("Sensor", rule.sensor),
        fact("Condition", conditionText(rule.condition)),
        fact("Webhook", rule.webhook_url || "none"),
        fact("Email", rule.email ? "on: each state change is emailed to you" : "off"),
        fact("Created", formatTime(rule.created_at)),
      ),
      h("div", { class: "actions" }, h("a", { href: `#/alerts/${id}/edit`, class: "button" }, "Edit rule"), remove),
      events.section,
      deliveries.section,
    );
    if (secret) revealSecret(box, secretPanel("Webhook secret", secret, SECRET_WARNING));
    await Promise.all([events.load(), deliveries.load()]);
  });
  return stop;
}

function fact(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

function eventsTable(ruleId) {
  return pagedTable({
    title: "Events",
    headers: ["When", "Event", "Value", "Reading"],
    path: withQuery("/alerts/events", { rule_id: ruleId }),
    empty: "No events yet: the rule has not changed state.",
    rows: (items) => items.map(eventRow),
  });
}

function eventRow(event) {
  return h(
    "tr",
    { dataset: { eventId: event.id } },
    h("td", {}, h("time", { datetime: event.at }, formatTime(event.at))),
    h("td", {}, stateBadge({ state: event.state }, { event: true })),
    h("td", {}, event.value == null ? "none" : formatNumber(event.value)),
    h("td", {}, event.reading_id == null ? "none" : `#${event.reading_id}`),
  );
}

/** A number as people type it ("10,000", "25,5"); text that is not one goes to the
 * API as is, whose message at the field says plainly that a number is needed. */
function numberOrText(text) {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const number = parseNumber(trimmed);
  return number === null ? trimmed : number;
}

// The stored number exactly as JavaScript writes it: an unchanged edit must compare equal.
function decimalInput(name, value) {
  return h("input", { name, inputmode: "decimal", autocomplete: "off", value: value == null ? "" : String(value) });
}

/** The email switch: usable once the address is verified (or to turn it off). */
function emailSwitch(rule, me) {
  const on = Boolean(rule && rule.email);
  const box = h("input", { name: "email", type: "checkbox", checked: on, disabled: !on && !me.email_verified });
  const hint = me.email_verified
    ? `To ${me.email}, at most once per cooldown; every email has an unsubscribe link.`
    : `Only to a verified address: follow the link in the message sent to ${me.email}.`;
  const wrapper = field("Email me", box, { pointer: "/email", hint });
  if (!me.email_verified) {
    const again = h("button", { type: "button" }, "Send the link again");
    const said = h("p", { role: "status" });
    again.addEventListener("click", () =>
      attempt(wrapper, async () => {
        await api("POST", "/users/me/verify-email");
        said.textContent = `Sent to ${me.email}.`;
      }),
    );
    wrapper.append(again, said);
  }
  return { wrapper, box };
}

/** Create/edit form; save(body) gets {name, sensor, condition, webhook_url, email}. */
function ruleForm(rule, me, sensors, save) {
  const condition = (rule && rule.condition) || { type: "threshold" };
  const name = h("input", { name: "name", value: rule ? rule.name : "", autocomplete: "off" });
  const watched = sensorAndField(sensors, {
    sensor: rule ? rule.sensor : "",
    fieldName: condition.field || "",
    pointers: { sensor: "/sensor", field: "/condition/field" },
    fixedSensor: Boolean(rule),
  });
  const type = select([["threshold", "Threshold"], ["silence", "Silence"]], condition.type, { name: "type" });
  const above = decimalInput("above", condition.above);
  const below = decimalInput("below", condition.below);
  const hysteresis = decimalInput("hysteresis", condition.hysteresis);
  const seconds = decimalInput("seconds", condition.seconds);
  const webhook = h("input", { name: "webhook_url", type: "url", value: (rule && rule.webhook_url) || "", autocomplete: "off" });
  const email = emailSwitch(rule, me);

  const threshold = h(
    "div",
    { class: "group" },
    watched.fieldElement,
    field("Fires above", above, { pointer: "/condition/above" }),
    field("Fires below", below, { pointer: "/condition/below" }),
    field("Hysteresis", hysteresis, { pointer: "/condition/hysteresis", hint: "Resolves only this far back inside the bounds." }),
  );
  const silence = h(
    "div",
    { class: "group" },
    field("Seconds without a reading", seconds, { pointer: "/condition/seconds", hint: "60 to 604800." }),
  );
  const showType = () => {
    threshold.hidden = type.value !== "threshold";
    silence.hidden = type.value !== "silence";
  };
  type.addEventListener("change", showType);
  showType();

  const conditionError = h("p", { class: "field-error", hidden: true });
  const conditionSet = h(
    "fieldset",
    { id: uid("condition"), dataset: { pointer: "/condition" } },
    h("legend", {}, "Condition"),
    conditionError,
    field("Type", type, { pointer: "/condition/type" }),
    threshold,
    silence,
  );
  conditionError.id = `${conditionSet.id}-error`;
  conditionSet.setAttribute("aria-describedby", conditionError.id);

  const form = h(
    "form",
    { class: "card", "aria-label": rule ? `Edit ${rule.name}` : "New alert rule" },
    field("Name", name, { pointer: "/name" }),
    watched.sensorElement,
    conditionSet,
    field("Webhook URL", webhook, { pointer: "/webhook_url", hint: "Optional. https:// only; empty for no webhook." }),
    email.wrapper,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, rule ? "Save rule" : "Create rule"),
      h("a", { href: rule ? `#/alerts/${rule.id}` : "#/alerts", class: "button" }, "Cancel")),
  );
  onSubmit(form, () => {
    watched.check();
    const body = { name: name.value, condition: conditionBody(type.value, { watched, above, below, hysteresis, seconds }) };
    if (!rule) body.sensor = watched.sensor();
    body.webhook_url = webhook.value.trim() || null;
    if (email.box.checked || rule) body.email = email.box.checked;
    return save(body);
  });
  return form;
}

function conditionBody(type, inputs) {
  if (type === "silence") return { type, seconds: numberOrText(inputs.seconds.value) };
  const body = { type, field: inputs.watched.field() };
  for (const key of ["above", "below", "hysteresis"]) {
    const value = numberOrText(inputs[key].value);
    if (value !== undefined) body[key] = value;
  }
  return body;
}
