// What the API preview shows for one collection, derived from the live collection: each operation's
// method and path, query parameters, body fields (from the field types), response shape, the rule
// that applies, and JS / Dart SDK snippets. Pure data: page_collection_api.js draws it.

const RECORD_ID = "RECORD_ID";
const SAMPLE_DATE = "2022-01-01 10:00:00.123Z";

/** One field as a body parameter: [type shown, sample value] (null: not sent in a body). */
function bodyType(f) {
  const many = (f.maxSelect || 0) > 1;
  switch (f.type) {
    case "text": return ["String", "test"];
    case "editor": return ["String (HTML)", "<p>test</p>"];
    case "email": return ["String (email)", "test@example.com"];
    case "url": return ["String (URL)", "https://example.com"];
    case "number": return ["Number", 123];
    case "bool": return ["Boolean", true];
    case "date": return ["String (date: YYYY-MM-DD HH:MM:SS.sssZ)", SAMPLE_DATE];
    case "select": {
      const first = (f.values || [])[0] || "";
      return many ? [`Array<String> (of: ${(f.values || []).join(", ")})`, first ? [first] : []] : [`String (one of: ${(f.values || []).join(", ")})`, first];
    }
    case "relation": return many ? ["Array<String> (record ids)", ["RELATION_RECORD_ID"]] : ["String (record id)", "RELATION_RECORD_ID"];
    case "file": return many ? ["Array<File> (multipart)", null] : ["File (multipart)", null];
    case "json": return ["JSON (any value)", { a: 1 }];
    case "geoPoint": return ["Object {lon, lat}", { lon: 0, lat: 0 }];
    case "password": return ["String", "12345678"];
    default: return ["String", "test"];
  }
}

/** A sample value of a field in a response. */
function responseValue(f) {
  const many = (f.maxSelect || 0) > 1;
  switch (f.type) {
    case "autodate": case "date": return SAMPLE_DATE;
    case "file": return many ? ["filename.jpg"] : "filename.jpg";
    case "select": return bodyType(f)[1];
    default: return bodyType(f)[1];
  }
}

function writable(c) {
  return (c.fields || []).filter((f) => f.type !== "autodate" && !(f.system && ["id", "tokenKey"].includes(f.name)));
}

/** The record as the API returns it (hidden fields and passwords are never in it). */
export function sampleRecord(c) {
  const out = { collectionId: c.id, collectionName: c.name };
  for (const f of c.fields || []) {
    if (f.hidden || f.type === "password") continue;
    out[f.name] = f.name === "id" ? RECORD_ID : responseValue(f);
  }
  return out;
}

function bodyParams(c, { update = false } = {}) {
  const params = [];
  if (!update) params.push({ name: "id", type: "String", required: false, note: "15 characters; generated when left out" });
  for (const f of writable(c)) {
    if (f.name === "id") continue;
    if (f.type === "password") continue; // the auth fields below say it better
    const [type] = bodyType(f);
    let note = f.hidden ? "hidden: only superusers see it in responses" : "";
    if (update && (f.type === "number")) note = [note, `also \`${f.name}+\` / \`${f.name}-\` to add or subtract`].filter(Boolean).join("; ");
    if (update && (f.maxSelect || 0) > 1) note = [note, `also \`${f.name}+\` / \`${f.name}-\` to append or remove`].filter(Boolean).join("; ");
    params.push({ name: f.name, type, required: !update && !!f.required && f.type !== "bool", note });
  }
  if (c.type === "auth") {
    if (update) {
      params.push({ name: "oldPassword", type: "String", required: false, note: "needed to change the password, unless the caller passes the manage rule or is a superuser" });
    }
    params.push({ name: "password", type: "String", required: !update, note: "" },
      { name: "passwordConfirm", type: "String", required: !update, note: "must equal password" });
  }
  return params;
}

function sampleBody(c, { update = false } = {}) {
  const out = {};
  for (const f of writable(c)) {
    if (f.name === "id" || f.type === "file" || f.type === "password") continue;
    out[f.name] = bodyType(f)[1];
  }
  if (c.type === "auth") {
    if (update) out.oldPassword = "87654321";
    out.password = "12345678";
    out.passwordConfirm = "12345678";
  }
  return out;
}

const LIST_QUERY = [
  { name: "page", type: "Number", note: "default 1" },
  { name: "perPage", type: "Number", note: "default 30, at most 1000" },
  { name: "sort", type: "String", note: "e.g. `-created,id`; also `@random`, `@rowid`" },
  { name: "filter", type: "String", note: "e.g. `(id='abc' && created>'2022-01-01')`" },
  { name: "expand", type: "String", note: "relations to expand, e.g. `rel1,rel2.subrel`" },
  { name: "fields", type: "String", note: "fields to return, e.g. `*,expand.rel.name`; `:excerpt(200,true)`" },
  { name: "skipTotal", type: "Boolean", note: "skip counting totalItems / totalPages (faster)" },
];
const RECORD_QUERY = LIST_QUERY.slice(4, 6);

function rule(label, value) {
  return { label, value: value === undefined ? null : value };
}

function js(lines) {
  return lines.join("\n");
}

/**
 * Every operation of the collection: [{ id, title, method, path, query, body, bodyNote, response,
 * rules, js, dart, note }]. `origin` is the server's address for the snippets.
 */
export function operations(c, origin) {
  const base = `/api/collections/${c.name}`;
  const record = sampleRecord(c);
  const n = `'${c.name}'`;
  const head = {
    js: [`import PocketBase from 'pocketbase';`, "", `const pb = new PocketBase('${origin}');`, ""],
    dart: [`import 'package:pocketbase/pocketbase.dart';`, "", `final pb = PocketBase('${origin}');`, ""],
  };
  const json = (value) => JSON.stringify(value, null, 2);
  const hasFiles = writable(c).some((f) => f.type === "file");
  const ops = [];

  ops.push({
    id: "list", title: "List/Search", method: "GET", path: `${base}/records`, query: LIST_QUERY, body: [],
    response: { page: 1, perPage: 30, totalPages: 1, totalItems: 2, items: [record, { ...record, id: "RECORD_ID_2" }] },
    rules: [rule("List/Search rule", c.listRule)],
    note: "Records the rule does not match are left out (no error).",
    js: js([...head.js,
      "// a page of records",
      `const resultList = await pb.collection(${n}).getList(1, 50, {`, "  filter: 'created >= \"2022-01-01 00:00:00\"',", "});", "",
      "// every record, fetched in batches",
      `const records = await pb.collection(${n}).getFullList({ sort: '-created' });`, "",
      "// the first record matching a filter",
      `const record = await pb.collection(${n}).getFirstListItem('id != ""', { expand: '' });`]),
    dart: js([...head.dart,
      "// a page of records",
      `final resultList = await pb.collection(${n}).getList(`, "  page: 1,", "  perPage: 50,", "  filter: 'created >= \"2022-01-01 00:00:00\"',", ");", "",
      "// every record, fetched in batches",
      `final records = await pb.collection(${n}).getFullList(sort: '-created');`, "",
      "// the first record matching a filter",
      `final record = await pb.collection(${n}).getFirstListItem('id != ""', expand: '');`]),
  });
  ops.push({
    id: "view", title: "View", method: "GET", path: `${base}/records/:id`, query: RECORD_QUERY, body: [], response: record,
    rules: [rule("View rule", c.viewRule)], note: "A record the rule does not match answers 404.",
    js: js([...head.js, `const record = await pb.collection(${n}).getOne('${RECORD_ID}', {`, "  expand: '',", "});"]),
    dart: js([...head.dart, `final record = await pb.collection(${n}).getOne('${RECORD_ID}', expand: '');`]),
  });
  if (c.type !== "view") {
    for (const update of [false, true]) {
      const body = sampleBody(c, { update });
      const files = hasFiles ? writable(c).filter((f) => f.type === "file").map((f) => f.name) : [];
      ops.push({
        id: update ? "update" : "create", title: update ? "Update" : "Create",
        method: update ? "PATCH" : "POST", path: update ? `${base}/records/:id` : `${base}/records`,
        query: RECORD_QUERY, body: bodyParams(c, { update }),
        bodyNote: hasFiles ? "Send multipart/form-data when uploading files (the SDKs do it for you), else JSON." : "JSON or multipart/form-data.",
        response: record, rules: [rule(update ? "Update rule" : "Create rule", update ? c.updateRule : c.createRule),
          ...(update && c.type === "auth" ? [rule("Manage rule", c.manageRule)] : [])],
        note: update ? "Only the fields sent are changed." : "",
        js: js([...head.js, "// example data", `const data = ${json(body)};`, "",
          update ? `const record = await pb.collection(${n}).update('${RECORD_ID}', data);` : `const record = await pb.collection(${n}).create(data);`,
          ...files.map((f) => `// files: data.${f} = new File([...], 'file.txt') (or a FormData with the same keys)`)]),
        dart: js([...head.dart, "// example data", `final body = <String, dynamic>${json(body)};`, "",
          update ? `final record = await pb.collection(${n}).update('${RECORD_ID}', body: body);` : `final record = await pb.collection(${n}).create(body: body);`,
          ...files.map((f) => `// files: pass files: [http.MultipartFile.fromString('${f}', 'content', filename: 'file.txt')]`)]),
      });
    }
    ops.push({
      id: "delete", title: "Delete", method: "DELETE", path: `${base}/records/:id`, query: [], body: [], response: null,
      responseNote: "204 No Content", rules: [rule("Delete rule", c.deleteRule)], note: "",
      js: js([...head.js, `await pb.collection(${n}).delete('${RECORD_ID}');`]),
      dart: js([...head.dart, `await pb.collection(${n}).delete('${RECORD_ID}');`]),
    });
  }
  ops.push({
    id: "realtime", title: "Realtime", method: "SSE", path: "/api/realtime",
    query: [], body: [
      { name: "clientId", type: "String", required: true, note: "from the connection's first PB_CONNECT event" },
      { name: "subscriptions", type: "Array<String>", required: false, note: `\`${c.name}/*\` (every record) or \`${c.name}/${RECORD_ID}\`; \`?options={"query":{"expand":"..."}}\` may follow` },
    ],
    bodyNote: "Open GET /api/realtime (Server-Sent Events), then POST /api/realtime with the body below to choose the topics.",
    response: { action: "create", record },
    responseNote: "Each event (action: create, update or delete)",
    rules: [rule("List/Search rule (topic `*`)", c.listRule), rule("View rule (one record)", c.viewRule)],
    note: "Events are sent only for records the rule lets the subscriber see.",
    js: js([...head.js, "// every change in the collection",
      `pb.collection(${n}).subscribe('*', function (e) {`, "  console.log(e.action);", "  console.log(e.record);", "}, { /* expand, fields, headers... */ });", "",
      "// changes of one record",
      `pb.collection(${n}).subscribe('${RECORD_ID}', function (e) {`, "  console.log(e.action);", "  console.log(e.record);", "});", "",
      "// stop",
      `pb.collection(${n}).unsubscribe('${RECORD_ID}');`, `pb.collection(${n}).unsubscribe('*');`, `pb.collection(${n}).unsubscribe();`]),
    dart: js([...head.dart, "// every change in the collection",
      `pb.collection(${n}).subscribe('*', (e) {`, "  print(e.action);", "  print(e.record);", "});", "",
      "// changes of one record",
      `pb.collection(${n}).subscribe('${RECORD_ID}', (e) {`, "  print(e.action);", "  print(e.record);", "});", "",
      "// stop",
      `pb.collection(${n}).unsubscribe('${RECORD_ID}');`, `pb.collection(${n}).unsubscribe('*');`, `pb.collection(${n}).unsubscribe();`]),
  });
  if (c.type === "auth") ops.push(...authOperations(c, base, n, record, head));
  return ops;
}

function authOperations(c, base, n, record, head) {
  const opts = (group) => (c[group] || {}).enabled !== false;
  const authResponse = { token: "JWT_TOKEN", record };
  const authRule = rule("Auth rule", c.authRule);
  const mfa = (c.mfa || {}).enabled ? " MFA is on: the first method answers 401 with an `mfaId` to send with the second." : "";
  const identity = ((c.passwordAuth || {}).identityFields || ["email"]).join(", ");
  const disabled = (group) => (opts(group) ? "" : " Off in this collection's options.");
  return [
    {
      id: "auth-with-password", title: "Auth with password", method: "POST", path: `${base}/auth-with-password`,
      query: RECORD_QUERY, body: [
        { name: "identity", type: "String", required: true, note: `the value of one of: ${identity}` },
        { name: "password", type: "String", required: true, note: "" },
        { name: "identityField", type: "String", required: false, note: "to look the identity up in one field only" },
      ], response: authResponse, rules: [authRule],
      note: (disabled("passwordAuth") + mfa).trim(),
      js: js([...head.js, `const authData = await pb.collection(${n}).authWithPassword(`, "  'YOUR_USERNAME_OR_EMAIL',", "  'YOUR_PASSWORD',", ");", "",
        "// the token and record are kept in pb.authStore", "console.log(pb.authStore.isValid);", "console.log(pb.authStore.token);", "console.log(pb.authStore.record.id);", "", "// sign out", "pb.authStore.clear();"]),
      dart: js([...head.dart, `final authData = await pb.collection(${n}).authWithPassword(`, "  'YOUR_USERNAME_OR_EMAIL',", "  'YOUR_PASSWORD',", ");", "",
        "// the token and record are kept in pb.authStore", "print(pb.authStore.isValid);", "print(pb.authStore.token);", "print(pb.authStore.record.id);", "", "// sign out", "pb.authStore.clear();"]),
    },
    {
      id: "auth-with-oauth2", title: "Auth with OAuth2", method: "POST", path: `${base}/auth-with-oauth2`,
      query: RECORD_QUERY, body: [
        { name: "provider", type: "String", required: true, note: `one of the collection's providers: ${((c.oauth2 || {}).providers || []).map((p) => p.name).join(", ") || "none set up"}` },
        { name: "code", type: "String", required: true, note: "the authorization code the provider returned" },
        { name: "codeVerifier", type: "String", required: true, note: "the PKCE verifier (from GET auth-methods)" },
        { name: "redirectURL", type: "String", required: true, note: "the redirect URL used to get the code" },
        { name: "createData", type: "Object", required: false, note: "fields of a record created on first sign-in" },
      ], response: { ...authResponse, meta: { id: "abc123", name: "John Doe", email: "test@example.com", avatarURL: "https://example.com/avatar.png", isNew: false } },
      rules: [authRule], note: (`The providers and their auth URLs: GET ${base}/auth-methods.` + disabled("oauth2") + mfa).trim(),
      js: js([...head.js, "// opens a popup with the provider's page and waits for it (realtime)", `const authData = await pb.collection(${n}).authWithOAuth2({ provider: 'google' });`, "", "console.log(pb.authStore.record.id);"]),
      dart: js([...head.dart, "// import 'package:url_launcher/url_launcher.dart';", `final authData = await pb.collection(${n}).authWithOAuth2('google', (url) async {`, "  await launchUrl(url);", "});", "", "print(pb.authStore.record.id);"]),
    },
    {
      id: "auth-with-otp", title: "Auth with OTP", method: "POST", path: `${base}/auth-with-otp`,
      query: RECORD_QUERY, body: [
        { name: "otpId", type: "String", required: true, note: `from POST ${base}/request-otp with {"email": "..."}` },
        { name: "password", type: "String", required: true, note: "the one-time password sent by mail" },
      ], response: authResponse, rules: [authRule],
      note: (`First POST ${base}/request-otp {"email"} answers {"otpId"}.` + disabled("otp") + mfa).trim(),
      js: js([...head.js, "// sends the code by mail", `const result = await pb.collection(${n}).requestOTP('test@example.com');`, "", "// then, with the code the user typed", `const authData = await pb.collection(${n}).authWithOTP(result.otpId, 'YOUR_OTP');`]),
      dart: js([...head.dart, "// sends the code by mail", `final result = await pb.collection(${n}).requestOTP('test@example.com');`, "", "// then, with the code the user typed", `final authData = await pb.collection(${n}).authWithOTP(result.otpId, 'YOUR_OTP');`]),
    },
    {
      id: "auth-refresh", title: "Auth refresh", method: "POST", path: `${base}/auth-refresh`,
      query: RECORD_QUERY, body: [], bodyNote: "No body: send the current token in the Authorization header.",
      response: authResponse, rules: [authRule], note: "A new token for a still valid one of this collection.",
      js: js([...head.js, `const authData = await pb.collection(${n}).authRefresh();`, "", "console.log(pb.authStore.token);"]),
      dart: js([...head.dart, `final authData = await pb.collection(${n}).authRefresh();`, "", "print(pb.authStore.token);"]),
    },
    {
      id: "verification", title: "Verification", method: "POST", path: `${base}/request-verification`,
      extra: [["POST", `${base}/confirm-verification`]], query: [], body: [
        { name: "email", type: "String", required: true, note: "request-verification: where the link is sent" },
        { name: "token", type: "String", required: true, note: "confirm-verification: the token from the link" },
      ], response: null, responseNote: "204 No Content (both)", rules: [], note: "No rule: anyone may ask; only the mailbox owner gets the token.",
      js: js([...head.js, `await pb.collection(${n}).requestVerification('test@example.com');`, "", "// on the page the mail links to", `await pb.collection(${n}).confirmVerification('VERIFICATION_TOKEN');`]),
      dart: js([...head.dart, `await pb.collection(${n}).requestVerification('test@example.com');`, "", "// on the page the mail links to", `await pb.collection(${n}).confirmVerification('VERIFICATION_TOKEN');`]),
    },
    {
      id: "password-reset", title: "Password reset", method: "POST", path: `${base}/request-password-reset`,
      extra: [["POST", `${base}/confirm-password-reset`]], query: [], body: [
        { name: "email", type: "String", required: true, note: "request-password-reset: where the link is sent" },
        { name: "token", type: "String", required: true, note: "confirm-password-reset: the token from the link" },
        { name: "password", type: "String", required: true, note: "confirm-password-reset: the new password" },
        { name: "passwordConfirm", type: "String", required: true, note: "confirm-password-reset: the same again" },
      ], response: null, responseNote: "204 No Content (both)", rules: [], note: "No rule: anyone may ask; only the mailbox owner gets the token.",
      js: js([...head.js, `await pb.collection(${n}).requestPasswordReset('test@example.com');`, "", "// on the page the mail links to", `await pb.collection(${n}).confirmPasswordReset(`, "  'RESET_TOKEN',", "  'NEW_PASSWORD',", "  'NEW_PASSWORD_CONFIRM',", ");"]),
      dart: js([...head.dart, `await pb.collection(${n}).requestPasswordReset('test@example.com');`, "", "// on the page the mail links to", `await pb.collection(${n}).confirmPasswordReset(`, "  'RESET_TOKEN',", "  'NEW_PASSWORD',", "  'NEW_PASSWORD_CONFIRM',", ");"]),
    },
  ];
}
