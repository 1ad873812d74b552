// Sensor and field choosers for the alert and goal forms: the user's own sensors
// and their numeric fields, so a rule on a misspelt sensor is not made by accident.
import { get, withQuery } from "./api.js";
import { field, h } from "./dom.js";
import { numericFields } from "./lookups.js";
import { formError } from "./problems.js";

const OTHER = "\u0000other";

/** Map sensor -> numeric fields of its newest reading (every page of GET /readings/latest). */
export async function loadSensors() {
  const sensors = new Map();
  let cursor = null;
  do {
    const page = await get(withQuery("/readings/latest", { limit: 1000, cursor }));
    for (const reading of page.items) sensors.set(reading.sensor, numericFields([reading]));
    cursor = page.next_cursor;
  } while (cursor);
  return sensors;
}

/** A select of choices plus "other", and a text box shown for "other"; the one shown carries pointer. */
function chooser({ label, otherLabel, otherName, otherHint, pointer, hint }) {
  const choice = h("select", { name: `${otherName}-choice` });
  const typed = h("input", { name: otherName, autocomplete: "off", spellcheck: "false" });
  const typedField = field(otherLabel, typed, { hint: otherHint });
  const wrapper = h("div", { class: "chooser" }, field(label, choice, { hint }), typedField);
  const sync = () => {
    const other = choice.value === OTHER;
    typedField.hidden = !other;
    const [on, off] = other ? [typed, choice] : [choice, typed];
    on.dataset.pointer = pointer;
    delete off.dataset.pointer;
  };
  choice.addEventListener("change", sync);
  return {
    wrapper,
    choice,
    typed,
    sync,
    /** Offer names (and "other" labelled otherText), choosing current. */
    offer(names, current, otherText) {
      const known = names.includes(current);
      choice.replaceChildren(
        ...names.map((name) => h("option", { value: name, selected: name === current }, name)),
        h("option", { value: OTHER, selected: !known && (Boolean(current) || !names.length) }, otherText),
      );
      if (!known && current) typed.value = current;
      sync();
    },
    value() {
      return choice.value === OTHER ? typed.value.trim() : choice.value;
    },
  };
}

/**
 * Sensor (with a confirmation for one that has not sent yet) and a numeric field
 * of it. sensors: loadSensors()'s map; pointers: {sensor, field}; fixedSensor:
 * the sensor cannot change (an alert rule's). check() throws a field error
 * when an unknown sensor is not confirmed.
 */
export function sensorAndField(sensors, { sensor = "", fieldName = "", pointers, fixedSensor = false }) {
  const names = [...sensors.keys()];
  const sensorChooser = chooser({
    label: "Sensor",
    otherLabel: "Sensor name",
    otherName: "sensor",
    otherHint: "Exactly as the device sends it, e.g. kitchen/temp.",
    pointer: pointers.sensor,
    hint: fixedSensor ? "A rule's sensor cannot change; make a new rule instead." : "Your sensors that have sent readings.",
  });
  sensorChooser.offer(names, sensor, "A sensor that has not sent yet…");
  sensorChooser.choice.disabled = fixedSensor;
  sensorChooser.typed.disabled = fixedSensor;
  const confirm = h("input", { type: "checkbox", name: "confirm-sensor" });
  const warning = h("p", { class: "warning-text" });
  const confirmField = h("div", { class: "confirm" }, warning, field("Use this name anyway", confirm, {}));
  confirm.dataset.pointer = `${pointers.sensor}/confirm`;
  const fieldChooser = chooser({
    label: "Field of data",
    otherLabel: "Field name",
    otherName: "field",
    otherHint: "A top-level key of the reading's data holding a number, e.g. celsius.",
    pointer: pointers.field,
    hint: "Fields holding a number in the sensor's newest reading.",
  });
  // The name a saved goal or rule already has was accepted once: not asked again.
  const unknown = () => !sensors.has(sensorChooser.value()) && sensorChooser.value() !== sensor;
  const refresh = () => {
    const name = sensorChooser.value();
    const known = sensors.has(name);
    confirmField.hidden = !unknown() || fixedSensor;
    warning.textContent = name
      ? `"${name}" has sent no reading yet. Check the name: it must match exactly what the device sends, or this never fires.`
      : "Type the sensor's exact name, as the device will send it.";
    const fields = known ? sensors.get(name) : [];
    const current = fieldChooser.value() || fieldName;
    fieldChooser.offer(fields, current, fields.length ? "Another field…" : "A field not seen yet…");
    // With nothing to choose from, only the text box is shown.
    fieldChooser.choice.closest(".field").hidden = !fields.length;
  };
  sensorChooser.choice.addEventListener("change", refresh);
  sensorChooser.typed.addEventListener("input", refresh);
  refresh();
  return {
    sensorElement: h("div", {}, sensorChooser.wrapper, confirmField),
    fieldElement: fieldChooser.wrapper,
    sensor: () => sensorChooser.value(),
    field: () => fieldChooser.value(),
    /** Throws a field error for an unknown sensor that was not confirmed. */
    check() {
      if (!fixedSensor && sensorChooser.value() && unknown() && !confirm.checked) {
        throw formError(
          confirm.dataset.pointer,
          "Tick this to use a sensor that has not sent a reading yet, or choose one of yours.",
        );
      }
    },
  };
}
