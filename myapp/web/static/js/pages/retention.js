// Data retention: the rules, what the next prunes remove (in words), and undo during the grace.
import { api, get } from "../api.js";
import { announce, field, formatTime, h, heading, rowButton } from "../dom.js";
import { parseNumber } from "../format.js";
import { attempt, onSubmit } from "../problems.js";

// The rules before the last change, per user, so they can be put back while the
// grace holds (the API keeps them but does not show them). Not a secret.
const UNDO_KEY = "myapp.retention.undo";

const SENSORS_HINT = "One per line: an exact sensor name, or a prefix ending in /* (kitchen/*). Empty: any sensor.";

function sensorsFrom(textarea) {
  const patterns = textarea.value.split("\n").map((line) => line.trim()).filter(Boolean);
  textarea.value = patterns.join("\n");
  return patterns.length ? patterns : null;
}

function day(iso) {
  return new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

function moment(iso) {
  return new Date(iso).toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

function readUndo() {
  try {
    return JSON.parse(localStorage.getItem(UNDO_KEY) || "null");
  } catch {
    return null;
  }
}

/** One sentence per sensor: "1,204 readings of kitchen/temp recorded up to 12 Nov 2026 will be removed from 8 Dec, 14:00." */
export function previewSentence(item, asOf) {
  const count = item.readings.toLocaleString();
  const noun = item.readings === 1 ? "reading" : "readings";
  const when = Date.parse(item.from) > Date.parse(asOf) ? `from ${moment(item.from)}` : "at the next hourly run";
  return `${count} ${noun} of ${item.sensor} recorded up to ${day(item.newest)} will be removed ${when}.`;
}

export async function render(main) {
  const status = h("div", { class: "card", "aria-live": "polite" });
  const preview = h("section", { class: "card", "aria-labelledby": "preview-title" });
  const rulesList = h("ol", { class: "plain rules" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "rules-title" },
    h("h2", { id: "rules-title" }, "Rules"),
    h(
      "p",
      {},
      "A reading falls under the first rule whose sensors match it; a sensor no rule matches is kept forever. " +
        "Statistics of 15 minutes and longer, each sensor's newest reading, goals and alerts are always kept.",
    ),
    rulesList,
    h("button", { type: "button", onclick: () => addRule(rulesList, { sensors: null, keep_days: 365 }) }, "Add a rule"),
    " ",
    h("button", { type: "submit", class: "primary" }, "Save rules"),
  );
  main.append(
    heading("Data retention"),
    h("p", {}, "Decide how long raw readings are kept. Before more is removed than before, a grace period lets you export or undo."),
    status,
    form,
    preview,
  );

  let current = await get("/readings/retention");
  const show = async (policy) => {
    current = policy;
    rulesList.replaceChildren();
    policy.rules.forEach((rule) => addRule(rulesList, rule));
    showStatus(status, policy, async (rules) => show(await save(rules, policy, true)));
    await attempt(preview, () => showPreview(preview));
  };
  onSubmit(form, async () => {
    const rules = [...rulesList.children].map((item) => item.readRule());
    await show(await save(rules, current, false));
    announce("Rules saved");
  });
  await show(current);
}

async function save(rules, before, undoing) {
  const saved = await api("PUT", "/readings/retention", { rules });
  const graced = saved.prunes_from && Date.parse(saved.prunes_from) > Date.now();
  if (graced && !undoing) localStorage.setItem(UNDO_KEY, JSON.stringify({ rules: before.rules, until: saved.prunes_from }));
  else localStorage.removeItem(UNDO_KEY);
  return saved;
}

function addRule(list, rule) {
  const sensors = h("textarea", { name: "sensors", rows: 2, spellcheck: "false", value: (rule.sensors || []).join("\n") });
  // Text, not type=number: "1,000" is read as people write it, and anything else reaches the API's message.
  const days = h("input", { name: "keep_days", value: String(rule.keep_days), inputmode: "numeric", autocomplete: "off" });
  const item = h("li", { class: "rule" });
  const index = () => [...list.children].indexOf(item);
  item.readRule = () => {
    sensors.dataset.pointer = `/rules/${index()}/sensors`;
    days.dataset.pointer = `/rules/${index()}/keep_days`;
    const typed = days.value.trim();
    return { sensors: sensorsFrom(sensors), keep_days: parseNumber(typed) ?? typed };
  };
  item.append(
    field("Sensors", sensors, { hint: SENSORS_HINT }),
    field("Keep raw readings for (days)", days, { hint: "1 to 36,500 days." }),
    rowButton("Remove", "this rule", { class: "danger", onclick: () => item.remove() }),
  );
  list.append(item);
  return item;
}

function showStatus(status, policy, undo) {
  const parts = [h("h2", {}, "Now")];
  if (!policy.rules.length) parts.push(h("p", {}, "No rules: every reading is kept."));
  else if (Date.parse(policy.prunes_from) > Date.now()) {
    parts.push(
      h(
        "p",
        {},
        `Grace period: nothing the earlier rules kept is removed before ${formatTime(policy.prunes_from)}. ` +
          "Export what you want to keep, or undo the change.",
      ),
    );
    const saved = readUndo();
    if (saved && saved.until === policy.prunes_from) {
      parts.push(h("button", { type: "button", class: "primary", onclick: () => attempt(status, () => undo(saved.rules)) }, "Undo the change"));
    }
  } else parts.push(h("p", {}, `These rules apply in full since ${formatTime(policy.prunes_from)}.`));
  if (policy.updated_at) parts.push(h("p", { class: "hint" }, `Last changed ${formatTime(policy.updated_at)}.`));
  status.replaceChildren(...parts);
}

async function showPreview(section) {
  const found = await get("/readings/retention/preview");
  const title = h("h2", { id: "preview-title" }, "What will be removed");
  if (!found.total) {
    section.replaceChildren(title, h("p", {}, "Nothing: no reading is old enough for your rules."));
    return;
  }
  section.replaceChildren(
    title,
    h("p", {}, `${found.total.toLocaleString()} readings in all, counted ${formatTime(found.as_of)}:`),
    h("ul", {}, found.sensors.map((item) => h("li", {}, previewSentence(item, found.as_of)))),
  );
}
