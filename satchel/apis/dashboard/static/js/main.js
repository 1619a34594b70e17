// Boot: pick the page for the hash, behind sign-in unless the page is public.
import { auth } from "./api.js";
import { clear, h, notice } from "./dom.js";
import { layout } from "./layout.js";
import { go, parse } from "./router.js";
import { collectionsPage } from "./page_collections.js";
import { collectionPage } from "./page_records.js";
import { collectionEditor } from "./page_collection_edit.js";
import { collectionApiPage } from "./page_collection_api.js";
import { installPage } from "./page_install.js";
import { logsPage } from "./page_logs.js";
import { settingsPage } from "./page_settings.js";
import { backupsSettingsPage } from "./page_settings_backups.js";
import { mailSettingsPage } from "./page_settings_mail.js";
import { cronsSettingsPage, logsSettingsPage } from "./page_settings_logs.js";
import { rateLimitsSettingsPage } from "./page_settings_ratelimits.js";
import { storageSettingsPage } from "./page_settings_storage.js";
import { signinPage } from "./page_signin.js";
import { superusersPage } from "./page_superusers.js";
import { newWebhookPage, webhookPage, webhooksPage } from "./page_webhooks.js";

const PAGES = {
  signin: signinPage,
  install: installPage,
  collections: collectionsPage,
  newCollection: collectionEditor,
  collectionSettings: collectionEditor,
  collection: collectionPage,
  collectionApi: collectionApiPage,
  logs: logsPage,
  settings: settingsPage,
  mailSettings: mailSettingsPage,
  storageSettings: storageSettingsPage,
  backupsSettings: backupsSettingsPage,
  rateLimitsSettings: rateLimitsSettingsPage,
  logsSettings: logsSettingsPage,
  cronsSettings: cronsSettingsPage,
  webhooks: webhooksPage,
  newWebhook: newWebhookPage,
  webhook: webhookPage,
  superusers: superusersPage,
};

const root = document.getElementById("app");

async function render() {
  const route = parse(window.location.hash);
  if (!route.public && !auth.get()) {
    go("/login");
    return;
  }
  if (route.name === "signin" && auth.get()) {
    go("/collections");
    return;
  }
  const page = PAGES[route.name];
  clear(root);
  const main = route.public ? root : layout(root, route);
  try {
    await page(main, route);
  } catch (error) {
    if (!auth.get()) {
      go("/login"); // the token expired or was revoked
      return;
    }
    main.replaceChildren(h("h1", {}, error.status === 404 ? "Not found" : "Something went wrong"), notice(error.message || String(error), "error"));
  }
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

window.addEventListener("hashchange", () => render());
render();
