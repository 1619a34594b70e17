// The docs page: loads /api/openapi.json (with the dashboard's superuser token when signed in
// there, so superusers see every route) and renders it with Swagger UI when its files are
// installed, or as a plain list of operations otherwise. No inline script: the CSP forbids it.
"use strict";

(function () {
  const AUTH_KEY = "__pb_superuser_auth__"; // where the dashboard (/_/) keeps its token

  function savedToken() {
    try {
      const saved = JSON.parse(localStorage.getItem(AUTH_KEY) || "null");
      return saved && typeof saved.token === "string" ? saved.token : "";
    } catch (_) {
      return "";
    }
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function plainList(root, spec) {
    // grouped by tag, in document order
    const groups = new Map();
    for (const [path, ops] of Object.entries(spec.paths || {})) {
      for (const [method, op] of Object.entries(ops)) {
        const tag = (op.tags && op.tags[0]) || "other";
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push([method, path, op.summary || ""]);
      }
    }
    const box = el("div", "docs-plain");
    box.appendChild(el("h1", "", spec.info.title));
    for (const [tag, ops] of groups) {
      box.appendChild(el("h2", "", tag));
      const list = el("ul");
      for (const [method, path, summary] of ops) {
        const item = el("li", "opblock-summary-path");
        item.appendChild(el("span", "method", method.toUpperCase()));
        item.appendChild(el("span", "path", path));
        item.appendChild(el("span", "summary", summary));
        list.appendChild(item);
      }
      box.appendChild(list);
    }
    root.replaceChildren(box);
  }

  async function start() {
    const root = document.getElementById("swagger-ui");
    const token = savedToken();
    let spec;
    try {
      const response = await fetch("/api/openapi.json", { headers: token ? { Authorization: token } : {} });
      if (!response.ok) throw new Error("HTTP " + response.status);
      spec = await response.json();
    } catch (err) {
      root.replaceChildren(el("p", "docs-error", "Could not load /api/openapi.json: " + err.message));
      return;
    }
    const audience = document.getElementById("docs-audience");
    audience.textContent = token ? "signed in as a superuser (dashboard session)" : "public view";
    if (typeof window.SwaggerUIBundle !== "function") {
      plainList(root, spec);
      return;
    }
    root.replaceChildren();
    window.ui = window.SwaggerUIBundle({
      spec: spec,
      domNode: root,
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      persistAuthorization: false,
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
