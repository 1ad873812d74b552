// A new device key's first upload, ready to paste: curl, Python and MicroPython
// with the key and this server's URL filled in, each with its own copy button.
import { copyText, h, hidden } from "../dom.js";

/** A sensor name the device may write: its first exact name, else one under its first prefix. */
export function exampleSensor(sensors) {
  if (!sensors || !sensors.length) return "kitchen/temp";
  const exact = sensors.find((pattern) => !pattern.endsWith("/*"));
  return exact || `${sensors[0].slice(0, -2)}/temp`;
}

function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** {label: text} of the three examples for key, uploading one reading of sensor. */
export function uploadExamples(key, sensor, origin = location.origin) {
  const url = `${origin}/api/v1/readings/`;
  const body = { sensor, data: { celsius: 21.5 } };
  const pyBody = `{"sensor": ${JSON.stringify(sensor)}, "data": {"celsius": 21.5}}`;
  return {
    curl: [
      `curl -X POST ${shellQuote(url)} \\`,
      `  -H ${shellQuote(`Authorization: Bearer ${key}`)} \\`,
      "  -H 'Content-Type: application/json' \\",
      `  -d ${shellQuote(JSON.stringify(body))}`,
    ].join("\n"),
    Python: [
      "import json",
      "import urllib.request",
      "",
      "request = urllib.request.Request(",
      `    ${JSON.stringify(url)},`,
      `    data=json.dumps(${pyBody}).encode(),`,
      `    headers={"Authorization": ${JSON.stringify(`Bearer ${key}`)}, "Content-Type": "application/json"},`,
      '    method="POST",',
      ")",
      "with urllib.request.urlopen(request) as response:",
      "    print(response.status, response.read().decode())",
    ].join("\n"),
    MicroPython: [
      "import urequests",
      "",
      "response = urequests.post(",
      `    ${JSON.stringify(url)},`,
      `    json=${pyBody},`,
      `    headers={"Authorization": ${JSON.stringify(`Bearer ${key}`)}},`,
      ")",
      "print(response.status_code, response.text)",
      "response.close()",
    ].join("\n"),
  };
}

/** The examples as a section for the key's panel. */
export function examplesSection(key, sensors) {
  const examples = uploadExamples(key, exampleSensor(sensors));
  return h(
    "div",
    { class: "examples" },
    h("h4", {}, "Send a first reading"),
    h("p", {}, "Run one of these where the device is; the reading then shows under Readings."),
    Object.entries(examples).map(([label, text]) => {
      const copy = h("button", { type: "button" }, "Copy", hidden(` the ${label} example`));
      copy.addEventListener("click", () => copyText(text, copy));
      return h(
        "figure",
        { class: "example", dataset: { example: label } },
        h("figcaption", {}, label),
        h("pre", {}, h("code", {}, text)),
        copy,
      );
    }),
  );
}
