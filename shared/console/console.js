/* The agent console: a thin client of the agent API. Every text that came from a customer or
 * an agent is put on the page with textContent, never parsed as markup; a link a customer
 * sent is followed only when it is http(s). */
(function () {
  "use strict";
  var PRESENCES = ["available", "busy", "busy_dnd", "away", "offline"];
  var HEARTBEAT_MS = 30000;
  var POLL_MS = 1500;
  var TYPING_REPEAT_MS = 2000;
  var TITLE = document.title;
  var token = null;
  var work = [];
  var selected = null; // conversation id
  var timers = null;
  var cards = {}; // conversation id -> the customer's card, once read
  var alerted = {}; // work item ids whose offer already rang
  var audio = null;
  var lastTyped = 0;

  var $ = Desk.$, showError = Desk.showError, el = Desk.el;
  var api = Desk.client(function () { return token; });

  function path(action) {
    return "/conversations/" + encodeURIComponent(selected) + (action ? "/" + action : "");
  }

  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + ":" + two(m) : m) + ":" + two(s);
  }

  function elapsed(view) {
    if (!view.timer_started_at) { return ""; }
    return clock(Math.max(0, Math.floor((Date.now() - Date.parse(view.timer_started_at)) / 1000)));
  }

  function countdown(view) {
    if (view.item.status !== "offered" || !view.item.offer_expires_at) { return ""; }
    var left = Math.floor((Date.parse(view.item.offer_expires_at) - Date.now()) / 1000);
    return left > 0 ? clock(left) + " to accept" : "lapsing";
  }

  function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }

  function safeUrl(url) {
    // Only web links and the app's own paths: never javascript: or data: from a customer.
    return /^https?:\/\//i.test(url) || /^\/(?!\/)/.test(url) ? url : null;
  }

  function option(value, label) {
    var node = el("option", null, label);
    node.value = value;
    return node;
  }

  function button(label, name, onClick) {
    var node = el("button", null, label);
    node.type = "button";
    node.name = name;
    node.addEventListener("click", function (event) { event.stopPropagation(); onClick(); });
    return node;
  }

  function fact(list, term, value) {
    if (value === undefined || value === null || value === "") { return; }
    list.appendChild(el("dt", null, term));
    list.appendChild(el("dd", null, String(value)));
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

  function choosePresence() {
    var value = $("presence").value;
    var body = value.indexOf("custom:") === 0
      ? { custom_presence_id: value.slice(7) } : { presence: value };
    api("PUT", "/agents/me/presence", body).then(loadPresence).catch(fail);
  }

  // --- offers: a sound and the tab's title ---------------------------------------------------

  function beep() {
    // A short tone made on the spot (no sound file to serve); the context was created at
    // sign-in, a user gesture, so the browser lets it play.
    if (!audio) { return; }
    var tone = audio.createOscillator(), gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    tone.connect(gain);
    gain.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
  }

  function announceOffers() {
    var offers = work.filter(function (v) { return v.item.status === "offered"; });
    offers.forEach(function (view) {
      if (alerted[view.item.id]) { return; }
      alerted[view.item.id] = true;
      beep();
      var rung = Number(document.body.dataset.offerAlerts || 0) + 1;
      document.body.dataset.offerAlerts = String(rung);
    });
    document.title = offers.length
      ? "(" + offers.length + ") New offer · " + TITLE : TITLE;
  }

  // --- work ----------------------------------------------------------------------------------

  function refreshWork() {
    return api("GET", "/agents/me/work").then(function (views) {
      work = views;
      views.forEach(function (view) {
        if (!cards[view.conversation.id]) { loadCard(view.conversation.id); }
      });
      announceOffers();
      renderWork();
      if (selected) { renderConversation(); }
    });
  }

  function customerName(conversation) {
    var card = cards[conversation.id];
    if (card && card.customer) { return card.customer.display_name; }
    return (conversation.pre_chat && conversation.pre_chat.name) || conversation.customer_address;
  }

  function renderWork() {
    var list = $("work-list");
    list.replaceChildren();
    $("no-work").hidden = work.length > 0;
    work.forEach(function (view) {
      var item = el("li");
      item.dataset.conversation = view.conversation.id;
      if (view.conversation.id === selected) { item.className = "selected"; }
      item.appendChild(el("strong", "name", customerName(view.conversation)));
      item.appendChild(el("span", "channel", view.conversation.channel));
      item.appendChild(el("span", "status status-" + view.item.status,
        view.role === "consultant" ? "consulting" : view.item.status.replace("_", "-")));
      item.appendChild(el("span", "timer", elapsed(view)));
      if (view.item.status === "offered") {
        item.appendChild(el("span", "countdown", countdown(view)));
        item.appendChild(button("Accept", "accept", function () { act("accept", view); }));
        item.appendChild(button("Decline", "decline", function () { act("decline", view); }));
      } else {
        item.addEventListener("click", function () { select(view.conversation.id); });
      }
      list.appendChild(item);
    });
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
    lastMessages = "";
    $("reply-text").value = "";
    attached = [];
    renderAttached();
    closeQuick();
    $("timeline-box").hidden = true;
    var card = cards[conversationId];
    if (card) { renderCard(card); }
    renderWork();
    renderConversation();
    loadCard(conversationId);
    loadPickers();
  }

  function selectable() {
    return work.filter(function (v) { return v.item.status !== "offered"; });
  }

  function step(by) {
    var views = selectable();
    if (!views.length) { return; }
    var at = views.map(function (v) { return v.conversation.id; }).indexOf(selected);
    var next = at < 0 ? (by > 0 ? 0 : views.length - 1) : (at + by + views.length) % views.length;
    select(views[next].conversation.id);
  }

  // --- the customer's card -----------------------------------------------------------------

  function loadCard(conversationId) {
    return api("GET", "/conversations/" + encodeURIComponent(conversationId) + "/customer")
      .then(function (card) {
        cards[conversationId] = card;
        renderWork();
        if (conversationId === selected) { renderCard(card); loadTimeline(card); }
      }).catch(function () { /* not ours any more: the next refresh shows it */ });
  }

  function renderCard(card) {
    $("customer-panel").hidden = false;
    var customer = card.customer;
    $("customer-name").textContent = customer ? customer.display_name
      : (card.pre_chat.name || "Unidentified customer");
    $("customer-name").classList.toggle("unidentified", !customer);
    var ids = $("customer-identifiers");
    ids.replaceChildren();
    fact(ids, card.channel === "chat" ? "Visitor" : "From", card.customer_address);
    fact(ids, "Status", customer ? "identified" : "unidentified");
    if (customer) {
      fact(ids, "Mobile", customer.mobile_phone);
      fact(ids, "Account phone", customer.account_phone);
      fact(ids, "Email", customer.email);
      fact(ids, "Record", customer.id);
    }
    fact(ids, "Language", card.locale);
    var candidates = $("candidate-list");
    candidates.replaceChildren();
    $("candidates").hidden = card.candidates.length === 0;
    card.candidates.forEach(function (c) {
      var row = el("li");
      var details = [c.mobile_phone, c.account_phone, c.email].filter(Boolean).join(" · ");
      row.appendChild(el("span", null, c.display_name + (details ? " (" + details + ")" : "")));
      row.appendChild(button("This is " + c.display_name, "identify", function () {
        api("PUT", path("customer"), { customer_id: c.id }).then(function (chosen) {
          cards[card.conversation_id] = chosen;
          renderCard(chosen);
          loadTimeline(chosen);
          renderWork();
        }).catch(fail);
      }));
      candidates.appendChild(row);
    });
    ["pre_chat", "context"].forEach(function (field) {
      var list = $(field === "pre_chat" ? "pre-chat" : "context");
      var keys = Object.keys(card[field] || {});
      list.replaceChildren();
      keys.forEach(function (key) { fact(list, key, card[field][key]); });
      $(field === "pre_chat" ? "pre-chat-title" : "context-title").hidden = keys.length === 0;
    });
  }

  // --- the customer's earlier conversations --------------------------------------------------

  var queueNames = {}; // queue id -> name, from the transfer picker's list
  var namesRead = Promise.resolve(); // that list read: the timeline names queues after it

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "open"; }
    return clock(seconds);
  }

  function loadTimeline(card) {
    var box = $("timeline-box");
    if (!card.customer) { box.hidden = true; return; }
    Promise.all([
      api("GET", "/customers/" + encodeURIComponent(card.customer.id) + "/timeline?limit=20"),
      namesRead
    ])
      .then(function (read) {
        var page = read[0];
        if (card.conversation_id !== selected) { return; }
        var earlier = page.items.filter(function (e) { return e.conversation_id !== selected; });
        var list = $("timeline");
        list.replaceChildren();
        earlier.forEach(function (entry) { list.appendChild(timelineEntry(entry)); });
        $("no-timeline").hidden = earlier.length > 0;
        box.hidden = false;
      })
      .catch(function () { box.hidden = true; });
  }

  function timelineEntry(entry) {
    var item = el("li");
    item.dataset.conversation = entry.conversation_id;
    item.appendChild(el("span", "when", when(entry.opened_at)));
    var parts = [entry.channel, queueNames[entry.queue_id] || entry.queue_id,
      entry.agent_id, duration(entry.duration_seconds), entry.outcome || entry.status];
    item.appendChild(el("span", "what", parts.filter(Boolean).join(" · ")));
    if (entry.csat) {
      item.appendChild(el("span", "csat", "CSAT " + entry.csat.score + "/5"
        + (entry.csat.comment ? ": " + entry.csat.comment : "")));
    }
    if (entry.wrap_up && (entry.wrap_up.disposition_label || entry.wrap_up.summary)) {
      item.appendChild(el("span", "disposition", [entry.wrap_up.disposition_label,
        entry.wrap_up.summary].filter(Boolean).join(": ")));
    }
    if (entry.transcript_url) {
      var shown = el("ol", "messages past");
      shown.hidden = true;
      item.appendChild(button("Transcript", "transcript", function () {
        shown.hidden = !shown.hidden;
        if (shown.hidden || shown.childElementCount) { return; }
        // The timeline names the API path; the client adds /api itself.
        api("GET", entry.transcript_url.replace(/^\/api/, "")).then(function (messages) {
          messages.forEach(function (m) { shown.appendChild(messageItem(m)); });
        }).catch(fail);
      }));
      item.appendChild(shown);
    }
    return item;
  }

  // --- the conversation -----------------------------------------------------------------------

  var lastMessages = "";

  function renderConversation() {
    var view = current();
    var pane = $("conversation");
    pane.hidden = !selected;
    $("customer-panel").hidden = !selected;
    if (!selected) { return; }
    var closed = !view;
    var status = view ? view.item.status : "closed";
    var consultant = view && view.role === "consultant";
    $("conversation-title").textContent = view ? customerName(view.conversation)
      : "Closed conversation";
    $("conversation-state").textContent = closed ? "closed"
      : (consultant ? "consulting" : status.replace("_", "-"));
    $("conversation-timer").textContent = view ? elapsed(view) : "";
    $("primary-actions").hidden = closed || consultant || status !== "active";
    $("wrap-up").hidden = consultant || status !== "wrap_up";
    if (status === "wrap_up" && !consultant) { loadWrapUp(view); } else { wrapUpFor = null; }
    $("leave").hidden = !consultant;
    $("reopen").hidden = !closed;
    $("transcript").hidden = false;
    $("reply").hidden = closed || status === "wrap_up";
    $("reply-internal").disabled = !!consultant;
    $("attach-box").hidden = !view || view.role !== "primary";
    if (consultant) { $("reply-internal").checked = true; }
    var conversationId = selected;
    api("GET", path("messages")).then(function (messages) {
      if (conversationId === selected) { renderMessages(messages); }
    }).catch(fail);
    if (view && !closed) {
      api("GET", path("typing")).then(function (typing) {
        if (conversationId !== selected) { return; }
        $("customer-typing").hidden = !typing.customer_typing;
        var read = typing.customer_last_read_at;
        $("read-state").hidden = !read;
        $("read-state").textContent = read ? "Read " + new Date(read).toLocaleTimeString() : "";
      }).catch(function () { $("customer-typing").hidden = true; });
    } else {
      $("customer-typing").hidden = true;
      $("read-state").hidden = true;
    }
  }

  function renderMessages(messages) {
    var key = messages.map(function (m) { return m.id + ":" + m.status; }).join(",");
    if (key === lastMessages) { return; }
    lastMessages = key;
    var list = $("messages");
    list.replaceChildren();
    messages.forEach(function (m) { list.appendChild(messageItem(m)); });
    list.scrollTop = list.scrollHeight;
  }

  function messageItem(m) {
    var item = el("li", m.internal ? "note" : m.sender);
    var label = m.internal ? "Internal note" + (m.agent_id ? " · " + m.agent_id : "")
      : (m.sender === "agent" ? (m.agent_id || "agent") : m.sender);
    if (m.status && m.sender === "agent") { label += " · " + m.status; }
    item.appendChild(el("span", "label", label));
    item.appendChild(el("span", "text", m.text));
    (m.media || []).forEach(function (file) { item.appendChild(mediaLink(file)); });
    return item;
  }

  function mediaLink(file) {
    var name = file.name || file.content_type || "file";
    var url = safeUrl(file.url);
    var link = el(url ? "a" : "span", "media", name);
    if (url) {
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    return link;
  }

  function send(event) {
    if (event) { event.preventDefault(); }
    var text = $("reply-text").value;
    if (!text.trim() || !selected) { return; }
    var internal = $("reply-internal").checked;
    var body = { text: text, internal: internal };
    if (attached.length) {
      body.media = attached.map(function (file) { return { attachment_id: file.id }; });
    }
    api("POST", path("messages"), body)
      .then(function () {
        $("reply-text").value = "";
        attached = [];
        renderAttached();
        renderConversation();
      })
      .catch(fail);
  }

  // --- files sent with a reply ----------------------------------------------------------------

  var attached = []; // uploaded, not sent yet: {id, name, size}

  function upload() {
    var file = $("attach-file").files[0];
    $("attach-file").value = "";
    if (!file || !selected) { return; }
    // The raw bytes with their type; the server checks size and type (413, 415, 422).
    fetch("/api" + path("attachments") + "?name=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: {
        Authorization: "Bearer " + token,
        "Content-Type": file.type || "application/octet-stream"
      },
      body: file
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.detail || response.statusText); }
        return data;
      });
    }).then(function (uploaded) {
      attached.push(uploaded);
      renderAttached();
      showError("");
    }).catch(fail);
  }

  function renderAttached() {
    var list = $("attached");
    list.replaceChildren();
    attached.forEach(function (file, i) {
      var item = el("li", null, file.name);
      item.appendChild(button("×", "unattach", function () {
        attached.splice(i, 1);
        renderAttached();
      }));
      list.appendChild(item);
    });
  }

  function typed() {
    // The customer sees the agent typing: said again every few seconds while keys come.
    var view = current();
    if (!view || view.role !== "primary" || $("reply-internal").checked) { return; }
    if (Date.now() - lastTyped < TYPING_REPEAT_MS) { return; }
    lastTyped = Date.now();
    api("POST", path("typing")).catch(function () { /* typing is best effort */ });
  }

  // --- consult and transfer pickers -------------------------------------------------------

  function loadPickers() {
    var view = current();
    var consult = $("consult-candidates"), transfer = $("transfer-target");
    consult.replaceChildren();
    transfer.replaceChildren();
    if (!view || view.role !== "primary" || view.item.status !== "active") { return; }
    var conversationId = selected;
    api("GET", path("consult-candidates")).then(function (candidates) {
      if (conversationId !== selected) { return; }
      consult.replaceChildren(option("", candidates.length ? "Consult whom?" : "No one free"));
      candidates.forEach(function (c) { consult.appendChild(option(c.agent_id, c.display_name)); });
    }).catch(function () { /* not primary any more: the next refresh shows it */ });
    namesRead = api("GET", path("transfer-targets")).then(function (targets) {
      if (conversationId !== selected) { return; }
      transfer.replaceChildren(option("", "Transfer to…"));
      var queues = el("optgroup"), agents = el("optgroup");
      queues.label = "Queues";
      agents.label = "Agents";
      targets.queues.forEach(function (q) {
        queueNames[q.id] = q.name;
        queues.appendChild(option("queue:" + q.id, q.name));
      });
      targets.agents.forEach(function (a) {
        agents.appendChild(option("agent:" + a.agent_id, a.display_name));
      });
      transfer.appendChild(queues);
      if (targets.agents.length) { transfer.appendChild(agents); }
    }).catch(function () { /* not primary any more: the timeline shows queue ids */ });
  }

  function conversationAction(action, body) {
    return api("POST", path(action), body)
      .then(refreshWork).then(renderConversation).catch(fail);
  }

  function transfer() {
    var target = $("transfer-target").value;
    if (!target) { return; }
    var colon = target.indexOf(":");
    var body = {};
    body[target.slice(0, colon) + "_id"] = target.slice(colon + 1);
    conversationAction("transfer", body).then(function () { selected = null; renderConversation(); });
  }

  function end() {
    var view = current();
    if (view && view.role === "primary" && view.item.status === "active") {
      conversationAction("end").then(function () { $("close").focus(); });
    }
  }

  // --- wrap-up and the transcript ------------------------------------------------------------

  var wrapUpFor = null; // the conversation whose wrap-up form is filled

  function loadWrapUp(view) {
    if (wrapUpFor === selected) { return; }
    wrapUpFor = selected;
    var codes = $("disposition");
    codes.replaceChildren();
    $("disposition-box").hidden = true;
    $("summary-box").hidden = true;
    $("summary").value = "";
    var conversationId = selected;
    // The workstream's disposition codes and the wrap-up written so far; without the wrap-up
    // API the form is the close button alone.
    api("GET", path("wrap-up")).then(function (options) {
      if (conversationId !== selected) { return; }
      var given = options.wrap_up || (view && view.conversation.wrap_up) || null;
      if (options.disposition_codes.length) {
        codes.appendChild(option("", "Choose a disposition…"));
        options.disposition_codes.forEach(function (c) {
          codes.appendChild(option(c.code, c.label));
        });
        codes.value = (given && given.disposition_code) || "";
        codes.required = !!options.code_required;
        $("disposition-box").hidden = false;
      }
      $("summary").value = (given && given.summary) || "";
      $("summary-box").hidden = false;
    }).catch(function () { /* closing alone */ });
  }

  function closeWork(event) {
    event.preventDefault();
    var written = $("summary-box").hidden ? null : {
      disposition_code: $("disposition-box").hidden ? null : ($("disposition").value || null),
      summary: $("summary").value
    };
    (written ? api("POST", path("wrap-up"), written) : Promise.resolve(null))
      .then(function () { return conversationAction("close"); })
      .catch(fail);
  }

  function downloadTranscript(format) {
    var file = "transcript-" + selected + (format === "html" ? ".html" : ".txt");
    Desk.download(path("transcript") + "?format=" + format, token, file).catch(fail);
  }

  // --- keyboard -----------------------------------------------------------------------------

  // One table: the handler reads it and the help overlay shows it.
  var SHORTCUTS = [
    { keys: "Alt+A", label: "Accept the oldest offer", alt: "a",
      run: function () {
        var offer = work.filter(function (v) { return v.item.status === "offered"; })[0];
        if (offer) { act("accept", offer); }
      } },
    { keys: "Alt+↓", label: "Next conversation", alt: "ArrowDown", run: function () { step(1); } },
    { keys: "Alt+↑", label: "Previous conversation", alt: "ArrowUp", run: function () { step(-1); } },
    { keys: "Alt+R", label: "Write a reply", alt: "r",
      run: function () { if (!$("reply").hidden) { $("reply-text").focus(); } } },
    { keys: "Ctrl+Enter", label: "Send the reply", run: null },
    { keys: "/", label: "Quick replies (typed first in the reply box)", run: null },
    { keys: "Alt+N", label: "Internal note on or off", alt: "n",
      run: function () { var box = $("reply-internal"); if (!box.disabled) { box.checked = !box.checked; } } },
    { keys: "Alt+E", label: "End the conversation (wrap-up)", alt: "e", run: end },
    { keys: "?", label: "This help", run: null },
    { keys: "Esc", label: "Close this help or the quick replies", run: null }
  ];

  function renderShortcuts() {
    var table = $("shortcuts");
    SHORTCUTS.forEach(function (s) {
      var row = el("tr");
      var keys = el("td");
      keys.appendChild(el("kbd", null, s.keys));
      row.appendChild(keys);
      row.appendChild(el("td", null, s.label));
      table.appendChild(row);
    });
  }

  function toggleHelp(show) {
    $("help").hidden = !show;
    if (show) { $("help-close").focus(); }
  }

  function typingTarget(target) {
    return target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT"
      || (target.tagName === "INPUT" && target.type !== "checkbox"));
  }

  function onKey(event) {
    if (!token) { return; }
    if (event.key === "Escape" && !$("help").hidden) { toggleHelp(false); return; }
    if (event.key === "?" && !typingTarget(event.target)) {
      event.preventDefault();
      toggleHelp($("help").hidden);
      return;
    }
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      var shortcut = SHORTCUTS.filter(function (s) { return s.alt === key; })[0];
      if (shortcut) { event.preventDefault(); shortcut.run(); }
    }
  }

  // --- quick replies: "/" then words in the reply box ---------------------------------------

  var quick = { items: [], at: 0, asked: "", timer: null };

  function quickQuery() {
    var text = $("reply-text").value;
    return /^\/[^\n]*$/.test(text) ? text.slice(1) : null;
  }

  function quickOpen() { return !$("quick-replies").hidden; }

  function closeQuick() {
    $("quick-replies").hidden = true;
    quick.items = [];
    quick.asked = "";
  }

  function lookUpQuick() {
    var words = quickQuery();
    if (words === null || !selected) { closeQuick(); return; }
    clearTimeout(quick.timer);
    quick.timer = setTimeout(function () {
      var conversationId = selected;
      quick.asked = words;
      api("GET", "/quick-replies?q=" + encodeURIComponent(words.trim())
        + "&conversation_id=" + encodeURIComponent(conversationId))
        .then(function (found) {
          // An answer to an older question, or for another conversation, is dropped.
          if (conversationId !== selected || quick.asked !== words || quickQuery() !== words) {
            return;
          }
          quick.items = found;
          quick.at = 0;
          renderQuick();
        }).catch(closeQuick);
    }, 120);
  }

  function renderQuick() {
    var list = $("quick-replies");
    list.replaceChildren();
    if (!quick.items.length) {
      list.appendChild(el("li", "muted", "No quick reply matches"));
    }
    quick.items.forEach(function (reply, i) {
      var item = el("li");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", String(i === quick.at));
      item.dataset.reply = reply.id;
      item.appendChild(el("strong", "title", reply.title));
      item.appendChild(el("span", "preview", reply.text));
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the reply box's focus
        insertQuick(reply);
      });
      list.appendChild(item);
    });
    list.hidden = false;
  }

  function insertQuick(reply) {
    closeQuick();
    // Filled for this conversation by the server: the customer's and agent's names, context.
    api("GET", path("quick-replies/" + encodeURIComponent(reply.id))).then(function (filled) {
      var box = $("reply-text");
      box.value = filled.text;
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
      showError(filled.missing && filled.missing.length
        ? "Fill in before sending: " + filled.missing.join(", ") : "");
    }).catch(fail);
  }

  function onReplyKey(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      closeQuick();
      send();
      return;
    }
    if (!quickOpen()) { return; }
    var count = quick.items.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (count) {
        quick.at = (quick.at + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
        renderQuick();
      }
    } else if (event.key === "Enter" || event.key === "Tab") {
      if (count) { event.preventDefault(); insertQuick(quick.items[quick.at]); }
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closeQuick();
    }
  }

  // --- sign-in ------------------------------------------------------------------------------

  function fail(error) { showError(error.message); }

  function signIn(event) {
    event.preventDefault();
    token = $("token").value.trim();
    $("token").value = ""; // kept in memory only: a reload signs in again
    var Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !audio) { audio = new Context(); }
    api("POST", "/agents/me/sign-in").then(function () {
      showError("");
      $("sign-in").hidden = true;
      $("console").hidden = false;
      $("presence-box").hidden = false;
      $("sign-out").hidden = false;
      $("help-button").hidden = false;
      $("who").textContent = "Signed in";
      return Promise.all([loadPresence(), refreshWork()]);
    }).then(function () {
      timers = [
        setInterval(function () { api("POST", "/agents/me/heartbeat").catch(fail); }, HEARTBEAT_MS),
        setInterval(function () { refreshWork().catch(fail); }, POLL_MS),
        setInterval(tick, 1000)
      ];
    }).catch(fail);
  }

  function tick() {
    document.querySelectorAll(".work-list li").forEach(function (li, i) {
      if (!work[i]) { return; }
      var timer = li.querySelector(".timer"), left = li.querySelector(".countdown");
      if (timer) { timer.textContent = elapsed(work[i]); }
      if (left) { left.textContent = countdown(work[i]); }
    });
    var view = current();
    if (view) { $("conversation-timer").textContent = elapsed(view); }
  }

  function signOut() {
    api("POST", "/agents/me/sign-out").finally(function () {
      (timers || []).forEach(clearInterval);
      token = null; selected = null; work = []; cards = {};
      document.title = TITLE;
      $("sign-in").hidden = false;
      $("console").hidden = true;
      $("presence-box").hidden = true;
      $("sign-out").hidden = true;
      $("help-button").hidden = true;
      $("who").textContent = "";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderShortcuts();
    $("sign-in").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("presence").addEventListener("change", choosePresence);
    $("reply").addEventListener("submit", send);
    $("reply-text").addEventListener("keydown", onReplyKey);
    $("reply-text").addEventListener("input", function () {
      if (quickQuery() === null) { typed(); }
      lookUpQuick();
    });
    $("reply-text").addEventListener("blur", function () { setTimeout(closeQuick, 150); });
    $("consult").addEventListener("click", function () {
      var agentId = $("consult-candidates").value;
      if (agentId) { conversationAction("consult", { agent_id: agentId }).then(loadPickers); }
    });
    $("transfer").addEventListener("click", transfer);
    $("end").addEventListener("click", end);
    $("wrap-up").addEventListener("submit", closeWork);
    $("attach").addEventListener("click", function () { $("attach-file").click(); });
    $("attach-file").addEventListener("change", upload);
    $("transcript-text").addEventListener("click", function () { downloadTranscript("text"); });
    $("transcript-html").addEventListener("click", function () { downloadTranscript("html"); });
    $("reopen").addEventListener("click", function () { conversationAction("reopen"); });
    $("leave").addEventListener("click", function () {
      conversationAction("consult/leave").then(function () { selected = null; renderConversation(); });
    });
    $("help-button").addEventListener("click", function () { toggleHelp(true); });
    $("help-close").addEventListener("click", function () { toggleHelp(false); });
    document.addEventListener("keydown", onKey);
  });
})();
