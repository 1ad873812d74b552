// The goal tree: expand/collapse, completion checkboxes, "move to", progress,
// measured goals' value, target and streak. Every change reloads the tree, so
// the server's cascades (completing children, reopening parents) show at once.
// A habit (a target with a period) is met per period: it has no checkbox, and
// shows its current period and a streak calendar instead.
import { api, get } from "../api.js";
import { announce, field, h, heading, hidden, rowButton, select } from "../dom.js";
import { sameValue } from "../json.js";
import { loadSensors } from "../pickers.js";
import { attempt, onSubmit } from "../problems.js";
import { habitStatus, isHabit, measuredSentence, targetFields } from "./goaltarget.js";
import { streakCalendar } from "./habits.js";

export async function render(main) {
  const sensors = await loadSensors();
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
  const view = { tree, treeSection, sensors, collapsed: new Set(), goals: new Map(), calendars: new Map() };
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
  const target = targetFields(null, sensors);
  const createForm = h(
    "form",
    { class: "card", "aria-labelledby": "new-goal-title" },
    h("h2", { id: "new-goal-title" }, "New top-level goal"),
    field("Name", name, { pointer: "/name" }),
    target.element,
    h("button", { type: "submit", class: "primary" }, "Add goal"),
  );
  onSubmit(createForm, async () => {
    target.check();
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
    view.tree.replaceChildren(
      h(
        "p",
        { class: "empty" },
        "No goals yet. Name one in the form above, then break it into sub-goals. ",
        "To have readings fill it up (10,000 steps a day, say), tick \"Measure with readings\"; ",
        h("a", { href: "#/devices" }, "a device"),
        " must send them first.",
      ),
    );
    return;
  }
  view.tree.replaceChildren(h("ul", { class: "goals" }, view.forest.map((goal) => goalItem(goal, view))));
}

function goalItem(goal, view) {
  const children = goal.children || [];
  const collapsed = view.collapsed.has(goal.id);
  const childrenId = `children-${goal.id}`;
  const percent = Math.round(goal.progress * 100);
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
      ...nameAndBox(goal, view),
      h(
        "span",
        { class: "progress" },
        h("progress", { max: "1", value: String(goal.progress), "aria-label": `Progress of ${goal.name}` }),
        h("span", { class: "percent" }, `${percent}%`),
      ),
      goal.description ? h("p", { class: "description" }, goal.description) : null,
      goal.target ? h("p", { class: "measured" }, h("span", { class: "visually-hidden" }, "Measured: "), measuredSentence(goal)) : null,
      allDone(goal, children, view),
      isHabit(goal) ? calendarSlot(goal, view) : null,
      goalActions(goal, view, panel),
      panel,
    ),
    children.length
      ? h("ul", { id: childrenId, class: "goals", hidden: collapsed }, children.map((child) => goalItem(child, view)))
      : null,
  );
}

/** A checkbox and its label; a habit has none (it is met per period) and says how it stands. */
function nameAndBox(goal, view) {
  if (isHabit(goal)) {
    const met = goal.measured && goal.measured.met;
    return [
      h("span", { class: "toggle-space", "aria-hidden": "true" }),
      h("span", { class: "goal-name", id: `done-${goal.id}`, tabindex: "-1" }, goal.name),
      h("span", { class: `habit-status ${met ? "habit-met" : "habit-open"}` }, habitStatus(goal)),
    ];
  }
  const done = h("input", { type: "checkbox", id: `done-${goal.id}`, checked: goal.completed });
  done.addEventListener("change", () => complete(goal, done.checked, view));
  return [done, h("label", { for: done.id, class: goal.completed ? "goal-name completed" : "goal-name" }, goal.name)];
}

/** A parent whose sub-goals are all done, itself still open: say so and offer to complete it. */
function allDone(goal, children, view) {
  if (goal.completed || !children.length || goal.progress < 1 || isHabit(goal)) return null;
  const button = rowButton("Complete", goal.name, { class: "primary" });
  button.addEventListener("click", () => complete(goal, true, view));
  return h("p", { class: "all-done" }, h("span", {}, "All sub-goals done. "), button);
}

/** The habit's calendar, fetched once per version of the goal. */
function calendarSlot(goal, view) {
  const key = `${goal.id}@${goal.updated_at}@${goal.measured ? goal.measured.as_of : ""}`;
  if (!view.calendars.has(key)) view.calendars.set(key, streakCalendar(goal));
  const slot = h("div", { class: "streak-slot" });
  view.calendars
    .get(key)
    .then((calendar) => slot.replaceChildren(calendar.cloneNode(true)))
    .catch((error) => slot.replaceChildren(h("p", { class: "hint" }, `History unavailable: ${error.message}`)));
  return slot;
}

async function complete(goal, completed, view) {
  const ok = await attempt(view.treeSection, async () => {
    await api("PATCH", `/goals/${goal.id}`, { completed });
    announce(`${completed ? "Completed" : "Reopened"} ${goal.name}`);
  });
  if (ok) await view.reload(`#done-${goal.id}`);
  else draw(view); // back to what the server last said
}

function goalActions(goal, view, panel) {
  const menuId = `actions-${goal.id}`;
  const more = rowButton("Actions", `for ${goal.name}`, { "aria-expanded": "false", "aria-controls": menuId });
  const menu = h("div", { class: "actions goal-menu", id: menuId, hidden: true });
  const showMenu = (shown) => {
    menu.hidden = !shown;
    more.setAttribute("aria-expanded", String(shown));
  };
  more.addEventListener("click", () => showMenu(menu.hidden));
  // Escape closes the open menu and returns to its button, as a disclosure should.
  menu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    showMenu(false);
    more.focus();
  });
  const open = (form, focus) => {
    showMenu(false);
    panel.replaceChildren(form);
    focus.focus();
  };
  const cancel = () => h("button", { type: "button", onclick: () => (panel.replaceChildren(), more.focus()) }, "Cancel");
  const add = rowButton("Add sub-goal", `to ${goal.name}`);
  const move = rowButton("Move", `${goal.name} to another place`);
  const edit = rowButton("Edit", goal.name);
  const remove = rowButton("Delete", goal.name, { class: "danger" });

  add.addEventListener("click", () => {
    const name = h("input", { name: "name", autocomplete: "off" });
    const target = targetFields(null, view.sensors);
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `New sub-goal of ${goal.name}` },
      field("Sub-goal name", name, { pointer: "/name" }),
      target.element,
      h("button", { type: "submit", class: "primary" }, "Add sub-goal"),
      cancel(),
    );
    onSubmit(form, async () => {
      target.check();
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
      cancel(),
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
    const target = targetFields(goal.target, view.sensors);
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `Edit ${goal.name}` },
      field("Name", name, { pointer: "/name" }),
      field("Description", description, { pointer: "/description" }),
      target.element,
      h("button", { type: "submit", class: "primary" }, "Save"),
      cancel(),
    );
    onSubmit(form, async () => {
      target.check();
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
  menu.append(add, move, edit, remove);
  return h("div", { class: "goal-actions" }, more, menu);
}

function countDescendants(goal) {
  return (goal.children || []).reduce((sum, child) => sum + 1 + countDescendants(child), 0);
}
