// The collections list, with export (JSON download) and import (PUT /api/collections/import).
import { request } from "./api.js";
import { appMeta } from "./app_meta.js";
import { field, h, notice } from "./dom.js";
import { link } from "./router.js";

export async function listCollections() {
  const result = await request("GET", "/api/collections", { query: { perPage: 500, sort: "name" } });
  return result.items;
}

function download(name, data) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function importForm(status, reload) {
  const file = h("input", { type: "file", accept: "application/json,.json", required: true });
  const deleteMissing = h("input", { type: "checkbox", name: "deleteMissing" });
  return h(
    "details",
    { class: "card" },
    h("summary", {}, "Import collections"),
    h(
      "form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          status.replaceChildren();
          try {
            const collections = JSON.parse(await file.files[0].text());
            await request("PUT", "/api/collections/import", { body: { collections, deleteMissing: deleteMissing.checked } });
            status.append(notice("Collections imported.", "success"));
            reload();
          } catch (error) {
            status.append(notice(`Import failed: ${error.message}`, "error"));
          }
        },
      },
      field("JSON file (an export from here or from PocketBase)", file),
      h("div", { class: "check" }, deleteMissing, h("label", { for: (deleteMissing.id = "import-delete-missing") }, "Delete collections missing from the file")),
      h("button", { type: "submit", class: "btn" }, "Import"),
    ),
  );
}

export async function collectionsPage(root) {
  const locked = (await appMeta()).hideControls === true;
  const status = h("div", { class: "status" });
  const tbody = h("tbody");
  let current = [];
  const reload = async () => {
    try {
      current = await listCollections();
    } catch (error) {
      status.append(notice(error.message, "error"));
      return;
    }
    tbody.replaceChildren(
      ...current.map((c) =>
        h("tr", {},
          h("th", { scope: "row" }, h("a", { href: link(`/collections/${encodeURIComponent(c.name)}`) }, c.name)),
          h("td", {}, c.type),
          h("td", {}, String(c.fields.length)),
          h("td", {}, c.system ? "system" : ""),
        ),
      ),
    );
  };
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, "Collections"),
      h("div", { class: "actions" },
        locked ? null : h("a", { class: "btn btn-primary", href: link("/collections/new") }, "New collection"),
        h("button", { type: "button", class: "btn", onclick: () => download("collections.json", current) }, "Export JSON"),
      ),
    ),
    status,
    h("div", { class: "table-wrap" },
      h("table", { class: "table" },
        h("caption", { class: "sr-only" }, "All collections"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Fields"), h("th", { scope: "col" }, ""))),
        tbody,
      ),
    ),
    locked ? null : importForm(status, reload),
  );
  await reload();
}
