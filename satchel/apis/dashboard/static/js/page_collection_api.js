// #/collections/<name>/api: how to call this collection's API, generated from the live collection
// (api_docs.js): one tab per operation, with copyable JS and Dart SDK snippets.
import { request } from "./api.js";
import { operations } from "./api_docs.js";
import { copyText } from "./clipboard.js";
import { h, nextId } from "./dom.js";
import { link } from "./router.js";

/** Text with `code` spans (the notes in api_docs.js), as text and <code> nodes. */
function rich(text) {
  return String(text || "").split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part));
}

function ruleView(r) {
  let shown;
  if (r.value === null) shown = h("span", { class: "rule-state" }, "Superusers only (no rule)");
  else if (r.value.trim() === "") shown = h("span", { class: "rule-state" }, "Everyone (empty rule)");
  else shown = h("code", { class: "rule-text mono" }, r.value);
  return [h("dt", {}, rich(r.label)), h("dd", {}, shown)];
}

function paramsTable(caption, rows, withRequired) {
  return h("div", { class: "table-wrap" }, h("table", { class: "table params" },
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, ["Name", "Type", ...(withRequired ? ["Required"] : []), "Notes"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((p) => h("tr", {},
      h("td", {}, h("code", {}, p.name)), h("td", {}, p.type),
      withRequired ? h("td", {}, p.required ? "yes" : "no") : null,
      h("td", {}, rich(p.note)))))));
}

function codeBlock(title, text, status) {
  const pre = h("pre", { class: "mono", tabindex: 0 }, h("code", {}, text));
  const headingId = nextId("code");
  pre.setAttribute("aria-labelledby", headingId);
  const copy = h("button", {
    type: "button", class: "btn btn-small",
    onclick: async () => { status.textContent = ""; status.textContent = `${title}: ${await copyText(text, pre)}`; },
  }, "Copy", h("span", { class: "sr-only" }, ` ${title}`));
  return h("div", { class: "code-block" }, h("div", { class: "code-head" }, h("h3", { id: headingId }, title), copy), pre);
}

function panelContent(op, status) {
  const parts = [
    h("h2", {}, op.title),
    h("p", { class: "endpoint" }, h("span", { class: `method method-${op.method}` }, op.method), h("code", {}, op.path)),
    ...(op.extra || []).map(([method, path]) => h("p", { class: "endpoint" }, h("span", { class: `method method-${method}` }, method), h("code", {}, path))),
  ];
  if (op.note) parts.push(h("p", { class: "hint" }, rich(op.note)));
  parts.push(h("h3", {}, "Rules"));
  parts.push(op.rules.length ? h("dl", { class: "facts" }, op.rules.map(ruleView)) : h("p", {}, "None."));
  if (op.query.length) parts.push(h("h3", {}, "Query parameters"), paramsTable(`${op.title}: query parameters`, op.query, false));
  if (op.body.length || op.bodyNote) {
    parts.push(h("h3", {}, "Body"));
    if (op.bodyNote) parts.push(h("p", { class: "hint" }, rich(op.bodyNote)));
    if (op.body.length) parts.push(paramsTable(`${op.title}: body parameters`, op.body, true));
  }
  parts.push(h("h3", {}, "Response"));
  if (op.responseNote) parts.push(h("p", {}, rich(op.responseNote)));
  if (op.response !== null) parts.push(h("pre", { class: "mono log-data", tabindex: 0, "aria-label": `${op.title}: response example` }, JSON.stringify(op.response, null, 2)));
  parts.push(codeBlock("JavaScript SDK", op.js, status), codeBlock("Dart SDK", op.dart, status));
  return parts;
}

export async function collectionApiPage(root, route) {
  const collection = await request("GET", `/api/collections/${encodeURIComponent(route.params.name)}`);
  const ops = operations(collection, window.location.origin);
  const wanted = route.query.get("op");
  let current = Math.max(0, ops.findIndex((op) => op.id === wanted));
  const status = h("p", { class: "sr-only", role: "status" });
  const panel = h("div", { class: "card", role: "tabpanel", tabindex: 0 });
  const tabs = ops.map((op, i) => h("button", {
    type: "button", role: "tab", class: "tab", id: `tab-${op.id}`, "aria-controls": "api-panel",
    onclick: () => select(i, false),
    onkeydown: (event) => {
      const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: ops.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      select((moves[event.key] + ops.length) % ops.length, true);
    },
  }, op.title));
  panel.id = "api-panel";
  function select(i, focus) {
    current = i;
    tabs.forEach((tab, j) => {
      tab.setAttribute("aria-selected", j === i ? "true" : "false");
      tab.tabIndex = j === i ? 0 : -1;
    });
    panel.setAttribute("aria-labelledby", tabs[i].id);
    panel.replaceChildren(...panelContent(ops[i], status));
    if (focus) tabs[i].focus();
    // bookmarkable without a hashchange (which would redraw the page)
    const path = `/collections/${encodeURIComponent(collection.name)}/api${i ? `?op=${ops[i].id}` : ""}`;
    window.history.replaceState(null, "", link(path));
  }
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, `API preview: ${collection.name}`),
      h("div", { class: "actions" },
        h("a", { class: "btn", href: link(`/collections/${encodeURIComponent(collection.name)}`) }, "Records"))),
    h("p", { class: "hint" }, `Generated from the collection as saved (${collection.type}). Base URL: ${window.location.origin}`),
    h("div", { class: "tabs", role: "tablist", "aria-label": "Operations" }, tabs),
    panel,
    status,
  );
  select(current, false);
}
