// Files through the SDK: multipart uploads (FormData + Blob), `pb.files.getURL` for originals and
// thumbnails (default, listed, unlisted, invalid sizes; non-images), download/range/revalidation
// headers, protected files with `pb.files.getToken()` (owner, other user, superuser, guest), file
// removal and record deletion.
//
// File bodies are fetched outside the recorder (their bytes are binary, and two encoders never make
// the same thumbnail bytes): each download is noted as status, headers, size and image dimensions.
import { crc32, deflateSync } from "node:zlib";
import { Harness } from "../lib/harness.mjs";

const rawFetch = globalThis.fetch; // before the harness wraps it
const h = new Harness("files");

// Stored names are `<name>_<10 random chars>.<ext>` on both servers: the random part differs from
// run to run like record ids do, so it is replaced (this hides no difference between servers).
h.rewrite(/(photo|notes|second|secret)_[a-z0-9]{10}\.(png|txt)/g, "$1_<random>.$2");

const ALICE = { email: "alice@example.com", password: "alice-pass-123" };
const BOB = { email: "bob@example.com", password: "bob-pass-1234" };

/** A valid RGB PNG of one colour, built here (a pasted blob would be one more thing to trust). */
function png(width, height, [r, g, b]) {
    const chunk = (type, data) => {
        const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(data.length);
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(crc32(body));
        return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) row.set([r, g, b], 1 + x * 3);
    const raw = Buffer.concat(Array.from({ length: height }, () => row));
    return Buffer.concat([
        Buffer.from("89504e470d0a1a0a", "hex"),
        chunk("IHDR", ihdr),
        chunk("IDAT", deflateSync(raw)),
        chunk("IEND", Buffer.alloc(0)),
    ]);
}

const PNG = png(200, 100, [200, 30, 30]);
const TXT = Buffer.from("hello world\n".repeat(10));

function pngSize(buf) {
    const signature = "89504e470d0a1a0a";
    if (buf.length < 24 || buf.subarray(0, 8).toString("hex") !== signature) return null;
    return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

/** Fetches a file URL (not recorded as an exchange) and notes what a client can observe. */
async function download(label, url, { headers = {}, method = "GET", length = false } = {}) {
    const res = await rawFetch(url, { method, headers });
    const buf = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get("content-type") || "";
    const out = {
        status: res.status,
        contentType: type,
        disposition: res.headers.get("content-disposition"),
        cacheControl: res.headers.get("cache-control"),
        csp: res.headers.get("content-security-policy"),
        acceptRanges: res.headers.get("accept-ranges"),
        contentRange: res.headers.get("content-range"),
        image: pngSize(buf),
    };
    if (length) out.length = buf.length;
    // Deliberate difference: a 416 is Go's plain-text error in PocketBase, Satchel's carries the
    // PocketBase JSON error shape (satchel/apis/blob_response.py); status and Content-Range agree.
    if (res.status === 416) delete out.contentType;
    if (res.status === 404 && type.startsWith("application/json")) out.body = JSON.parse(buf.toString("utf8"));
    // Deliberate difference: Satchel sends `default-src 'none'; frame-ancestors 'none'` on every API answer
    // that sets no CSP of its own, its JSON errors included (docs/security.md); PocketBase's JSON errors have
    // none. The files' own CSP (PocketBase's sandbox policy) is compared.
    if (res.status === 404 && type.startsWith("application/json")) delete out.csp;
    h.note(label, out);
    return res;
}

function form(fields, files) {
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    for (const [field, name, bytes, type] of files) fd.append(field, new Blob([bytes], { type }), name);
    return fd;
}

await h.run(async () => {
    const su = await h.superuser();
    const anon = h.client();
    const alice = h.client();
    const bob = h.client();

    const a = await h.step("create alice", () =>
        anon.collection("users").create({ ...ALICE, passwordConfirm: ALICE.password }),
    );
    await h.step("create bob", () => anon.collection("users").create({ ...BOB, passwordConfirm: BOB.password }));
    await h.step("alice auth", () => alice.collection("users").authWithPassword(ALICE.email, ALICE.password));
    await h.step("bob auth", () => bob.collection("users").authWithPassword(BOB.email, BOB.password));

    await h.step("create collection fl_media", () =>
        su.collections.create({
            name: "fl_media",
            listRule: "",
            viewRule: "",
            createRule: "",
            updateRule: "",
            deleteRule: "",
            fields: [
                { name: "title", type: "text" },
                { name: "image", type: "file", maxSelect: 1, thumbs: ["50x50", "0x40", "60x30f", "30x60t"] },
                { name: "attachments", type: "file", maxSelect: 3 },
            ],
        }),
    );
    await h.step("create collection fl_private", () =>
        su.collections.create({
            name: "fl_private",
            listRule: "owner = @request.auth.id",
            viewRule: "owner = @request.auth.id",
            createRule: '@request.auth.id != ""',
            fields: [
                { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
                { name: "secret", type: "file", maxSelect: 1, protected: true },
            ],
        }),
    );

    // ---- uploads and originals
    const media = await h.step("create media with files", () =>
        anon.collection("fl_media").create(
            form({ title: "Pics" }, [
                ["image", "photo.png", PNG, "image/png"],
                ["attachments", "notes.txt", TXT, "text/plain"],
                ["attachments", "second.png", PNG, "image/png"],
            ]),
        ),
    );
    if (!media) throw new Error("upload failed");
    const [notes, second] = media.attachments;
    const fileURL = (name, params = {}) => anon.files.getURL(media, name, params);

    await download("image original", fileURL(media.image), { length: true });
    await download("image HEAD", fileURL(media.image), { method: "HEAD" });
    await download("image download=1", fileURL(media.image, { download: 1 }), { length: true });
    await download("text original", fileURL(notes), { length: true });
    await download("second original", fileURL(second), { length: true });

    // ---- thumbnails
    for (const thumb of ["100x100", "50x50", "0x40", "60x30f", "30x60t", "70x70", "0x0", "abc"])
        await download(`image thumb ${thumb}`, fileURL(media.image, { thumb }));
    await download("image thumb 100x100 again (cached)", fileURL(media.image, { thumb: "100x100" }));
    await download("text with thumb", fileURL(notes, { thumb: "100x100" }), { length: true });
    await download("second (no thumbs option) default thumb", fileURL(second, { thumb: "100x100" }));
    await download("second (no thumbs option) unlisted thumb", fileURL(second, { thumb: "50x50" }), { length: true });

    // ---- ranges and revalidation
    await download("range 0-9", fileURL(media.image), { headers: { Range: "bytes=0-9" }, length: true });
    await download("range suffix", fileURL(media.image), { headers: { Range: "bytes=-16" }, length: true });
    await download("range past the end", fileURL(media.image), { headers: { Range: "bytes=100000-" } });
    const first = await rawFetch(fileURL(media.image));
    await first.arrayBuffer();
    await download("if-modified-since", fileURL(media.image), {
        headers: { "If-Modified-Since": first.headers.get("last-modified") },
    });

    // ---- unknown things
    await download("unknown file name", fileURL("nope_0123456789.png"));
    await download("unknown collection", `${h.args.url}/api/files/fl_nope/${media.id}/${media.image}`);
    await download("unknown record", `${h.args.url}/api/files/fl_media/abcdefghijklmno/${media.image}`);

    // ---- protected files
    const secretRec = await h.step("alice creates a protected file", () =>
        alice.collection("fl_private").create(form({ owner: a?.id }, [["secret", "secret.png", PNG, "image/png"]])),
    );
    if (!secretRec) throw new Error("protected upload failed");
    const secretURL = (params = {}) => anon.files.getURL(secretRec, secretRec.secret, params);
    await download("protected without token", secretURL());
    const aliceToken = await h.step("alice file token", () => alice.files.getToken());
    const bobToken = await h.step("bob file token", () => bob.files.getToken());
    const suToken = await h.step("superuser file token", () => su.files.getToken());
    await h.step("guest file token", () => anon.files.getToken());
    await download("protected with alice's token", secretURL({ token: aliceToken }), { length: true });
    await download("protected thumb with alice's token", secretURL({ token: aliceToken, thumb: "100x100" }));
    await download("protected with bob's token", secretURL({ token: bobToken }));
    await download("protected with the superuser's token", secretURL({ token: suToken }), { length: true });
    await download("protected with an auth token", secretURL({ token: alice.authStore.token }));
    await download("unprotected with a token", fileURL(media.image, { token: bobToken }), { length: true });
    await h.step("alice views her record", () => alice.collection("fl_private").getOne(secretRec.id));

    // ---- removal
    await h.step("remove the second attachment", () =>
        anon.collection("fl_media").update(media.id, { "attachments-": [second] }),
    );
    await download("removed attachment", fileURL(second));
    await download("kept attachment", fileURL(notes), { length: true });
    await h.step("delete media", () => anon.collection("fl_media").delete(media.id));
    await download("image of the deleted record", fileURL(media.image));
});
