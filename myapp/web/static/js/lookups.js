// Device names for readings' device_id, fetched only when a page shows one.
import { get, withQuery } from "./api.js";
import { formatNumber } from "./format.js";

/** Map of device id -> name, every page of GET /devices/. */
async function deviceNames() {
  const names = new Map();
  let cursor = null;
  do {
    const page = await get(withQuery("/devices/", { limit: 1000, cursor }));
    for (const device of page.items) names.set(device.id, device.name);
    cursor = page.next_cursor;
  } while (cursor);
  return names;
}

/** Names for the devices of these readings; an empty map when none came from one. */
export function namesFor(readings) {
  return readings.some((reading) => reading.device_id != null) ? deviceNames() : Promise.resolve(new Map());
}

/** Who uploaded a reading: a device by name, or none (the API's null is both the
 * user's own token and a device deleted since: the words must not choose). */
export function sentBy(deviceId, names) {
  if (deviceId == null) return "No device";
  return names.get(deviceId) || `Device #${deviceId} (deleted or not listed)`;
}

/** The keys of data whose values are numbers (not booleans), in first-seen order. */
export function numericFields(readings) {
  const found = new Set();
  for (const reading of readings) {
    for (const [key, value] of Object.entries(reading.data || {})) {
      if (typeof value === "number") found.add(key);
    }
  }
  return [...found];
}

/** data as short text: up to `most` top-level members. */
export function summarize(data, most = 4) {
  const entries = Object.entries(data || {});
  const shown = entries.slice(0, most).map(([key, value]) => `${key}: ${shownValue(value)}`);
  if (entries.length > most) shown.push(`… ${entries.length - most} more`);
  return shown.join(", ") || "(no data)";
}

function shownValue(value) {
  if (typeof value === "number") return formatNumber(value);
  return typeof value === "object" ? JSON.stringify(value) : value;
}
