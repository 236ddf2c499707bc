/*
 * Omnichannel chat widget. Paste into any page:
 *   <script src="https://<app>/api/chat/widget.js" data-widget-id="<widget id>" defer></script>
 *
 * It keeps only the conversation token (and the read cursor) in localStorage, so the same
 * conversation resumes on every page of the site and after a reload; it long-polls the chat
 * API for news. Every text a customer or an agent wrote is shown with textContent: nothing of
 * theirs is ever parsed as HTML. It shows the agent typing, tells the agent when the visitor
 * types (a signal every few seconds while they do) and when the visitor has the messages in
 * view (a read mark), and shows an agent's files by their signed links (images inline).
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    return;
  }
  var widgetId = script.getAttribute("data-widget-id") || "";
  var api = (script.getAttribute("data-api") || new URL(script.src).origin).replace(/\/$/, "");
  var storageKey = "omnichannel-chat:" + widgetId;
  var WAIT_SECONDS = 20;
  var TYPING_EVERY_MS = 3000; /* the signal lasts a few seconds on the agent's side */

  var lastTypingSent = 0;
  var unread = false; /* messages arrived since the last read mark */

  var saved = load();
  var running = false;
  var ui = build();

  function load() {
    try {
      var raw = window.localStorage.getItem(storageKey);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function save(session) {
    saved = session;
    try {
      if (session) {
        window.localStorage.setItem(storageKey, JSON.stringify(session));
      } else {
        window.localStorage.removeItem(storageKey);
      }
    } catch (e) {
      /* storage refused (private mode): the chat lasts as long as the page */
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function build() {
    var style = el("style");
    style.textContent =
      ".occ-button{position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:12px 18px;" +
      "border:0;border-radius:24px;background:#0b5cad;color:#fff;font:15px sans-serif;cursor:pointer}" +
      ".occ-panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:320px;max-height:480px;" +
      "display:flex;flex-direction:column;background:#fff;border:1px solid #ccd;border-radius:8px;" +
      "font:14px sans-serif;box-shadow:0 4px 16px rgba(0,0,0,.2)}" +
      ".occ-status{padding:8px 12px;background:#eef3fa;border-bottom:1px solid #ccd}" +
      ".occ-log{flex:1;overflow-y:auto;padding:8px 12px;min-height:160px}" +
      ".occ-msg{margin:6px 0;white-space:pre-wrap;word-wrap:break-word}" +
      ".occ-customer{text-align:right}.occ-system{color:#666;font-style:italic}" +
      ".occ-who{display:block;font-size:11px;color:#666}" +
      ".occ-form,.occ-compose{display:flex;flex-direction:column;gap:6px;padding:8px 12px}" +
      ".occ-compose{flex-direction:row}.occ-compose input{flex:1}" +
      ".occ-typing{padding:0 12px 4px;color:#666;font-size:12px;font-style:italic}" +
      ".occ-attachment{display:block}.occ-image{display:block;max-width:100%;max-height:200px}" +
      ".occ-after{display:flex;flex-direction:column;gap:6px;padding:8px 12px;border-top:1px solid #ccd}" +
      ".occ-scores{display:flex;gap:4px}.occ-scores button{flex:1}" +
      ".occ-scores button[aria-pressed=true]{background:#0b5cad;color:#fff}" +
      ".occ-hidden{display:none}";
    document.head.appendChild(style);

    var button = el("button", "occ-button", "Chat with us");
    button.type = "button";
    var panel = el("div", "occ-panel occ-hidden");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", "Chat");
    var status = el("div", "occ-status", "");
    var form = el("form", "occ-form occ-hidden");
    var log = el("div", "occ-log");
    log.setAttribute("aria-live", "polite");
    var compose = el("form", "occ-compose occ-hidden");
    var input = el("input");
    input.name = "text";
    input.autocomplete = "off";
    input.setAttribute("aria-label", "Message");
    var send = el("button", null, "Send");
    send.type = "submit";
    var leave = el("button", null, "End");
    leave.type = "button";
    compose.appendChild(input);
    compose.appendChild(send);
    compose.appendChild(leave);
    panel.appendChild(status);
    panel.appendChild(form);
    var typing = el("div", "occ-typing occ-hidden");
    typing.setAttribute("aria-live", "polite");
    panel.appendChild(log);
    panel.appendChild(typing);
    panel.appendChild(compose);
    var after = el("div", "occ-after occ-hidden");
    panel.appendChild(after);
    document.body.appendChild(button);
    document.body.appendChild(panel);

    button.addEventListener("click", function () {
      var opening = panel.classList.contains("occ-hidden");
      panel.classList.toggle("occ-hidden");
      if (opening && !saved) {
        showPreChat();
      }
      if (opening) {
        markRead();
      }
    });
    input.addEventListener("input", function () {
      var now = Date.now();
      if (!saved || !input.value.trim() || now - lastTypingSent < TYPING_EVERY_MS) {
        return;
      }
      lastTypingSent = now;
      call("POST", "/sessions/" + saved.conversation_id + "/typing").catch(function () {
        /* a lost typing signal only hides an indicator for a moment */
      });
    });
    document.addEventListener("visibilitychange", markRead);
    compose.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text || !saved) {
        return;
      }
      input.value = "";
      lastTypingSent = 0;
      call("POST", "/sessions/" + saved.conversation_id + "/messages", {
        text: text,
        client_message_id: randomId(),
      }).catch(showError);
    });
    leave.addEventListener("click", function () {
      if (saved) {
        call("POST", "/sessions/" + saved.conversation_id + "/end").then(render, showError);
      }
    });
    return {
      panel: panel,
      status: status,
      form: form,
      log: log,
      typing: typing,
      compose: compose,
      after: after,
    };
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function call(method, path, body, token) {
    var headers = { "Content-Type": "application/json" };
    var bearer = token || (saved && saved.token);
    if (bearer) {
      headers.Authorization = "Bearer " + bearer;
    }
    return fetch(api + "/api/chat" + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 401 || response.status === 404) {
        if (saved && path.indexOf("/sessions/") === 0) {
          forget(); /* expired or unknown: start afresh */
        }
      }
      if (response.status === 204) {
        return null;
      }
      if (!response.ok) {
        return response.json().then(
          function (problem) {
            throw new Error(problem.detail || response.statusText);
          },
          function () {
            throw new Error(response.statusText);
          }
        );
      }
      return response.json();
    });
  }

  function showError(error) {
    ui.status.textContent = "Sorry: " + (error && error.message ? error.message : "try again");
  }

  function forget() {
    save(null);
    running = false;
    while (ui.log.firstChild) {
      ui.log.removeChild(ui.log.firstChild);
    }
  }

  function showPreChat() {
    ui.status.textContent = "Tell us who you are";
    ui.form.classList.remove("occ-hidden");
    ui.compose.classList.add("occ-hidden");
    call("GET", "/widgets/" + encodeURIComponent(widgetId)).then(function (widget) {
      while (ui.form.firstChild) {
        ui.form.removeChild(ui.form.firstChild);
      }
      widget.pre_chat.forEach(function (question) {
        var label = el("label", null, question.label + (question.required ? " *" : ""));
        var field = el("input");
        field.name = question.key;
        field.required = !!question.required;
        label.appendChild(field);
        ui.form.appendChild(label);
      });
      var start = el("button", null, "Start chat");
      start.type = "submit";
      ui.form.appendChild(start);
      ui.form.onsubmit = function (event) {
        event.preventDefault();
        var answers = {};
        widget.pre_chat.forEach(function (question) {
          var value = ui.form.elements[question.key].value.trim();
          if (value) {
            answers[question.key] = value;
          }
        });
        startSession(answers);
      };
    }, showError);
  }

  function startSession(answers) {
    var context = window.OmnichannelChatContext || {};
    call("POST", "/sessions", {
      widget_id: widgetId,
      pre_chat: answers,
      context: context,
      locale: navigator.language || undefined,
      client_session_id: randomId(),
    }).then(function (session) {
      save({ conversation_id: session.conversation_id, token: session.token, after: 0 });
      ui.form.classList.add("occ-hidden");
      poll();
    }, showError);
  }

  function appendMessage(message) {
    var item = el("div", "occ-msg occ-" + message.sender);
    if (message.sender !== "customer") {
      item.appendChild(el("span", "occ-who", message.sender_name || "System"));
    }
    item.appendChild(el("span", "occ-text", message.text));
    (message.attachments || []).forEach(function (attachment) {
      var link = el("a", "occ-attachment", attachment.name || "attachment");
      var trusted = fetchable(attachment.url);
      if (trusted) {
        link.href = attachment.url;
      }
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      item.appendChild(link);
      if (trusted && /^image\//.test(attachment.content_type || "")) {
        var image = el("img", "occ-image");
        image.alt = attachment.name || "image";
        image.src = attachment.url;
        link.appendChild(image);
      }
    });
    ui.log.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  /* Only https links, or the app's own signed download links (http on a developer's machine):
     never javascript: or data: URLs. */
  function fetchable(url) {
    return (
      typeof url === "string" &&
      (/^https:\/\//.test(url) || url.indexOf(api + "/api/attachments/") === 0)
    );
  }

  function inView() {
    return (
      !ui.panel.classList.contains("occ-hidden") && document.visibilityState !== "hidden"
    );
  }

  /* The visitor has the messages in view: the agent sees when it last read them. */
  function markRead() {
    if (!saved || !unread || !inView()) {
      return;
    }
    unread = false;
    call("POST", "/sessions/" + saved.conversation_id + "/read").catch(function () {
      unread = true; /* try again with the next news */
    });
  }

  function render(update) {
    update.messages.forEach(appendMessage);
    if (update.messages.length) {
      unread = true;
    }
    var typing = update.status === "connected" && update.agent_typing;
    ui.typing.textContent = typing ? (update.agent_name || "The agent") + " is typing…" : "";
    ui.typing.classList.toggle("occ-hidden", !typing);
    if (saved) {
      saved.after = update.next_after;
      saved.state = update.state;
      save(saved);
    }
    if (update.status === "waiting") {
      ui.status.textContent = "Waiting for an agent…";
    } else if (update.status === "connected") {
      ui.status.textContent = "You are chatting with " + (update.agent_name || "an agent");
    } else {
      ui.status.textContent = "The chat has ended";
    }
    ui.compose.classList.toggle("occ-hidden", update.status === "ended");
    markRead();
    return update;
  }

  function poll() {
    if (running || !saved) {
      return;
    }
    running = true;
    saved.after = 0; /* a page load shows the conversation from its start */
    saved.state = null;
    (function next() {
      if (!saved) {
        running = false;
        return;
      }
      var query = "?after=" + saved.after + "&wait=" + WAIT_SECONDS;
      if (saved.state) {
        query += "&state=" + encodeURIComponent(saved.state);
      }
      call("GET", "/sessions/" + saved.conversation_id + "/messages" + query).then(
        function (update) {
          render(update);
          if (update.status === "ended") {
            var finished = { conversation_id: saved.conversation_id, token: saved.token };
            save(null); /* the transcript stays on screen; the next chat is a new one */
            running = false;
            showAfterChat(finished);
            return;
          }
          next();
        },
        function (error) {
          showError(error);
          window.setTimeout(next, 3000); /* back off, never hammer */
        }
      );
    })();
  }

  /* After the chat: the workstream's survey (1-5 and a comment) and the transcript by email,
   * with the ended conversation's token kept in memory only. */
  function showAfterChat(finished) {
    var base = "/sessions/" + finished.conversation_id;
    call("GET", base + "/after", undefined, finished.token).then(function (offer) {
      if (!offer || !offer.ended) {
        return;
      }
      while (ui.after.firstChild) {
        ui.after.removeChild(ui.after.firstChild);
      }
      if (offer.survey && !offer.survey.answered) {
        ui.after.appendChild(surveyForm(offer.survey, base, finished.token));
      }
      if (offer.transcript_email) {
        ui.after.appendChild(emailForm(base, finished.token));
      }
      ui.after.classList.toggle("occ-hidden", !ui.after.firstChild);
    }, showError);
  }

  function surveyForm(survey, base, token) {
    var form = el("form", "occ-survey");
    form.appendChild(el("span", "occ-question", survey.question));
    var scores = el("div", "occ-scores");
    scores.setAttribute("role", "group");
    var chosen = 0;
    [1, 2, 3, 4, 5].forEach(function (score) {
      var choice = el("button", null, String(score));
      choice.type = "button";
      choice.setAttribute("aria-pressed", "false");
      choice.addEventListener("click", function () {
        chosen = score;
        Array.prototype.forEach.call(scores.children, function (other) {
          other.setAttribute("aria-pressed", other === choice ? "true" : "false");
        });
      });
      scores.appendChild(choice);
    });
    form.appendChild(scores);
    var comment = el("textarea");
    comment.name = "comment";
    comment.maxLength = 1000;
    comment.setAttribute("aria-label", "Comment (optional)");
    comment.placeholder = "Comment (optional)";
    form.appendChild(comment);
    var submit = el("button", null, "Send feedback");
    submit.type = "submit";
    form.appendChild(submit);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!chosen) {
        ui.status.textContent = "Pick a score from 1 to 5";
        return;
      }
      call("POST", base + "/survey", { score: chosen, comment: comment.value.trim() }, token).then(
        function () {
          form.parentNode.replaceChild(el("span", "occ-thanks", "Thank you for your feedback!"), form);
        },
        showError
      );
    });
    return form;
  }

  function emailForm(base, token) {
    var form = el("form", "occ-email");
    var address = el("input");
    address.type = "email";
    address.name = "email";
    address.required = true;
    address.placeholder = "you@example.com";
    address.setAttribute("aria-label", "Email address for the transcript");
    form.appendChild(address);
    var submit = el("button", null, "Email me the transcript");
    submit.type = "submit";
    form.appendChild(submit);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var to = address.value.trim();
      if (!to) {
        return;
      }
      call("POST", base + "/transcript-email", { email: to }, token).then(function (sent) {
        form.parentNode.replaceChild(el("span", "occ-sent", "Transcript sent to " + sent.sent_to), form);
      }, showError);
    });
    return form;
  }

  /* A site handing the visitor to another site passes the token along: resume() there. */
  window.OmnichannelChat = {
    session: function () {
      return saved ? { conversation_id: saved.conversation_id, token: saved.token } : null;
    },
    resume: function (conversationId, token) {
      save({ conversation_id: conversationId, token: token, after: 0 });
      poll();
    },
  };

  if (saved) {
    poll();
  }
})();
