// The user's sensors: each one's newest reading (GET /readings/latest).
import { get, withQuery } from "../api.js";
import { ago, h, heading, table, tableRegion } from "../dom.js";
import { namesFor, sentBy, summarize } from "../lookups.js";
import { attempt } from "../problems.js";

export function sensorLink(sensor) {
  return `#/readings/${encodeURIComponent(sensor)}`;
}

export async function render(main) {
  const list = table(["Sensor", "Latest values", "Recorded", "Sent by"], []);
  const body = list.tBodies[0];
  const more = h("button", { type: "button", hidden: true }, "More sensors");
  const empty = h("p", { hidden: true }, "No readings yet. Devices upload them with their keys (see Devices), scripts with the API.");
  const section = h(
    "section",
    { "aria-labelledby": "sensors-title" },
    h("h2", { id: "sensors-title" }, "Sensors"),
    empty,
    tableRegion("Sensors", list),
    more,
  );
  main.append(
    heading("Readings"),
    h("p", {}, "Each sensor's newest reading. Open a sensor for its chart, its readings and exports."),
    section,
  );

  let cursor = null;
  const load = () =>
    attempt(section, async () => {
      const page = await get(withQuery("/readings/latest", { cursor }));
      const names = await namesFor(page.items);
      body.append(...page.items.map((reading) => row(reading, names)));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = body.children.length > 0;
    });
  more.addEventListener("click", load);
  await load();
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
