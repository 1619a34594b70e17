// OTP sign-in and MFA through the SDK: requestOTP/authWithOTP with the code read from the mail the
// server actually sent (an SMTP server run by this script), the errors around them (disabled, bad
// input, unknown address, wrong code, replay), and MFA: password then OTP, OTP then password, the
// same method twice, another user's mfaId, mfaId in the query or the body, and the MFA rule.
//
// Random values PocketBase hands out (otpId, mfaId) and the mailed codes are registered as aliases
// through notes shaped like records, so the harness normalises them like ids (<id:otp#n>...).
import { Harness } from "../lib/harness.mjs";
import { SMTPServer } from "smtp-server";

const unrecordedFetch = globalThis.fetch; // the SMTP settings carry a random port: kept out of the transcript
const h = new Harness("otp-mfa");

const PASS = "pass-word-123";
const USERS = ["alice", "bob", "carol"].map((n) => ({ name: n, email: `${n}@example.com` }));

// ---------------------------------------------------------------------------- mail capture
const inbox = [];
const waiting = new Set();
const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"], // both servers speak plain SMTP to a loopback server
    logger: false,
    onData(stream, session, done) {
        const chunks = [];
        stream.on("data", (c) => chunks.push(c));
        stream.on("end", () => {
            inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString("utf8") });
            for (const wake of waiting) wake();
            done();
        });
    },
});
await new Promise((resolve) => smtp.listen(0, "127.0.0.1", resolve));
const smtpPort = smtp.server.address().port;

/** The bodies of a MIME message with base64 and quoted-printable parts decoded. */
function mailText(raw) {
    const out = [];
    for (const part of raw.split(/\r?\n--[^\r\n]+\r?\n/)) {
        const cut = part.search(/\r?\n\r?\n/);
        if (cut < 0) continue;
        const head = part.slice(0, cut);
        const body = part.slice(cut).trim();
        if (/content-transfer-encoding:\s*base64/i.test(head))
            out.push(Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8"));
        else if (/content-transfer-encoding:\s*quoted-printable/i.test(head))
            out.push(body.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/gi, (_, x) => String.fromCharCode(parseInt(x, 16))));
        else out.push(body);
    }
    return out.join("\n");
}

/** The next unread mail to `to` (mails to one address arrive in request order: each is awaited). */
async function nextMail(to, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const i = inbox.findIndex((m) => m.to.includes(to));
        if (i >= 0) return inbox.splice(i, 1)[0];
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
        await new Promise((resolve) => {
            const wake = () => {
                waiting.delete(wake);
                clearTimeout(timer);
                resolve();
            };
            const timer = setTimeout(wake, left);
            waiting.add(wake);
        });
    }
}

// ------------------------------------------------------------------------------ aliases
const aliasCount = {};
/** Normalise a random value in the whole transcript: registered as the id of a record-shaped note. */
function alias(kind, value) {
    if (typeof value !== "string" || value === "") return;
    aliasCount[kind] = (aliasCount[kind] || 0) + 1;
    h.note(`${kind} #${aliasCount[kind]}`, { id: value, collectionId: kind, collectionName: kind });
}

let suToken = "";

/** Until the OTP's `sentTo` is set: PocketBase sets it only after the SMTP conversation ends, so a
 *  client as fast as this script would otherwise race it (and the record would not get verified). */
async function sentToSettled(otpId, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const r = await unrecordedFetch(`${h.args.url}/api/collections/_otps/records/${otpId}?fields=sentTo`, {
            headers: { Authorization: suToken },
        });
        if (r.status === 200 && (await r.json()).sentTo) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`sentTo of OTP ${otpId} not set within ${timeoutMs} ms`);
}

/** The code of the next OTP mail to `email` (once its OTP knows where it went), with the mail noted. */
async function mailedCode(label, email, otpId) {
    const mail = await nextMail(email);
    await sentToSettled(otpId);
    const text = mailText(mail.raw);
    const subject = (mail.raw.match(/^Subject: (.*)$/im) || [])[1] || "";
    const code = (text.match(/<strong>(\d+)<\/strong>/) || [])[1];
    if (!code) throw new Error(`no OTP code in the mail to ${email}:\n${mail.raw}`);
    alias("code", code);
    h.note(`${label} mail`, { to: mail.to, subject: subject.trim(), digits: code.length });
    return code;
}

/** A step that returns the body of PocketBase's 401 {mfaId} answer instead of swallowing it. */
const mfaOf = (fn) => async () => {
    try {
        return await fn();
    } catch (e) {
        if (e?.status === 401 && e.response?.mfaId) {
            alias("mfa", e.response.mfaId);
            return e.response;
        }
        throw e;
    }
};

await h.run(async () => {
    const su = await h.superuser();
    suToken = su.authStore.token;
    const anon = h.client();
    const r = await unrecordedFetch(`${h.args.url}/api/settings`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json", Authorization: su.authStore.token },
        body: JSON.stringify({ smtp: { enabled: true, host: "127.0.0.1", port: smtpPort, tls: false } }),
    });
    if (r.status !== 200) throw new Error(`smtp settings: ${r.status} ${await r.text()}`);

    const clients = {};
    for (const u of USERS) {
        await h.step(`create ${u.name}`, () =>
            anon.collection("users").create({ email: u.email, password: PASS, passwordConfirm: PASS, name: u.name }),
        );
        clients[u.name] = h.client();
    }
    const users = (pb) => pb.collection("users");
    const { alice, bob, carol } = clients;

    // ---- OTP off, then on
    await h.step("auth methods (otp off)", () => users(anon).listAuthMethods());
    await h.step("request otp while disabled", () => users(anon).requestOTP(USERS[0].email));
    await h.step("auth with otp while disabled", () => users(anon).authWithOTP("aaaaaaaaaaaaaaa", "12345678"));
    await h.step("enable otp", () =>
        su.collections.update("users", { otp: { enabled: true } }, { fields: "name,otp,mfa" }),
    );
    await h.step("auth methods (otp on)", () => users(anon).listAuthMethods());
    await h.step("superusers otp still disabled", () => su.collection("_superusers").requestOTP("admin@example.com"));

    // ---- request errors and an unknown address
    await h.send(anon, "request otp empty body", "/api/collections/users/request-otp", { method: "POST", body: {} });
    await h.step("request otp bad email", () => users(anon).requestOTP("not-an-email"));
    await h.send(anon, "request otp email not a string", "/api/collections/users/request-otp", {
        method: "POST",
        body: { email: 42 },
    });
    const unknown = await h.step("request otp unknown email", () => users(anon).requestOTP("nobody@example.com"));
    alias("otp", unknown?.otpId);
    await h.step("auth with the unknown email's otp", () => users(anon).authWithOTP(unknown?.otpId, "12345678"));

    // ---- alice: the OTP flow
    const a1 = await h.step("alice request otp", () => users(anon).requestOTP(USERS[0].email));
    alias("otp", a1?.otpId);
    const aliceCode = await mailedCode("alice otp", USERS[0].email, a1?.otpId);
    await h.send(anon, "auth with otp empty body", "/api/collections/users/auth-with-otp", { method: "POST", body: {} });
    await h.send(anon, "auth with otp long password", "/api/collections/users/auth-with-otp", {
        method: "POST",
        body: { otpId: a1?.otpId, password: "1".repeat(72) },
    });
    await h.step("alice wrong code", () => users(alice).authWithOTP(a1?.otpId, "00000000"));
    await h.step("unknown otp id", () => users(alice).authWithOTP("aaaaaaaaaaaaaaa", aliceCode));
    await h.step("alice otp", () => users(alice).authWithOTP(a1?.otpId, aliceCode));
    await h.step("alice otp replay", () => users(h.client()).authWithOTP(a1?.otpId, aliceCode));
    await h.step("alice old password (replaced on verification)", () =>
        users(h.client()).authWithPassword(USERS[0].email, PASS),
    );
    await h.step("alice refresh", () => users(alice).authRefresh());

    // ---- MFA: password then OTP
    await h.step("enable mfa", () =>
        su.collections.update("users", { mfa: { enabled: true, rule: "" } }, { fields: "name,otp,mfa" }),
    );
    await h.step("auth methods (mfa on)", () => users(anon).listAuthMethods());
    const bobMfa = await h.step("bob password (first factor)", mfaOf(() => users(bob).authWithPassword(USERS[1].email, PASS)));
    await h.step("bob password again (same method)", () =>
        users(bob).authWithPassword(USERS[1].email, PASS, { mfaId: bobMfa?.mfaId }),
    );
    await h.send(bob, "bob password with a non-string mfaId", "/api/collections/users/auth-with-password", {
        method: "POST",
        body: { identity: USERS[1].email, password: PASS, mfaId: 7 },
    });
    await h.step("bob password with an unknown mfaId", () =>
        users(bob).authWithPassword(USERS[1].email, PASS, { mfaId: "aaaaaaaaaaaaaaa" }),
    );
    const b1 = await h.step("bob request otp", () => users(anon).requestOTP(USERS[1].email));
    alias("otp", b1?.otpId);
    const bobCode = await mailedCode("bob otp", USERS[1].email, b1?.otpId);
    await h.step("bob otp (second factor, mfaId in the query)", () =>
        users(bob).authWithOTP(b1?.otpId, bobCode, { mfaId: bobMfa?.mfaId }),
    );
    await h.step("bob refresh", () => users(bob).authRefresh());
    const b2 = await h.step("bob request otp again", () => users(anon).requestOTP(USERS[1].email));
    alias("otp", b2?.otpId);
    const bobCode2 = await mailedCode("bob otp 2", USERS[1].email, b2?.otpId);
    await h.step("bob spent mfaId", () =>
        users(h.client()).authWithOTP(b2?.otpId, bobCode2, { mfaId: bobMfa?.mfaId }),
    );

    // ---- another user's mfaId, mfaId in the body, OTP then password
    const carolMfa = await h.step("carol password (first factor)", mfaOf(() => users(carol).authWithPassword(USERS[2].email, PASS)));
    const bobMfa2 = await h.step("bob password (new session)", mfaOf(() => users(h.client()).authWithPassword(USERS[1].email, PASS)));
    const c1 = await h.step("carol request otp", () => users(anon).requestOTP(USERS[2].email));
    alias("otp", c1?.otpId);
    const carolCode = await mailedCode("carol otp", USERS[2].email, c1?.otpId);
    await h.step("carol otp with bob's mfaId", () =>
        users(carol).authWithOTP(c1?.otpId, carolCode, { mfaId: bobMfa2?.mfaId }),
    );
    const c2 = await h.step("carol request otp again", () => users(anon).requestOTP(USERS[2].email));
    alias("otp", c2?.otpId);
    const carolCode2 = await mailedCode("carol otp 2", USERS[2].email, c2?.otpId);
    await h.send(carol, "carol otp with mfaId in the body", "/api/collections/users/auth-with-otp", {
        method: "POST",
        body: { otpId: c2?.otpId, password: carolCode2, mfaId: carolMfa?.mfaId },
    });
    const c3 = await h.step("carol request otp (first factor)", () => users(anon).requestOTP(USERS[2].email));
    alias("otp", c3?.otpId);
    const carolCode3 = await mailedCode("carol otp 3", USERS[2].email, c3?.otpId);
    const carolMfa2 = await h.step("carol otp (first factor)", mfaOf(() => users(carol).authWithOTP(c3?.otpId, carolCode3)));
    await h.step("carol password (second factor)", () =>
        users(carol).authWithPassword(USERS[2].email, PASS, { mfaId: carolMfa2?.mfaId }),
    );

    // ---- the MFA rule
    await h.step("mfa rule for nobody", () =>
        su.collections.update("users", { mfa: { rule: "email = 'nobody@example.com'" } }, { fields: "name,mfa" }),
    );
    await h.step("bob password (rule does not match)", () => users(h.client()).authWithPassword(USERS[1].email, PASS));
    await h.step("mfa rule on the body", () =>
        su.collections.update("users", { mfa: { rule: "@request.body.step = 'two'" } }, { fields: "name,mfa" }),
    );
    await h.send(anon, "bob password with step=one", "/api/collections/users/auth-with-password", {
        method: "POST",
        body: { identity: USERS[1].email, password: PASS, step: "one" },
    });
    await h.step(
        "bob password with step=two",
        mfaOf(() => users(h.client()).authWithPassword(USERS[1].email, PASS, { body: { identity: USERS[1].email, password: PASS, step: "two" } })),
    );
    await h.step("mfa off", () => su.collections.update("users", { mfa: { enabled: false } }, { fields: "name,mfa" }));
    await h.step("bob password (mfa off)", () => users(h.client()).authWithPassword(USERS[1].email, PASS));
});
smtp.close();
