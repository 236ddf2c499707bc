// Serves the Cosmos DB protocol on loopback for the tests: `node serve.js [PORT]` (0 or none:
// a free port). Prints "listening on PORT" once ready. Keep-alive matters: the package's CLI
// closes every connection, which makes the SDK ~20x slower.
"use strict";

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const requested = Number(process.argv[2] ?? process.env.COSMOS_SERVER_PORT ?? 0);
const server = createHttpsServer({ keepAlive: true });

// The package answers a point read of a missing document (or one in another partition) with
// 500 "Cannot read properties of undefined (reading 'pk')"; Cosmos DB answers 404 NotFound.
// Only that answer to a document GET is rewritten, so every other error stays as the package
// gives it.
const DOCUMENT_READ = /^\/dbs\/[^/]+\/colls\/[^/]+\/docs\/[^/]+\/?$/;
const MISSING = "Cannot read properties of undefined (reading 'pk')";
const [handle] = server.listeners("request");
server.removeAllListeners("request");
server.on("request", (req, res) => {
  if (req.method === "GET" && DOCUMENT_READ.test(req.url.split("?")[0])) {
    const end = res.end.bind(res);
    res.end = (body, ...rest) => {
      if (res.statusCode === 500 && String(body ?? "").includes(MISSING)) {
        res.statusCode = 404;
        const notFound = JSON.stringify({
          code: "NotFound",
          message: "Entity with the specified id does not exist in the system.",
        });
        res.setHeader("Content-Length", Buffer.byteLength(notFound));
        return end(notFound);
      }
      return end(body, ...rest);
    };
  }
  handle(req, res);
});
server.listen(requested, "127.0.0.1", () => {
  console.log(`listening on ${server.address().port}`);
});
// Keep-alive connections would hold close() open: on a signal, just go.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
