/* The agent console: a thin client of the agent API. Every text that came from a customer or
 * an agent is put on the page with textContent, never parsed as markup. */
(function () {
  "use strict";
  var PRESENCES = ["available", "busy", "busy_dnd", "away", "offline"];
  var HEARTBEAT_MS = 30000;
  var POLL_MS = 1500;
  var token = null;
  var work = [];
  var selected = null; // conversation id
  var timers = null;

  var $ = Desk.$, showError = Desk.showError, el = Desk.el;
  var api = Desk.client(function () { return token; });

  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + ":" : "") + two(m) + ":" + two(s);
  }

  function elapsed(view) {
    if (!view.timer_started_at) { return ""; }
    return clock(Math.max(0, Math.floor((Date.now() - Date.parse(view.timer_started_at)) / 1000)));
  }

  // --- presence ------------------------------------------------------------------------------

  function loadPresence() {
    return api("GET", "/agents/me/presence").then(function (view) {
      var select = $("presence");
      select.replaceChildren();
      PRESENCES.forEach(function (p) { select.appendChild(option(p, p.replace("_", " "))); });
      view.custom_presences.forEach(function (c) {
        select.appendChild(option("custom:" + c.id, c.name));
      });
      var custom = view.state && view.state.custom_presence_id;
      select.value = custom ? "custom:" + custom : view.presence;
    });
  }

  function option(value, label) {
    var node = el("option", null, label);
    node.value = value;
    return node;
  }

  function choosePresence() {
    var value = $("presence").value;
    var body = value.indexOf("custom:") === 0
      ? { custom_presence_id: value.slice(7) } : { presence: value };
    api("PUT", "/agents/me/presence", body).then(loadPresence).catch(fail);
  }

  // --- work ----------------------------------------------------------------------------------

  function refreshWork() {
    return api("GET", "/agents/me/work").then(function (views) {
      work = views;
      renderWork();
      if (selected) { renderConversation(); }
    });
  }

  function renderWork() {
    var list = $("work-list");
    list.replaceChildren();
    $("no-work").hidden = work.length > 0;
    work.forEach(function (view) {
      var item = el("li");
      item.dataset.conversation = view.conversation.id;
      if (view.conversation.id === selected) { item.className = "selected"; }
      item.appendChild(el("strong", null, view.conversation.customer_address));
      item.appendChild(document.createTextNode(" "));
      item.appendChild(el("span", "status status-" + view.item.status,
        view.role === "consultant" ? "consulting" : view.item.status.replace("_", "-")));
      item.appendChild(el("span", "timer", elapsed(view)));
      if (view.item.status === "offered") {
        item.appendChild(button("Accept", "accept", function () { act("accept", view); }));
        item.appendChild(button("Decline", "decline", function () { act("decline", view); }));
      } else {
        item.addEventListener("click", function () { select(view.conversation.id); });
      }
      list.appendChild(item);
    });
  }

  function button(label, name, onClick) {
    var node = el("button", null, label);
    node.type = "button";
    node.name = name;
    node.addEventListener("click", function (event) { event.stopPropagation(); onClick(); });
    return node;
  }

  function act(action, view) {
    api("POST", "/conversations/" + encodeURIComponent(view.conversation.id) + "/" + action)
      .then(refreshWork)
      .then(function () { if (action === "accept") { select(view.conversation.id); } })
      .catch(fail);
  }

  function current() {
    return work.filter(function (v) { return v.conversation.id === selected; })[0] || null;
  }

  function select(conversationId) {
    selected = conversationId;
    renderWork();
    renderConversation();
    loadCandidates();
  }

  // --- the conversation -----------------------------------------------------------------------

  var lastMessages = "";

  function renderConversation() {
    var view = current();
    var pane = $("conversation");
    pane.hidden = !selected;
    if (!selected) { return; }
    var closed = !view;
    $("conversation-title").textContent = view ? view.conversation.customer_address : "Closed conversation";
    $("conversation-state").textContent = closed ? "closed"
      : (view.role === "consultant" ? "consulting" : view.item.status.replace("_", "-"));
    $("conversation-timer").textContent = view ? elapsed(view) : "";
    var consultant = view && view.role === "consultant";
    $("primary-actions").hidden = closed || consultant;
    $("leave").hidden = !consultant;
    $("reopen").hidden = !closed;
    $("reply").hidden = closed;
    $("reply-internal").disabled = !!consultant;
    if (consultant) { $("reply-internal").checked = true; }
    api("GET", "/conversations/" + encodeURIComponent(selected) + "/messages")
      .then(renderMessages).catch(fail);
  }

  function renderMessages(messages) {
    var key = messages.map(function (m) { return m.id + ":" + m.status; }).join(",");
    if (key === lastMessages) { return; }
    lastMessages = key;
    var list = $("messages");
    list.replaceChildren();
    messages.forEach(function (m) {
      var kind = m.internal ? "note" : m.sender;
      var item = el("li", kind);
      var label = m.internal ? "Internal note" + (m.agent_id ? " · " + m.agent_id : "")
        : (m.sender === "agent" ? (m.agent_id || "agent") : m.sender);
      item.appendChild(el("span", "label", label));
      item.appendChild(el("span", "text", m.text));
      list.appendChild(item);
    });
    list.scrollTop = list.scrollHeight;
  }

  function send(event) {
    event.preventDefault();
    var text = $("reply-text").value;
    var internal = $("reply-internal").checked;
    api("POST", "/conversations/" + encodeURIComponent(selected) + "/messages",
      { text: text, internal: internal })
      .then(function () { $("reply-text").value = ""; renderConversation(); })
      .catch(fail);
  }

  function loadCandidates() {
    var view = current();
    var select = $("consult-candidates");
    select.replaceChildren();
    if (!view || view.role !== "primary" || view.item.status === "offered") { return; }
    api("GET", "/conversations/" + encodeURIComponent(selected) + "/consult-candidates")
      .then(function (candidates) {
        candidates.forEach(function (c) { select.appendChild(option(c.agent_id, c.display_name)); });
      }).catch(function () { /* not primary any more: the next refresh shows it */ });
  }

  function conversationAction(path, body) {
    return api("POST", "/conversations/" + encodeURIComponent(selected) + path, body)
      .then(refreshWork).then(renderConversation).catch(fail);
  }

  // --- sign-in ------------------------------------------------------------------------------

  function fail(error) { showError(error.message); }

  function signIn(event) {
    event.preventDefault();
    token = $("token").value.trim();
    $("token").value = ""; // kept in memory only: a reload signs in again
    api("POST", "/agents/me/sign-in").then(function () {
      showError("");
      $("sign-in").hidden = true;
      $("console").hidden = false;
      $("presence-box").hidden = false;
      $("sign-out").hidden = false;
      $("who").textContent = "Signed in";
      return Promise.all([loadPresence(), refreshWork()]);
    }).then(function () {
      timers = [
        setInterval(function () { api("POST", "/agents/me/heartbeat").catch(fail); }, HEARTBEAT_MS),
        setInterval(function () { refreshWork().catch(fail); }, POLL_MS),
        setInterval(function () {
          document.querySelectorAll(".work-list li").forEach(function (li, i) {
            var timer = li.querySelector(".timer");
            if (work[i] && timer) { timer.textContent = elapsed(work[i]); }
          });
          var view = current();
          if (view) { $("conversation-timer").textContent = elapsed(view); }
        }, 1000)
      ];
    }).catch(fail);
  }

  function signOut() {
    api("POST", "/agents/me/sign-out").finally(function () {
      (timers || []).forEach(clearInterval);
      token = null; selected = null; work = [];
      $("sign-in").hidden = false;
      $("console").hidden = true;
      $("presence-box").hidden = true;
      $("sign-out").hidden = true;
      $("who").textContent = "";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("sign-in").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("presence").addEventListener("change", choosePresence);
    $("reply").addEventListener("submit", send);
    $("consult").addEventListener("click", function () {
      var agentId = $("consult-candidates").value;
      if (agentId) { conversationAction("/consult", { agent_id: agentId }).then(loadCandidates); }
    });
    $("transfer").addEventListener("click", function () {
      var queueId = $("transfer-queue").value.trim();
      var agentId = $("consult-candidates").value;
      conversationAction("/transfer", queueId ? { queue_id: queueId } : { agent_id: agentId });
    });
    $("end").addEventListener("click", function () { conversationAction("/end"); });
    $("close").addEventListener("click", function () { conversationAction("/close"); });
    $("reopen").addEventListener("click", function () { conversationAction("/reopen"); });
    $("leave").addEventListener("click", function () {
      conversationAction("/consult/leave").then(function () { selected = null; renderConversation(); });
    });
  });
})();
