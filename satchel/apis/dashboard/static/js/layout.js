// The signed-in frame: navigation (collections, settings), sign-out, and the main region.
import { auth } from "./api.js";
import { forgetAppMeta } from "./app_meta.js";
import { h } from "./dom.js";
import { go, link } from "./router.js";

const NAV = [
  { path: "/collections", label: "Collections", active: ["collections", "collection", "newCollection", "collectionSettings", "collectionApi"] },
  { path: "/logs", label: "Logs", active: ["logs"] },
  { path: "/webhooks", label: "Webhooks", active: ["webhooks", "newWebhook", "webhook"] },
  { path: "/superusers", label: "Superusers", active: ["superusers"] },
  { path: "/settings", label: "Settings", active: ["settings", "mailSettings", "storageSettings", "backupsSettings", "rateLimitsSettings", "logsSettings", "cronsSettings"] },
];

export function layout(root, route) {
  const who = auth.get()?.record?.email || "";
  const signOut = h("button", { type: "button", class: "btn btn-ghost", onclick: () => { auth.clear(); forgetAppMeta(); go("/login"); } }, "Sign out");
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Main" },
    h("ul", {}, NAV.map((item) =>
      h("li", {}, h("a", { href: link(item.path), "aria-current": item.active.includes(route.name) ? "page" : null }, item.label)),
    )),
  );
  const main = h("main", { id: "main", class: "main" });
  root.append(
    h("header", { class: "topbar" },
      h("a", { class: "brand", href: link("/collections") }, "Satchel"),
      nav,
      h("div", { class: "account" }, h("span", { class: "who", title: who }, who), signOut),
    ),
    main,
  );
  return main;
}
