// Request and app logs (GET /api/logs): filter in the records filter language, level, pages, one
// entry's data in a dialog, and deleting the matching entries (Satchel's DELETE /api/logs).
// Log messages hold client-sent paths: shown as text, like records.
import { request } from "./api.js";
import { h, nextId, notice } from "./dom.js";
import { logsChart } from "./logs_chart.js";
import { go, link } from "./router.js";

const PER_PAGE = 50;
const LEVELS = [["", "All levels"], ["-4", "Debug and up"], ["0", "Info and up"], ["4", "Warning and up"], ["8", "Errors"]];
const LEVEL_NAMES = { "-4": "DEBUG", 0: "INFO", 4: "WARN", 8: "ERROR" };

function showEntry(entry) {
  const opener = document.activeElement;
  const titleId = nextId("log");
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId });
  const close = () => { dialog.close(); dialog.remove(); if (opener && opener.focus) opener.focus(); };
  dialog.append(
    h("h2", { id: titleId }, `Log entry ${entry.id}`),
    h("dl", { class: "facts" },
      h("dt", {}, "Created"), h("dd", {}, entry.created),
      h("dt", {}, "Level"), h("dd", {}, LEVEL_NAMES[entry.level] || String(entry.level)),
      h("dt", {}, "Message"), h("dd", {}, entry.message)),
    h("pre", { class: "mono log-data", tabindex: 0 }, JSON.stringify(entry.data, null, 2)),
    h("button", { type: "button", class: "btn", onclick: close }, "Close"));
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(); });
  document.body.append(dialog);
  dialog.showModal();
}

export async function logsPage(root, route) {
  const q = route.query;
  const state = { page: Math.max(1, Number(q.get("page")) || 1), filter: q.get("filter") || "", level: q.get("level") || "" };
  const url = (changes) => {
    const next = { ...state, ...changes };
    const params = new URLSearchParams();
    for (const key of ["page", "filter", "level"]) if (next[key] && !(key === "page" && next.page === 1)) params.set(key, String(next[key]));
    return `/logs?${params}`;
  };
  const search = h("input", { type: "search", value: state.filter, class: "mono", id: nextId("lf"), placeholder: 'e.g. data.status >= 400 && data.method = "POST"' });
  const level = h("select", { id: nextId("ll") }, LEVELS.map(([v, l]) => h("option", { value: v, selected: v === state.level }, l)));
  const status = h("div", { class: "status" });
  const tbody = h("tbody");
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const chart = logsChart();
  root.append(
    h("h1", {}, "Logs"),
    h("form", { role: "search", class: "search toolbar", onsubmit: (e) => { e.preventDefault(); go(url({ filter: search.value.trim(), level: level.value, page: 1 })); } },
      h("label", { for: search.id }, "Filter"), search,
      h("label", { for: level.id }, "Level"), level,
      h("button", { type: "submit", class: "btn" }, "Apply")),
    status,
    chart.figure,
    h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("caption", { class: "sr-only" }, "Log entries, newest first"),
      h("thead", {}, h("tr", {}, ["Created", "Level", "Message", ""].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    pager,
  );
  const filters = [state.filter && `(${state.filter})`, state.level && `level >= ${Number(state.level)}`].filter(Boolean).join(" && ");
  let result = { items: [], page: 1, totalPages: 1, totalItems: 0 };
  const stats = request("GET", "/api/logs/stats", { query: { filter: filters } })
    .then((points) => chart.show(points), (error) => chart.fail(`No chart: ${error.message}`));
  try {
    result = await request("GET", "/api/logs", { query: { page: state.page, perPage: PER_PAGE, sort: "-created", filter: filters } });
  } catch (error) {
    status.append(notice(`Could not list logs: ${error.message}`, "error"));
  }
  if (result.totalItems > 0) {
    const scope = filters ? "the entries matching this filter" : "every log entry";
    status.after(h("div", { class: "actions" }, h("button", {
      type: "button",
      class: "btn btn-danger",
      onclick: async () => {
        if (!window.confirm(`Delete ${scope} (${result.totalItems})?`)) return;
        try {
          await request("DELETE", "/api/logs", { query: { filter: filters } });
          go(url({ page: 1 }));
        } catch (error) {
          status.replaceChildren(notice(error.message, "error"));
        }
      },
    }, filters ? "Delete matching entries" : "Delete all entries")));
  }
  tbody.replaceChildren(...result.items.map((entry) => h("tr", {},
    h("td", {}, entry.created),
    h("td", { "data-level": String(entry.level) }, LEVEL_NAMES[entry.level] || String(entry.level)),
    h("td", {}, h("span", { class: "cell-text" }, entry.message)),
    h("td", {}, h("button", { type: "button", class: "btn btn-small", onclick: () => showEntry(entry) }, "Details", h("span", { class: "sr-only" }, ` of ${entry.id}`))))));
  await stats;
  pager.append(
    h("span", {}, `${result.totalItems} entries, page ${result.page} of ${Math.max(1, result.totalPages)}`),
    ...(result.page > 1 ? [h("a", { class: "btn btn-small", href: link(url({ page: result.page - 1 })) }, "Previous page")] : []),
    ...(result.page < result.totalPages ? [h("a", { class: "btn btn-small", href: link(url({ page: result.page + 1 })) }, "Next page")] : []),
  );
}
