/* What the staff pages (the agent console, the supervisor page) share: the API client, element
 * helpers that only ever set text (never markup), and the error line. No build step, no
 * library: each page loads this file before its own. */
var Desk = (function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function showError(text) { $("error").textContent = text || ""; }

  // An API client bound to the page's bearer token, read at each call: the page keeps the
  // token in memory only and drops it on sign-out.
  function client(currentToken) {
    return function api(method, path, body) {
      var options = { method: method, headers: { Authorization: "Bearer " + currentToken() } };
      if (body !== undefined) {
        options.headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
      return fetch("/api" + path, options).then(function (response) {
        if (response.status === 204) { return null; }
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.detail || response.statusText); }
          return data;
        });
      });
    };
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // A transcript (or any file the API serves) fetched with the token and saved as a file: it is
  // never rendered in the page's own origin. Rejects with why it could not be read.
  function download(path, token, fileName) {
    return fetch("/api" + path, { headers: { Authorization: "Bearer " + token } })
      .then(function (response) {
        if (!response.ok) { throw new Error("the file could not be read (" + response.status + ")"); }
        return response.blob();
      })
      .then(function (blob) {
        var link = el("a");
        link.href = URL.createObjectURL(blob);
        link.download = fileName;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
      });
  }

  return { $: $, showError: showError, client: client, el: el, download: download };
})();
