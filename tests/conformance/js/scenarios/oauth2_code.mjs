// OAuth2 sign-in through the SDK against a real OpenID provider (the npm package oidc-provider, the same
// server the Python OAuth2 tests use, started by this script): the provider listed by listAuthMethods,
// authWithOAuth2Code creating and linking a new user, a second sign-in finding it, and the failures
// around it (replayed code, wrong code verifier, unknown provider, missing fields).
//
// Random values (the provider's port, state, PKCE pair, access tokens) are registered as aliases through
// notes shaped like records, so the harness normalises them like ids. Both servers are configured by hand
// (authURL/tokenURL/userInfoURL): PocketBase 0.40.6's generic `oidc` provider does no discovery.
import { Harness } from "../lib/harness.mjs";
import { spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const unrecordedFetch = globalThis.fetch; // the provider's own traffic stays out of the transcript
const h = new Harness("oauth2-code");

const CLIENT_ID = "satchel-conformance";
const CLIENT_SECRET = "satchel-conformance-secret";
// on the default appURL's origin (http://localhost:8090): allowed by Satchel's redirect allow-list; the
// redirect itself is never followed, the code is read from its Location
const REDIRECT = "http://localhost:8090/api/oauth2-redirect";

// the scenario may run from a copy whose node_modules links to tests/conformance/js/node_modules: find
// the real tests/conformance/js through the SDK it imports, then tests/oauth2/provider beside it
const sdk = realpathSync(fileURLToPath(import.meta.resolve("pocketbase")));
const jsDir = sdk.slice(0, sdk.lastIndexOf(`${path.sep}node_modules${path.sep}`));
const providerDir = path.join(jsDir, "..", "..", "oauth2", "provider");

const provider = spawn(process.execPath, ["server.mjs", CLIENT_ID, CLIENT_SECRET, REDIRECT], {
    cwd: providerDir,
    stdio: ["ignore", "pipe", "ignore"],
});
const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the OpenID provider did not start")), 30000);
    createInterface({ input: provider.stdout }).once("line", (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line).issuer);
    });
    provider.once("exit", (code) => reject(new Error(`the OpenID provider exited (${code})`)));
});
process.on("exit", () => provider.kill());

const aliasCount = {};
function alias(kind, value) {
    if (typeof value !== "string" || value === "") return;
    aliasCount[kind] = (aliasCount[kind] || 0) + 1;
    h.note(`${kind} #${aliasCount[kind]}`, { id: value, collectionId: kind, collectionName: kind });
}
alias("issuer", issuer);
// Satchel's OIDC authorization URLs carry a nonce bound to the PKCE verifier, which PocketBase does not
// send (docs/compatibility.md, "OIDC nonce"): the parameter is dropped before comparing
h.rewrite(/nonce=[A-Za-z0-9_-]+&/g, "");

/** Follow the authorization URL with a cookie jar, as a browser would, to the code sent to REDIRECT. */
async function codeFor(authURL, loginHint) {
    const jar = new Map();
    let url = `${authURL}${encodeURIComponent(REDIRECT)}&login_hint=${loginHint}`;
    for (let i = 0; i < 10; i++) {
        const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
        const r = await unrecordedFetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
        for (const c of r.headers.getSetCookie()) {
            const [pair] = c.split(";");
            const eq = pair.indexOf("=");
            jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
        }
        const location = r.headers.get("location");
        if (!location) throw new Error(`the provider stopped at ${url}: ${r.status} ${(await r.text()).slice(0, 300)}`);
        url = new URL(location, url).toString();
        if (url.startsWith(REDIRECT)) return new URL(url).searchParams.get("code");
    }
    throw new Error("too many redirects");
}

/** A fresh provider listing (state and PKCE pair aliased), as an app gets it before each sign-in. */
// every provider key but `logo`: PocketBase's logos are its own SVG artwork, which Satchel does not
// copy (it answers "", see docs/compatibility.md), so the listing asks for the other keys by name
const PROVIDER_KEYS = ["name", "displayName", "state", "authURL", "authUrl", "codeVerifier", "codeChallenge", "codeChallengeMethod"];
const METHOD_FIELDS = ["mfa", "otp", "password", "oauth2.enabled", ...PROVIDER_KEYS.map((k) => `oauth2.providers.${k}`)].join(",");

async function methods(anon, label) {
    const listed = await h.step(label, () => anon.collection("users").listAuthMethods({ fields: METHOD_FIELDS }));
    const oidc = listed?.oauth2?.providers?.find((p) => p.name === "oidc");
    if (!oidc) throw new Error(`no oidc provider in ${JSON.stringify(listed)}`);
    alias("state", oidc.state);
    alias("verifier", oidc.codeVerifier);
    alias("challenge", oidc.codeChallenge);
    return oidc;
}

await h.run(async () => {
    const su = await h.superuser();
    const anon = h.client();
    const discovery = await (await unrecordedFetch(`${issuer}/.well-known/openid-configuration`)).json();
    await h.step("enable oauth2 on users", () =>
        su.collections.update("users", {
            oauth2: {
                enabled: true,
                providers: [
                    {
                        name: "oidc",
                        displayName: "Test OpenID",
                        clientId: CLIENT_ID,
                        clientSecret: CLIENT_SECRET,
                        authURL: discovery.authorization_endpoint,
                        tokenURL: discovery.token_endpoint,
                        userInfoURL: discovery.userinfo_endpoint,
                        pkce: true,
                    },
                ],
            },
        }),
    );

    // --- a new account: created, linked, verified by the provider's word (each sign-in from a fresh
    // client: the SDK keeps the token it gets, and a signed-in caller is a case of its own below)
    let oidc = await methods(anon, "auth methods");
    let code = await codeFor(oidc.authURL, "alice");
    alias("code", code);
    const first = await h.step("oauth2 sign-in creates alice", () =>
        h.client().collection("users").authWithOAuth2Code("oidc", code, oidc.codeVerifier, REDIRECT, {
            emailVisibility: true,
        }),
    );
    alias("access", first?.meta?.accessToken);
    h.note("alice is new", first?.meta?.isNew);
    await h.step("replayed code", () =>
        h.client().collection("users").authWithOAuth2Code("oidc", code, oidc.codeVerifier, REDIRECT),
    );

    // --- the same account again: found through its link
    oidc = await methods(anon, "auth methods again");
    code = await codeFor(oidc.authURL, "alice");
    alias("code", code);
    const alice = h.client();
    const second = await h.step("oauth2 sign-in finds alice", () =>
        alice.collection("users").authWithOAuth2Code("oidc", code, oidc.codeVerifier, REDIRECT),
    );
    alias("access", second?.meta?.accessToken);
    h.note("same record", first?.record?.id === second?.record?.id);
    await h.step("refresh with the oauth2 token", () => alice.collection("users").authRefresh());

    // --- signed in already (the SDK sends alice's token along)
    oidc = await methods(anon, "auth methods while signed in");
    code = await codeFor(oidc.authURL, "alice");
    alias("code", code);
    const third = await h.step("oauth2 sign-in while signed in as alice", () =>
        alice.collection("users").authWithOAuth2Code("oidc", code, oidc.codeVerifier, REDIRECT),
    );
    alias("access", third?.meta?.accessToken);
    await h.step("links as superuser", () =>
        su.collection("_externalAuths").getFullList({ sort: "created", fields: "provider,providerId,recordRef" }),
    );

    // --- failures
    oidc = await methods(anon, "auth methods for failures");
    code = await codeFor(oidc.authURL, "bob");
    alias("code", code);
    await h.step("wrong code verifier", () =>
        h.client().collection("users").authWithOAuth2Code("oidc", code, "x".repeat(43), REDIRECT),
    );
    await h.step("unknown provider", () =>
        h.client().collection("users").authWithOAuth2Code("nope", code, oidc.codeVerifier, REDIRECT),
    );
    await h.step("missing code", () => anon.send("/api/collections/users/auth-with-oauth2", {
        method: "POST",
        body: { provider: "oidc", codeVerifier: oidc.codeVerifier, redirectURL: REDIRECT },
    }));
    await h.step("bob was not created", () =>
        su.collection("users").getFullList({ filter: 'email = "bob@example.com"' }),
    );
});
