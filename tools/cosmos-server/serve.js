// Serves the Cosmos DB protocol on loopback for the tests: `node serve.js [PORT]` (0 or none:
// a free port). Prints "listening on PORT" once ready. Keep-alive matters: the package's CLI
// closes every connection, which makes the SDK ~20x slower.
"use strict";

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const requested = Number(process.argv[2] ?? process.env.COSMOS_SERVER_PORT ?? 0);
const server = createHttpsServer({ keepAlive: true });
server.listen(requested, "127.0.0.1", () => {
  console.log(`listening on ${server.address().port}`);
});
// Keep-alive connections would hold close() open: on a signal, just go.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
