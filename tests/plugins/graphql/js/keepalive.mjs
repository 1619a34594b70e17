// The npm graphql-ws client on a quiet socket: it answers the server's pings, so a server whose
// idle timeout is shorter than the time those pings take keeps it open. Subscribes, counts the
// server's pings until it has `wanted` of them, then hangs up; prints one JSON line.
//
//   node keepalive.mjs ws://127.0.0.1:PORT/api/graphql <wanted>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, wanted] = process.argv.slice(2);
let pings = 0;
const errors = [];
const closed = await new Promise((resolve) => {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    on: {
      ping: (received) => {
        if (received && ++pings === Number(wanted)) client.dispose();
      },
      closed: (event) => resolve({ code: event.code, reason: event.reason }),
    },
  });
  client.subscribe(
    { query: "subscription { usersChanged { action } }" },
    { next: () => {}, error: (error) => errors.push(String(error?.message ?? error)), complete: () => {} },
  );
});
console.log(JSON.stringify({ pings, closed, errors }));
