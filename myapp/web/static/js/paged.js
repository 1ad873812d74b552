// A keyset-paged table: rows from a list endpoint's pages, "More" fetches the next.
import { get, withQuery } from "./api.js";
import { h, table, tableRegion, uid } from "./dom.js";
import { attempt } from "./problems.js";

/** {section, body, load, reload}: rows(items) gives a page's <tr>s (it may be async). */
export function pagedTable({ title, headers, path, rows, empty, more = `More ${title.toLowerCase()}` }) {
  const list = table(headers, []);
  const body = list.tBodies[0];
  const button = h("button", { type: "button", hidden: true }, more);
  const none = h("p", { hidden: true }, empty);
  const id = uid("section");
  const section = h(
    "section",
    { "aria-labelledby": id },
    h("h2", { id, tabindex: "-1" }, title),
    none,
    tableRegion(title, list),
    button,
  );
  // Rows added or removed later (a new device, a deletion) keep "empty" true.
  new MutationObserver(() => {
    none.hidden = body.children.length > 0;
  }).observe(body, { childList: true });
  let cursor = null;
  const load = () =>
    attempt(section, async () => {
      const page = await get(withQuery(path, { cursor }));
      body.append(...(await rows(page.items)));
      cursor = page.next_cursor;
      button.hidden = !cursor;
      none.hidden = body.children.length > 0;
    });
  // The first page again, in place of every row shown (live updates).
  const reload = () =>
    attempt(section, async () => {
      const page = await get(withQuery(path, {}));
      body.replaceChildren(...(await rows(page.items)));
      cursor = page.next_cursor;
      button.hidden = !cursor;
      none.hidden = body.children.length > 0;
    });
  button.addEventListener("click", load);
  return { section, body, load, reload };
}
