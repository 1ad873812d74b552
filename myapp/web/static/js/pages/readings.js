// The user's sensors: each one's newest reading (GET /readings/latest).
import { ago, h, heading } from "../dom.js";
import { namesFor, sentBy, summarize } from "../lookups.js";
import { pagedTable } from "../paged.js";

function sensorLink(sensor) {
  return `#/readings/${encodeURIComponent(sensor)}`;
}

export async function render(main) {
  const sensors = pagedTable({
    title: "Sensors",
    headers: ["Sensor", "Latest values", "Recorded", "Sent by"],
    path: "/readings/latest",
    empty: [
      "No readings yet. Add a device under ",
      h("a", { href: "#/devices" }, "Devices"),
      " to get a key and an example upload, or send them from a script with ",
      h("a", { href: "/docs" }, "the API"),
      ".",
    ],
    rows: async (items) => {
      const names = await namesFor(items);
      return items.map((reading) => row(reading, names));
    },
  });
  main.append(
    heading("Readings"),
    h("p", {}, "Each sensor's newest reading. Open a sensor for its chart, its readings and exports."),
    sensors.section,
  );
  await sensors.load();
}

function row(reading, names) {
  return h(
    "tr",
    { dataset: { sensor: reading.sensor } },
    h("th", { scope: "row" }, h("a", { href: sensorLink(reading.sensor) }, reading.sensor)),
    h("td", {}, summarize(reading.data)),
    h("td", {}, ago(reading.recorded_at)),
    h("td", {}, sentBy(reading.device_id, names)),
  );
}
