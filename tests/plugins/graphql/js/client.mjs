// The npm graphql-ws client against Satchel's /api/graphql: an owner and a guest subscribe to
// postsChanged, the owner writes through GraphQL mutations over the same protocol, and the events
// each one received are printed as one JSON line for the pytest side to check.
//
//   node client.mjs ws://127.0.0.1:PORT/api/graphql <owner token> <owner id>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, ownerId] = process.argv.slice(2);
const SUB = "subscription { postsChanged { action record { title published author { email } } } }";
const CREATE = "mutation($d: PostsCreateInput!) { createPosts(data: $d) { id title } }";
const UPDATE = "mutation($id: ID!, $d: PostsUpdateInput!) { updatePosts(id: $id, data: $d) { id title } }";
const DELETE = "mutation($id: ID!) { deletePosts(id: $id) }";
const WAIT_MS = 1000;

function connect(auth) {
  let closed = null;
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: auth ? { Authorization: auth } : {},
    lazy: false,
    retryAttempts: 0,
    on: { closed: (event) => { closed = { code: event.code, reason: event.reason }; } },
  });
  return { client, closed: () => closed };
}

function run(client, query, variables) {
  return new Promise((resolve, reject) => {
    let result;
    client.subscribe({ query, variables }, {
      next: (value) => { result = value; },
      error: reject,
      complete: () => resolve(result),
    });
  });
}

function listen(client) {
  const events = [];
  const waiters = [];
  const error = { value: null };
  client.subscribe({ query: SUB }, {
    next: (value) => {
      events.push(value);
      for (const w of waiters.splice(0)) w();
    },
    error: (e) => { error.value = String(e && e.code ? `${e.code} ${e.reason}` : e); },
    complete: () => {},
  });
  const titles = () => events.map((e) => e.data.postsChanged.record.title);
  async function saw(title) {
    const deadline = Date.now() + WAIT_MS;
    while (!titles().includes(title)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, left); });
    }
    return true;
  }
  return { events, saw, error };
}

const owner = connect(token);
const guest = connect(null);
const ownerSub = listen(owner.client);
const guestSub = listen(guest.client);

// nothing in the protocol says a subscription is live: publish probes until both saw one
let ready = false;
for (let i = 0; i < 30 && !ready; i++) {
  const title = `probe${i}`;
  await run(owner.client, CREATE, { d: { title, published: true, author: ownerId } });
  ready = (await ownerSub.saw(title)) && (await guestSub.saw(title));
}
if (!ready) throw new Error("the subscriptions never received a probe");
const ownerStart = ownerSub.events.length;
const guestStart = guestSub.events.length;

const draft = (await run(owner.client, CREATE, { d: { title: "draft", published: false, author: ownerId } })).data.createPosts;
const open = (await run(owner.client, CREATE, { d: { title: "open", published: true, author: ownerId } })).data.createPosts;
await run(owner.client, UPDATE, { id: open.id, d: { title: "open2" } });
await run(owner.client, DELETE, { id: draft.id });
const invalid = await run(owner.client, CREATE, { d: { title: "" } });
await run(owner.client, CREATE, { d: { title: "end", published: true, author: ownerId } });
const ended = (await ownerSub.saw("end")) && (await guestSub.saw("end"));

const bad = connect("not-a-token");
let badError = null;
await new Promise((resolve) => {
  bad.client.subscribe({ query: SUB }, {
    next: () => {},
    error: (e) => { badError = e && e.code ? { code: e.code, reason: e.reason } : String(e); resolve(); },
    complete: resolve,
  });
});

const summary = (events) => events.map((e) => {
  const c = e.data.postsChanged;
  return [c.action, c.record.title, c.record.author ? c.record.author.email : null];
});
console.log(JSON.stringify({
  ended,
  owner: summary(ownerSub.events.slice(ownerStart)),
  guest: summary(guestSub.events.slice(guestStart)),
  invalid: invalid.errors,
  bad: badError,
  subscriptionErrors: [ownerSub.error.value, guestSub.error.value],
}));
await owner.client.dispose();
await guest.client.dispose();
await bad.client.dispose();
