/* The supervisor page: a thin client of the supervisor API. Live conversations, agents and
 * today's figures with two small SVG charts (no library). Every text that came from a customer,
 * an agent or the configuration is put on the page with textContent, never parsed as markup. */
(function () {
  "use strict";
  var POLL_MS = 3000;
  var SVG = "http://www.w3.org/2000/svg";
  var token = null;
  var monitored = null; // conversation id
  var poller = null;

  var $ = Desk.$, showError = Desk.showError, el = Desk.el;
  var api = Desk.client(function () { return token; });

  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (cell) {
      if (cell instanceof Node) {
        var td = document.createElement("td");
        td.appendChild(cell);
        tr.appendChild(td);
      } else {
        tr.appendChild(el("td", typeof cell === "number" ? "num" : "", cell));
      }
    });
    return tr;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "–"; }
    var s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + ":" : "") + two(m) + ":" + two(s % 60);
  }

  function percent(share) {
    return share === null || share === undefined ? "–" : Math.round(share * 100) + " %";
  }

  // --- all the cursor's pages: no cap on conversations or agents --------------------------

  function everything(path) {
    var found = [];
    function page(cursor) {
      var sep = path.indexOf("?") < 0 ? "?" : "&";
      var url = path + sep + "limit=200" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      return api("GET", url).then(function (body) {
        found = found.concat(body.items);
        return body.next_cursor ? page(body.next_cursor) : found;
      });
    }
    return page(null);
  }

  // --- charts -------------------------------------------------------------------------------

  function svg(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }

  /* Grouped bars: groups = [{label, values: [number...]}], one class per series. */
  function barChart(chart, groups, classes) {
    chart.replaceChildren();
    var width = 480, height = 200, bottom = 24, top = 14, left = 8;
    var most = 1;
    groups.forEach(function (g) { g.values.forEach(function (v) { most = Math.max(most, v); }); });
    var slot = (width - left * 2) / Math.max(groups.length, 1);
    var bar = Math.min(40, (slot - 10) / classes.length);
    groups.forEach(function (g, i) {
      g.values.forEach(function (value, j) {
        var h = (height - bottom - top) * value / most;
        var x = left + i * slot + (slot - bar * classes.length) / 2 + j * bar;
        var rect = svg("rect", {
          x: x, y: height - bottom - h, width: Math.max(bar - 2, 1), height: h, class: classes[j]
        });
        rect.appendChild(svg("title", {}, g.label + ": " + value));
        chart.appendChild(rect);
        chart.appendChild(svg("text", { x: x + 2, y: height - bottom - h - 3 }, value));
      });
      chart.appendChild(svg("text", { x: left + i * slot + 4, y: height - 8 }, g.label));
    });
  }

  // --- figures ------------------------------------------------------------------------------

  // The day's average satisfaction (1 to 5) and how many answers it comes from.
  function csat(figures) {
    if (!figures.csat_answers) { return "–"; }
    return figures.average_csat.toFixed(1) + " (" + figures.csat_answers + ")";
  }

  function renderIntraday(intraday) {
    $("day").textContent = intraday.day + " (" + intraday.time_zone + "), target " +
      percent(intraday.service_level_target) + " within " + intraday.service_level_seconds + " s";
    var body = $("queues").querySelector("tbody");
    body.replaceChildren();
    intraday.queues.forEach(function (q) {
      var needed = q.staffing ? q.staffing.agents_needed : "–";
      var tr = row([q.name, q.waiting_now, duration(q.longest_waiting_seconds), q.incoming,
        q.offered, q.assigned, q.abandoned, q.transfers, percent(q.service_level),
        duration(q.average_handle_seconds), csat(q), q.agents_available, needed]);
      tr.dataset.queue = q.key;
      if (q.staffing && q.staffing.shortfall > 0) { tr.lastChild.className = "num short"; }
      body.appendChild(tr);
    });
    var agents = $("agent-figures").querySelector("tbody");
    agents.replaceChildren();
    intraday.agents.forEach(function (a) {
      var tr = row([a.key, a.offered, a.assigned, a.handled, duration(a.average_handle_seconds),
        csat(a), a.transfers, duration(a.available_seconds), duration(a.busy_seconds),
        duration(a.busy_dnd_seconds), duration(a.away_seconds), duration(a.offline_seconds)]);
      tr.dataset.agent = a.key;
      agents.appendChild(tr);
    });
    barChart($("staffing-chart"), intraday.queues.map(function (q) {
      return { label: q.name, values: [q.staffing ? q.staffing.agents_needed : 0, q.agents_available] };
    }), ["needed", "available"]);
  }

  function isoDay(date) { return date.toISOString().slice(0, 10); }

  function renderHistory(today) {
    var last = new Date(today + "T00:00:00Z");
    var first = new Date(last.getTime() - 6 * 86400000);
    return api("GET", "/supervisor/history?group_by=day&from=" + isoDay(first) + "&to=" + today)
      .then(function (history) {
        barChart($("history-chart"), history.rows.map(function (r) {
          return { label: r.group.slice(5), values: [r.incoming] };
        }), ["arrivals"]);
      });
  }

  // --- conversations and agents -------------------------------------------------------------

  function renderConversations(states) {
    var body = $("conversations").querySelector("tbody");
    body.replaceChildren();
    $("no-conversations").hidden = states.length > 0;
    states.forEach(function (s) {
      var c = s.conversation, item = s.item;
      var mood = el("span", "sentiment", c.sentiment ? c.sentiment.label : "–");
      if (c.sentiment) { mood.className += " sentiment-" + c.sentiment.label; }
      var watch = el("button", "", "Monitor");
      watch.type = "button";
      watch.name = "monitor";
      watch.addEventListener("click", function () { monitor(c.id); });
      var tr = row([c.customer_address || c.id, c.channel, item ? item.status : "–",
        item ? item.queue_id : "–", item && item.agent_id ? item.agent_id : "–", mood, watch]);
      tr.dataset.conversation = c.id;
      body.appendChild(tr);
    });
  }

  function renderAgents(agents) {
    var body = $("agents").querySelector("tbody");
    body.replaceChildren();
    agents.forEach(function (a) {
      var tr = row([a.display_name, a.presence.replace("_", " "), duration(a.seconds_in_presence),
        a.used_capacity + " / " + a.max_capacity, a.items.length]);
      tr.dataset.agent = a.agent_id;
      body.appendChild(tr);
    });
  }

  // --- monitor and take over ----------------------------------------------------------------

  function renderMonitored(view) {
    $("monitor").hidden = false;
    $("monitor-title").textContent = view.conversation.channel + " · " +
      (view.conversation.customer_address || view.conversation.id);
    $("monitor-state").textContent = view.item
      ? view.item.status + (view.item.agent_id ? " · " + view.item.agent_id : "") : "no work";
    var list = $("transcript");
    list.replaceChildren();
    view.messages.forEach(function (m) {
      var item = el("li", m.internal ? "note" : m.sender);
      var label = m.internal ? "Internal note" + (m.agent_id ? " · " + m.agent_id : "")
        : (m.sender === "agent" ? (m.agent_id || "agent") : m.sender);
      item.appendChild(el("span", "label", label));
      item.appendChild(el("span", "text", m.text));
      list.appendChild(item);
    });
  }

  function monitor(id) {
    monitored = id;
    return api("GET", "/supervisor/conversations/" + encodeURIComponent(id))
      .then(renderMonitored).catch(function (e) { showError(e.message); });
  }

  function takeOver() {
    if (!monitored) { return; }
    api("POST", "/supervisor/conversations/" + encodeURIComponent(monitored) + "/take-over")
      .then(function () { showError(""); return refresh(); })
      .catch(function (e) { showError("Take over: " + e.message); });
  }

  function downloadTranscript(format) {
    if (!monitored) { return; }
    var file = "transcript-" + monitored + (format === "html" ? ".html" : ".txt");
    Desk.download("/supervisor/conversations/" + encodeURIComponent(monitored) +
      "/transcript?format=" + format, token, file)
      .catch(function (e) { showError("Transcript: " + e.message); });
  }

  // --- the loop -----------------------------------------------------------------------------

  function refresh() {
    return Promise.all([
      api("GET", "/supervisor/intraday"),
      everything("/supervisor/conversations"),
      everything("/supervisor/agents"),
    ]).then(function (found) {
      renderIntraday(found[0]);
      renderConversations(found[1]);
      renderAgents(found[2]);
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
      var pending = [renderHistory(found[0].day)];
      if (monitored) { pending.push(monitor(monitored)); }
      return Promise.all(pending);
    }).catch(function (e) { showError(e.message); });
  }

  function signIn(event) {
    event.preventDefault();
    token = $("token").value.trim();
    api("GET", "/supervisor/intraday").then(function () {
      showError("");
      $("sign-in").hidden = true;
      $("board").hidden = false;
      $("sign-out").hidden = false;
      refresh();
      poller = setInterval(refresh, POLL_MS);
    }).catch(function (e) { token = null; showError("Sign-in failed: " + e.message); });
  }

  function signOut() {
    clearInterval(poller);
    token = null;
    monitored = null;
    $("board").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("sign-in").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("take-over").addEventListener("click", takeOver);
    $("transcript-text").addEventListener("click", function () { downloadTranscript("text"); });
    $("transcript-html").addEventListener("click", function () { downloadTranscript("html"); });
    $("stop-monitoring").addEventListener("click", function () {
      monitored = null;
      $("monitor").hidden = true;
    });
  });
})();
