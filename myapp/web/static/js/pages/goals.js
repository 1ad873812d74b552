// The goal tree: expand/collapse, completion checkboxes, "move to", progress,
// measured goals' value, target and streak. Every change reloads the tree, so
// the server's cascades (completing children, reopening parents) show at once.
import { api, get } from "../api.js";
import { announce, field, h, heading, hidden, rowButton, select, uid } from "../dom.js";
import { sameValue } from "../json.js";
import { attempt, onSubmit } from "../problems.js";

const AGGREGATES = ["sum", "count", "min", "max", "avg", "last"];
const OPS = [[">=", "at least (>=)"], ["<=", "at most (<=)"]];
const PERIODS = [["", "overall (no period)"], ["day", "per day"], ["week", "per week"], ["month", "per month"]];

export async function render(main) {
  const tree = h("div", { class: "goal-tree" });
  const treeSection = h(
    "section",
    { "aria-labelledby": "tree-title" },
    h("h2", { id: "tree-title", tabindex: "-1" }, "Your goals"),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => setAll(false) }, "Expand all"),
      h("button", { type: "button", onclick: () => setAll(true) }, "Collapse all"),
    ),
    tree,
  );
  const view = { tree, treeSection, collapsed: new Set(), goals: new Map() };
  const setAll = (collapse) => {
    view.collapsed = new Set(collapse ? [...view.goals.keys()] : []);
    draw(view);
  };
  view.reload = (focusSelector) =>
    attempt(treeSection, async () => {
      view.forest = (await get("/goals/")).items;
      draw(view);
      const target = focusSelector && tree.querySelector(focusSelector);
      if (target) target.focus();
    });

  const name = h("input", { name: "name", autocomplete: "off" });
  const target = targetFields(null);
  const createForm = h(
    "form",
    { class: "card", "aria-labelledby": "new-goal-title" },
    h("h2", { id: "new-goal-title" }, "New top-level goal"),
    field("Name", name, { pointer: "/name" }),
    target.element,
    h("button", { type: "submit", class: "primary" }, "Add goal"),
  );
  onSubmit(createForm, async () => {
    const goal = await api("POST", "/goals/", withTarget({ name: name.value }, target.value()));
    createForm.reset();
    target.reset();
    announce(`Added ${goal.name}`);
    await view.reload(`#done-${goal.id}`);
  });

  main.append(heading("Goals"), createForm, treeSection);
  await view.reload();
}

function withTarget(body, target) {
  if (target !== undefined) body.target = target;
  return body;
}

function draw(view) {
  view.goals = new Map();
  const index = (goals, path) => {
    for (const goal of goals) {
      view.goals.set(goal.id, { goal, path: [...path, goal.name] });
      index(goal.children || [], [...path, goal.name]);
    }
  };
  index(view.forest, []);
  if (!view.forest.length) {
    view.tree.replaceChildren(h("p", {}, "No goals yet. Add one above, then break it into sub-goals."));
    return;
  }
  view.tree.replaceChildren(h("ul", { class: "goals" }, view.forest.map((goal) => goalItem(goal, view))));
}

function goalItem(goal, view) {
  const children = goal.children || [];
  const collapsed = view.collapsed.has(goal.id);
  const childrenId = `children-${goal.id}`;
  const percent = Math.round(goal.progress * 100);
  const done = h("input", { type: "checkbox", id: `done-${goal.id}`, checked: goal.completed });
  done.addEventListener("change", () => complete(goal, done.checked, view));
  const panel = h("div", { class: "row-panel" });
  const toggle = children.length
    ? h(
        "button",
        {
          type: "button",
          class: "toggle",
          id: `toggle-${goal.id}`,
          "aria-expanded": String(!collapsed),
          "aria-controls": childrenId,
        },
        h("span", { "aria-hidden": "true" }, collapsed ? "▸" : "▾"),
        hidden(`Sub-goals of ${goal.name}`),
      )
    : h("span", { class: "toggle-space", "aria-hidden": "true" });
  if (children.length) {
    toggle.addEventListener("click", () => {
      if (collapsed) view.collapsed.delete(goal.id);
      else view.collapsed.add(goal.id);
      draw(view);
      view.tree.querySelector(`#toggle-${goal.id}`).focus();
    });
  }
  return h(
    "li",
    { class: "goal", dataset: { goalId: goal.id } },
    h(
      "div",
      { class: "goal-row" },
      toggle,
      done,
      h("label", { for: done.id, class: goal.completed ? "goal-name completed" : "goal-name" }, goal.name),
      h(
        "span",
        { class: "progress" },
        h("progress", { max: "1", value: String(goal.progress), "aria-label": `Progress of ${goal.name}` }),
        h("span", { class: "percent" }, `${percent}%`),
      ),
      goal.description ? h("p", { class: "description" }, goal.description) : null,
      measuredInfo(goal),
      goalActions(goal, view, panel),
      panel,
    ),
    children.length
      ? h("ul", { id: childrenId, class: "goals", hidden: collapsed }, children.map((child) => goalItem(child, view)))
      : null,
  );
}

async function complete(goal, completed, view) {
  const ok = await attempt(view.treeSection, async () => {
    await api("PATCH", `/goals/${goal.id}`, { completed });
    announce(`${completed ? "Completed" : "Reopened"} ${goal.name}`);
  });
  if (ok) await view.reload(`#done-${goal.id}`);
  else draw(view); // back to what the server last said
}

/** "sum of celsius from kitchen/temp >= 100 per day: now 42, not met; streak 3". */
function measuredInfo(goal) {
  const target = goal.target;
  if (!target) return null;
  const period = target.period ? ` per ${target.period}` : "";
  const parts = [`${target.aggregate} of ${target.field} from ${target.sensor} ${target.op} ${target.value}${period}`];
  if (goal.measured) {
    const value = goal.measured.value == null ? "no value yet" : String(goal.measured.value);
    parts.push(`now ${value}, ${goal.measured.met ? "met" : "not met"}`);
  }
  if (goal.streak != null) parts.push(`streak ${goal.streak}`);
  return h("p", { class: "measured" }, h("span", { class: "visually-hidden" }, "Measured: "), parts.join("; "));
}

function goalActions(goal, view, panel) {
  const open = (form, focus) => {
    panel.replaceChildren(form);
    focus.focus();
  };
  const cancel = (returnTo) =>
    h("button", { type: "button", onclick: () => (panel.replaceChildren(), returnTo.focus()) }, "Cancel");
  const add = rowButton("Add sub-goal", `to ${goal.name}`);
  const move = rowButton("Move", `${goal.name} to another place`);
  const edit = rowButton("Edit", goal.name);
  const remove = rowButton("Delete", goal.name, { class: "danger" });

  add.addEventListener("click", () => {
    const name = h("input", { name: "name", autocomplete: "off" });
    const target = targetFields(null);
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `New sub-goal of ${goal.name}` },
      field("Sub-goal name", name, { pointer: "/name" }),
      target.element,
      h("button", { type: "submit", class: "primary" }, "Add sub-goal"),
      cancel(add),
    );
    onSubmit(form, async () => {
      const child = await api("POST", "/goals/", withTarget({ name: name.value, parent_id: goal.id }, target.value()));
      view.collapsed.delete(goal.id);
      announce(`Added ${child.name} under ${goal.name}`);
      await view.reload(`#done-${child.id}`);
    });
    open(form, name);
  });

  move.addEventListener("click", () => {
    const choices = [["", "Top level"]];
    for (const [id, { path }] of view.goals) {
      if (id !== goal.id) choices.push([String(id), path.join(" › ")]);
    }
    const parent = select(choices, goal.parent_id == null ? "" : String(goal.parent_id), { name: "parent_id" });
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `Move ${goal.name}` },
      field(`Move ${goal.name} under`, parent, { pointer: "/parent_id" }),
      h("button", { type: "submit", class: "primary" }, "Move"),
      cancel(move),
    );
    onSubmit(form, async () => {
      const parentId = parent.value === "" ? null : Number(parent.value);
      await api("PATCH", `/goals/${goal.id}`, { parent_id: parentId });
      if (parentId !== null) view.collapsed.delete(parentId);
      announce(`Moved ${goal.name}`);
      await view.reload(`#done-${goal.id}`);
    });
    open(form, parent);
  });

  edit.addEventListener("click", () => {
    const name = h("input", { name: "name", value: goal.name, autocomplete: "off" });
    const description = h("textarea", { name: "description", rows: 2, value: goal.description || "" });
    const target = targetFields(goal.target);
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `Edit ${goal.name}` },
      field("Name", name, { pointer: "/name" }),
      field("Description", description, { pointer: "/description" }),
      target.element,
      h("button", { type: "submit", class: "primary" }, "Save"),
      cancel(edit),
    );
    onSubmit(form, async () => {
      const body = {};
      if (name.value !== goal.name) body.name = name.value;
      const text = description.value.trim() ? description.value : null;
      if (text !== (goal.description || null)) body.description = text;
      const newTarget = target.value();
      if (newTarget !== undefined && !sameValue(newTarget, goal.target)) body.target = newTarget;
      await api("PATCH", `/goals/${goal.id}`, body);
      announce(`Saved ${name.value}`);
      await view.reload(`#done-${goal.id}`);
    });
    open(form, name);
  });

  remove.addEventListener("click", () =>
    attempt(view.treeSection, async () => {
      const count = countDescendants(goal);
      const also = count ? ` and its ${count} sub-goal${count === 1 ? "" : "s"}` : "";
      if (!window.confirm(`Delete ${goal.name}${also}?`)) return;
      await api("DELETE", `/goals/${goal.id}`);
      announce(`Deleted ${goal.name}`);
      await view.reload();
      view.treeSection.querySelector("h2").focus();
    }),
  );
  return h("div", { class: "actions" }, add, move, edit, remove);
}

function countDescendants(goal) {
  return (goal.children || []).reduce((sum, child) => sum + 1 + countDescendants(child), 0);
}

/** "Measure with readings": the optional target of a goal; value() is undefined
 * when untouched, null to remove one, else the target. */
function targetFields(current) {
  const enabled = h("input", { type: "checkbox", checked: Boolean(current) });
  const sensor = h("input", { name: "sensor", autocomplete: "off", value: current ? current.sensor : "" });
  const fieldName = h("input", { name: "field", autocomplete: "off", value: current ? current.field : "" });
  const aggregate = select(AGGREGATES.map((a) => [a, a]), current ? current.aggregate : "sum", { name: "aggregate" });
  const op = select(OPS, current ? current.op : ">=", { name: "op" });
  const value = h("input", { name: "value", inputmode: "decimal", autocomplete: "off", value: current ? String(current.value) : "" });
  const period = select(PERIODS, current && current.period ? current.period : "", { name: "period" });
  const details = h(
    "div",
    { class: "group" },
    field("Sensor", sensor, { pointer: "/target/sensor" }),
    field("Field of data", fieldName, { pointer: "/target/field" }),
    field("Aggregate", aggregate, { pointer: "/target/aggregate" }),
    field("Comparison", op, { pointer: "/target/op" }),
    field("Target value", value, { pointer: "/target/value" }),
    field("Period", period, { pointer: "/target/period", hint: "With a period the goal is a habit: met per day, week or month." }),
  );
  const error = h("p", { class: "field-error", hidden: true });
  const legendId = uid("target");
  const fieldset = h(
    "fieldset",
    { id: uid("target-set"), class: "target", dataset: { pointer: "/target" }, "aria-labelledby": legendId },
    h("legend", { id: legendId }, h("label", {}, enabled, " Measure with readings")),
    error,
    details,
  );
  error.id = `${fieldset.id}-error`;
  fieldset.setAttribute("aria-describedby", error.id);
  const sync = () => {
    details.hidden = !enabled.checked;
    fieldset.classList.toggle("closed", !enabled.checked);
  };
  enabled.addEventListener("change", sync);
  sync();
  return {
    element: fieldset,
    value() {
      if (!enabled.checked) return current ? null : undefined;
      const number = Number(value.value.trim());
      return {
        sensor: sensor.value,
        field: fieldName.value,
        aggregate: aggregate.value,
        op: op.value,
        value: value.value.trim() !== "" && Number.isFinite(number) ? number : value.value,
        period: period.value || null,
      };
    },
    reset() {
      enabled.checked = Boolean(current);
      sync();
    },
  };
}
