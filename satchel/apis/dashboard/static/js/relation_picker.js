// The record editor's relation control: search the related collection (its presentable fields, or
// its text fields when none is marked, and the id) and page through any number of its records;
// radios for a single relation, checkboxes up to `maxSelect` for a multiple one. The chosen
// records stay listed above the results, whatever page is shown.
import { collectionPath, request } from "./api.js";
import { h, nextId } from "./dom.js";

const PER_PAGE = 20;
const TEXTUAL = new Set(["text", "email", "url", "editor"]);
const ID_CHUNK = 20;

/** A filter literal: the text in double quotes, with PocketBase's escapes. */
export function quoted(text) {
  return `"${String(text).replace(/\0/g, "").replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The fields a record of `collection` is shown by: its presentable ones, else its first text fields. */
export function labelFields(collection) {
  const usable = collection.fields.filter((f) => TEXTUAL.has(f.type) && !f.hidden && f.name !== "id");
  const presentable = usable.filter((f) => f.presentable);
  return (presentable.length ? presentable : usable).slice(0, 3).map((f) => f.name);
}

export function labelOf(record, names) {
  const parts = names.map((n) => record[n]).filter((v) => typeof v === "string" && v);
  return parts.length ? `${parts.join(" · ")} (${record.id})` : record.id;
}

async function labelsFor(base, ids, names) {
  const found = new Map();
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const chunk = ids.slice(i, i + ID_CHUNK);
    try {
      const result = await request("GET", base, { query: { perPage: chunk.length, skipTotal: 1, filter: chunk.map((id) => `id=${quoted(id)}`).join(" || ") } });
      result.items.forEach((r) => found.set(r.id, labelOf(r, names)));
    } catch {
      // unreadable: the ids are shown as they are
    }
  }
  return new Map(ids.map((id) => [id, found.get(id) || id]));
}

/** [wrapper (with setError), read(formData, json)] for relation field `f` holding `value`. */
export async function relationPicker(f, value) {
  const multi = (f.maxSelect || 1) > 1;
  const max = multi ? f.maxSelect : 1;
  const target = await request("GET", collectionPath(f.collectionId));
  const names = labelFields(target);
  const base = `${collectionPath(target.name)}/records`;
  const initial = Array.isArray(value) ? value : value ? [value] : [];
  const chosen = await labelsFor(base, initial, names); // id -> label, in the order chosen
  const state = { page: 1, q: "" };

  const id = nextId("rel");
  const errorEl = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  const hint = h("p", { class: "hint", id: `${id}-hint` }, multi ? `Pick up to ${max} records of ${target.name}.` : `Pick one record of ${target.name}.`);
  const chosenList = h("ul", { class: "chosen", "aria-label": `Chosen for ${f.name}` });
  const search = h("input", { type: "search", id: `${id}-q`, placeholder: names.length ? `${names.join(", ")} or id` : "id", "aria-describedby": `${id}-hint ${id}-error` });
  const results = h("div", { class: "relation-results", role: "group", "aria-label": `${target.name} records` });
  const pager = h("div", { class: "pager" });

  const drawChosen = () => {
    chosenList.replaceChildren(...[...chosen].map(([rid, label]) => h("li", {},
      h("span", { class: "cell-text" }, label),
      h("button", { type: "button", class: "btn btn-small", onclick: () => { chosen.delete(rid); drawChosen(); load(); } },
        "Remove", h("span", { class: "sr-only" }, ` ${label}`)))));
    if (!chosen.size) chosenList.append(h("li", { class: "hint" }, "Nothing chosen."));
  };
  const pick = (record, box) => {
    const checked = box.checked;
    if (!multi) chosen.clear();
    if (checked) {
      if (chosen.size >= max) {
        box.checked = false; // at once: the alert below never shows beside a ticked box
        wrap.setError(`At most ${max} records.`);
        return;
      }
      chosen.set(record.id, labelOf(record, names));
    } else {
      chosen.delete(record.id);
    }
    wrap.setError("");
    drawChosen();
  };
  async function load() {
    const words = state.q.trim();
    const filter = words ? ["id", ...names].map((n) => `${n} ~ ${quoted(words)}`).join(" || ") : "";
    let result = { items: [], page: 1, totalPages: 0, totalItems: 0 };
    try {
      result = await request("GET", base, { query: { page: state.page, perPage: PER_PAGE, filter, sort: names[0] || "id" } });
    } catch (error) {
      wrap.setError(`Could not list ${target.name}: ${error.message}`);
    }
    const group = `${id}-pick`;
    results.replaceChildren(...result.items.map((record) => {
      const box = h("input", { type: multi ? "checkbox" : "radio", name: group, id: nextId("pick"), value: record.id, checked: chosen.has(record.id), onchange: () => pick(record, box) });
      return h("div", { class: "check" }, box, h("label", { for: box.id }, labelOf(record, names)));
    }));
    if (!result.items.length) results.append(h("p", { class: "hint" }, words ? "No record matches." : "No records."));
    const turn = (label, page) => h("button", { type: "button", class: "btn btn-small", onclick: () => { state.page = page; load(); } }, label, h("span", { class: "sr-only" }, ` of ${f.name}`));
    pager.replaceChildren(
      h("span", {}, `${result.totalItems} records, page ${result.page} of ${Math.max(1, result.totalPages)}`),
      ...(result.page > 1 ? [turn("Previous", result.page - 1)] : []),
      ...(result.page < result.totalPages ? [turn("Next", result.page + 1)] : []),
    );
  }
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { // the editor's form must not submit: this searches
      event.preventDefault();
      state.q = search.value;
      state.page = 1;
      load();
    }
  });
  search.addEventListener("search", () => { // also the clear button of the box
    if (search.value === state.q) return;
    state.q = search.value;
    state.page = 1;
    load();
  });

  const wrap = h("fieldset", { class: "relation" },
    h("legend", {}, f.name),
    hint,
    chosenList,
    h("div", { class: "relation-search" },
      h("label", { for: search.id }, `Search ${f.name}`), search,
      h("button", { type: "button", class: "btn btn-small", onclick: () => { state.q = search.value; state.page = 1; load(); } }, "Search", h("span", { class: "sr-only" }, ` ${f.name}`))),
    results,
    pager,
    errorEl);
  wrap.setError = (message) => {
    errorEl.textContent = message || "";
    errorEl.hidden = !message;
    if (message) search.setAttribute("aria-invalid", "true");
    else search.removeAttribute("aria-invalid");
  };
  drawChosen();
  await load();
  return [wrap, (fd, json) => {
    const ids = [...chosen.keys()];
    json[f.name] = multi ? ids : ids[0] || "";
  }];
}
