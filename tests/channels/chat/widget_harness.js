// Runs widget.js in Node on a minimal fake DOM whose innerHTML/outerHTML/insertAdjacentHTML
// throw, with a saved session and a chat API answering hostile text; prints what was built.
"use strict";
const fs = require("fs");
const vm = require("vm");

const hostile = process.argv[3];
const created = [];

class Node {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.attributes = {};
    this.className = "";
    this.text = "";
    this.listeners = {};
    const classes = new Set();
    this.classList = {
      add: (c) => classes.add(c),
      remove: (c) => classes.delete(c),
      contains: (c) => classes.has(c) || this.className.split(" ").includes(c),
      toggle: (c, force) => ((force ?? !classes.has(c)) ? classes.add(c) : classes.delete(c)),
    };
    created.push(this);
  }
  set textContent(value) { this.text = String(value); this.children = []; }
  get textContent() { return this.text + this.children.map((c) => c.textContent).join(""); }
  set innerHTML(_) { throw new Error("innerHTML used"); }
  set outerHTML(_) { throw new Error("outerHTML used"); }
  insertAdjacentHTML() { throw new Error("insertAdjacentHTML used"); }
  appendChild(child) { this.children.push(child); return child; }
  removeChild(child) { this.children = this.children.filter((c) => c !== child); return child; }
  get firstChild() { return this.children[0] || null; }
  setAttribute(name, value) { this.attributes[name] = String(value); }
  addEventListener(type, listener) { this.listeners[type] = listener; }
}

const storage = new Map([
  ["omnichannel-chat:w1", JSON.stringify({ conversation_id: "c1", token: "t1", after: 0 })],
]);
const update = {
  conversation_id: "c1", status: "ended", agent_name: hostile, state: "s", next_after: 2,
  messages: [
    { id: "m1", sequence: 1, sender: "customer", sender_name: null, text: hostile,
      attachments: [{ name: hostile, content_type: "image/png", size: 1, url: "javascript:alert(1)" }],
      created_at: "2026-01-01T00:00:00Z" },
    { id: "m2", sequence: 2, sender: "agent", sender_name: hostile, text: hostile,
      attachments: [], created_at: "2026-01-01T00:00:00Z" },
  ],
};
const requests = [];
const document = {
  currentScript: { src: "https://chat.example/api/chat/widget.js",
                   getAttribute: (n) => (n === "data-widget-id" ? "w1" : null) },
  createElement: (tag) => new Node(tag),
  head: new Node("head"),
  body: new Node("body"),
  write() { throw new Error("document.write used"); },
  addEventListener() {},
};
const window = {
  localStorage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v),
                  removeItem: (k) => storage.delete(k) },
  crypto: { getRandomValues: (a) => a.fill(7) },
  setTimeout,
};
const fetch = (url, init) => {
  requests.push({ url, init });
  return Promise.resolve({ ok: true, status: 200, json: () => Promise.resolve(update) });
};
const context = vm.createContext({ window, document, fetch, URL, JSON, Promise, console,
                                   Uint8Array, Array, String, setTimeout });
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), context);
setTimeout(() => {
  const describe = (n) => ({ tag: n.tagName, cls: n.className, text: n.text,
                             href: n.href, children: n.children.map(describe) });
  process.stdout.write(JSON.stringify({
    tags: [...new Set(created.map((n) => n.tagName))].sort(),
    body: describe(document.body),
    requests,
    storage: Object.fromEntries(storage),
  }));
}, 50);
