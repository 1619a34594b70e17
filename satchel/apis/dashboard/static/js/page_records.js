// One collection's records: filter (PocketBase's filter language), sort by column, pages,
// a column picker, bulk delete, and the record editor.
import { collectionPath, request } from "./api.js";
import { appMeta } from "./app_meta.js";
import { append, clear, h, nextId, notice } from "./dom.js";
import { openEditor } from "./record_editor.js";
import { labelFields } from "./relation_picker.js";
import { go, link } from "./router.js";

const PER_PAGE = 20;

/** A cell's text: every value goes in as text, whatever it contains. */
export function cellText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function thumbnail(collection, record, name, token) {
  if (!/\.(png|jpe?g|gif|webp)$/i.test(name)) return h("span", { class: "file-name" }, name);
  const query = new URLSearchParams({ thumb: "100x100" });
  if (token) query.set("token", token); // a protected file's field: a short-lived file token
  const src = `/api/files/${encodeURIComponent(collection.id)}/${encodeURIComponent(record.id)}/${encodeURIComponent(name)}?${query}`;
  return h("img", { class: "thumb", src, alt: name, width: 32, height: 32 });
}

/** Related records as chips: the presentable fields of each expanded record (its id when it was
 * not expanded: deleted, or not viewable), the id in the tooltip. */
function relationChips(record, f, labels) {
  const ids = Array.isArray(record[f.name]) ? record[f.name] : record[f.name] ? [record[f.name]] : [];
  const expanded = (record.expand || {})[f.name];
  const byId = new Map((Array.isArray(expanded) ? expanded : expanded ? [expanded] : []).map((r) => [r.id, r]));
  const names = labels.get(f.name) || [];
  return ids.map((id) => {
    const related = byId.get(id);
    const parts = related ? names.map((n) => related[n]).filter((v) => typeof v === "string" && v) : [];
    return h("span", { class: "rel-chip", title: id }, parts.length ? parts.join(" · ") : id);
  });
}

function cell(collection, record, f, labels, fileToken) {
  const value = record[f.name];
  const attrs = { "data-field": f.name };
  if (f.type === "relation") return h("td", attrs, relationChips(record, f, labels));
  if (f.type === "file") {
    const names = Array.isArray(value) ? value : value ? [value] : [];
    return h("td", attrs, names.map((n) => thumbnail(collection, record, n, f.protected ? fileToken : "")));
  }
  if (f.type === "bool") return h("td", attrs, value ? "true" : "false");
  return h("td", attrs, h("span", { class: "cell-text" }, cellText(value)));
}

export async function collectionPage(root, route) {
  const [collection, meta] = await Promise.all([request("GET", collectionPath(route.params.name)), appMeta()]);
  const query = route.query;
  const state = {
    page: Math.max(1, Number(query.get("page")) || 1),
    // newest first when the collection has a `created` field (PocketBase's default collections do)
    sort: query.get("sort") ?? (collection.fields.some((f) => f.name === "created") ? "-created" : ""),
    filter: query.get("filter") || "",
  };
  // autodate columns (created, updated) last, as PocketBase's dashboard shows them
  const shownFields = collection.fields.filter((f) => !f.hidden && f.type !== "password");
  const fields = [...shownFields.filter((f) => f.type !== "autodate"), ...shownFields.filter((f) => f.type === "autodate")];
  const visible = new Set(fields.slice(0, 8).map((f) => f.name));
  // relations are listed expanded, shown by the related collection's presentable fields
  const relations = fields.filter((f) => f.type === "relation");
  const labels = new Map(await Promise.all(relations.map(async (f) => {
    try {
      return [f.name, labelFields(await request("GET", collectionPath(f.collectionId)))];
    } catch {
      return [f.name, []]; // the related collection is gone: ids are shown
    }
  })));
  const selected = new Set();
  const status = h("div", { class: "status" });
  const table = h("table", { class: "table" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const bulk = h("button", { type: "button", class: "btn btn-danger", hidden: true }, "Delete selected");

  const url = (changes) => {
    const next = { ...state, ...changes };
    const params = new URLSearchParams();
    if (next.page > 1) params.set("page", String(next.page));
    if (next.sort) params.set("sort", next.sort);
    if (next.filter) params.set("filter", next.filter);
    return `/collections/${encodeURIComponent(collection.name)}?${params}`;
  };

  const search = h("input", { type: "search", name: "filter", value: state.filter, class: "mono", placeholder: 'e.g. title ~ "hello" && created > "2024-01-01"' });
  const searchId = nextId("filter");
  search.id = searchId;
  const searchForm = h("form", { role: "search", class: "search", onsubmit: (e) => { e.preventDefault(); go(url({ filter: search.value.trim(), page: 1 })); } },
    h("label", { for: searchId }, "Filter"), search, h("button", { type: "submit", class: "btn" }, "Apply"));

  const picker = h("details", { class: "picker" }, h("summary", {}, "Columns"),
    h("fieldset", {}, h("legend", { class: "sr-only" }, "Shown columns"), fields.map((f) => {
      const box = h("input", { type: "checkbox", id: nextId("col"), checked: visible.has(f.name), onchange: () => { if (box.checked) visible.add(f.name); else visible.delete(f.name); draw(); } });
      return h("div", { class: "check" }, box, h("label", { for: box.id }, f.name));
    })));

  let result = { items: [], page: 1, totalPages: 1, totalItems: 0 };
  let fileToken = "";
  const sortButton = (f) => {
    const dir = state.sort === f.name ? "ascending" : state.sort === `-${f.name}` ? "descending" : null;
    const next = dir === "ascending" ? `-${f.name}` : f.name;
    return h("th", { scope: "col", "aria-sort": dir || "none" },
      h("a", { class: "sort", href: link(url({ sort: next, page: 1 })) }, f.name, dir ? (dir === "ascending" ? " ▲" : " ▼") : ""));
  };
  const readOnly = collection.type === "view"; // a view's records are never created, changed or deleted
  const draw = () => {
    const shown = fields.filter((f) => visible.has(f.name));
    const all = h("input", { type: "checkbox", "aria-label": "Select all on this page", checked: result.items.length > 0 && result.items.every((r) => selected.has(r.id)),
      onchange: () => { result.items.forEach((r) => (all.checked ? selected.add(r.id) : selected.delete(r.id))); draw(); } });
    table.replaceChildren(
      h("caption", { class: "sr-only" }, `Records of ${collection.name}`),
      h("thead", {}, h("tr", {}, readOnly ? null : h("th", { scope: "col" }, all), shown.map(sortButton),
        readOnly ? null : h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, result.items.map((record) => {
        const box = h("input", { type: "checkbox", "aria-label": `Select record ${record.id}`, checked: selected.has(record.id),
          onchange: () => { if (box.checked) selected.add(record.id); else selected.delete(record.id); bulk.hidden = selected.size === 0; } });
        return h("tr", {}, readOnly ? null : h("td", {}, box), shown.map((f) => cell(collection, record, f, labels, fileToken)),
          readOnly ? null : h("td", {}, h("button", { type: "button", class: "btn btn-small", onclick: () => openEditor(collection, record, load) }, "Edit", h("span", { class: "sr-only" }, ` record ${record.id}`))));
      })),
    );
    bulk.hidden = selected.size === 0;
    append(clear(pager), [
      h("span", {}, `${result.totalItems} records, page ${result.page} of ${Math.max(1, result.totalPages)}`),
      result.page > 1 ? h("a", { class: "btn btn-small", href: link(url({ page: result.page - 1 })) }, "Previous page") : null,
      result.page < result.totalPages ? h("a", { class: "btn btn-small", href: link(url({ page: result.page + 1 })) }, "Next page") : null,
    ]);
  };
  async function load() {
    status.replaceChildren();
    try {
      if (fields.some((f) => f.type === "file" && f.protected)) fileToken = (await request("POST", "/api/files/token")).token;
      result = await request("GET", `${collectionPath(collection.name)}/records`, { query: { page: state.page, perPage: PER_PAGE, sort: state.sort, filter: state.filter, expand: relations.map((f) => f.name).join(",") } });
    } catch (error) {
      result = { items: [], page: 1, totalPages: 1, totalItems: 0 };
      status.append(notice(`Could not list records: ${error.message}`, "error"));
    }
    draw();
  }
  bulk.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${selected.size} records?`)) return;
    const failed = [];
    for (const id of selected) {
      try {
        await request("DELETE", `${collectionPath(collection.name)}/records/${encodeURIComponent(id)}`);
      } catch (error) {
        failed.push(`${id}: ${error.message}`);
      }
    }
    selected.clear();
    await load();
    if (failed.length) status.append(notice(`Not deleted: ${failed.join("; ")}`, "error"));
  });

  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, collection.name),
      h("div", { class: "actions" },
        !readOnly ? h("button", { type: "button", class: "btn btn-primary", onclick: () => openEditor(collection, null, load) }, "New record") : null,
        meta.hideControls === true ? null : h("a", { class: "btn", href: link(`/collections/${encodeURIComponent(collection.name)}/edit`) }, "Edit collection"),
        h("a", { class: "btn", href: link(`/collections/${encodeURIComponent(collection.name)}/api`) }, "API preview"),
      ),
    ),
    h("div", { class: "toolbar" }, searchForm, picker, bulk),
    status,
    h("div", { class: "table-wrap" }, table),
    pager,
  );
  await load();
}
