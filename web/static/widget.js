/* Move to Luleå chat widget. A host site embeds it with one tag:
 *
 *   <script src="https://HOST/widget.js" data-lang="pl" defer></script>
 *
 * - Everything it draws lives in one shadow root (the host page's CSS cannot reach in, ours cannot
 *   leak out) and it defines exactly one global, window.MoveToLulea. No framework, nothing from a CDN:
 *   the script, its stylesheet and the API all come from the origin in the script's src.
 * - Only an opaque session id is kept (sessionStorage, so it is gone with the tab). The conversation
 *   itself stays on the server; after a reload the widget asks POST /api/history for it.
 * - Every interface text comes from knowledge/phrases.yml, built into this file by the /widget.js route
 *   (the CONFIG object below), in en, sv, pl, lt and lv.
 * - Bot text is plain text: paragraphs, "- " bullets and "1. " lists are drawn with DOM nodes and
 *   textContent only, so nothing the server sends can inject HTML.
 */
(function () {
  "use strict";
  if (window.MoveToLulea) return;

  var script = document.currentScript;
  var BASE = new URL(script && script.src ? script.src : "/widget.js", window.location.href).origin;
  var CONFIG = __WIDGET_CONFIG__;
  var STRINGS = CONFIG.strings;
  var LANGS = CONFIG.languages;
  var SESSION_KEY = "moveToLulea.session";
  var REQUEST_TIMEOUT_MS = 45000;

  // ------------------------------------------------------------------ storage (session id only)

  function storedSession() {
    try {
      var value = window.sessionStorage.getItem(SESSION_KEY);
      return value && /^[A-Za-z0-9_-]{16,64}$/.test(value) ? value : null;
    } catch (e) { return null; }  // storage disabled: the conversation lasts as long as the page
  }
  function storeSession(value) {
    try {
      if (value) window.sessionStorage.setItem(SESSION_KEY, value);
      else window.sessionStorage.removeItem(SESSION_KEY);
    } catch (e) { /* storage disabled */ }
  }

  function pickLang() {
    var wanted = script && (script.getAttribute("data-lang") || "").toLowerCase();
    if (LANGS.indexOf(wanted) >= 0) return wanted;
    var nav = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (var i = 0; i < nav.length; i++) {
      var code = String(nav[i]).slice(0, 2).toLowerCase();
      if (code === "nb" || code === "nn" || code === "no" || code === "da") code = "sv";
      if (LANGS.indexOf(code) >= 0) return code;
    }
    return CONFIG.defaultLanguage || "en";
  }

  var state = {
    lang: pickLang(),
    session: storedSession(),
    busy: false,
    lastRequest: null,
    backendDown: false,
    history: null,            // the promise of loading the conversation after a reload
    generation: 0,            // bumped by "start over": answers to older requests are dropped
    topics: {},               // lang -> [{id, title, payload}]
    overlay: null,            // null | "topics" | "contact"
    returnFocus: null
  };

  function t(key, values) {
    var entry = STRINGS[key];
    var text = (entry && (entry[state.lang] || entry.en)) || key;
    if (values) {
      text = text.replace(/\{(\w+)\}/g, function (m, name) { return values[name] != null ? String(values[name]) : m; });
    }
    return text;
  }

  // ------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] === false || attrs[k] == null) return;
        node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  // An element whose text (or an attribute) follows the interface language: applyStrings() refreshes it.
  function tx(node, key, attr) {
    node.setAttribute(attr ? "data-t-" + attr : "data-t", key);
    return node;
  }
  function svg(path, size) {
    var ns = "http://www.w3.org/2000/svg";
    var s = document.createElementNS(ns, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("width", size || "20");
    s.setAttribute("height", size || "20");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    p.setAttribute("fill", "currentColor");
    s.appendChild(p);
    return s;
  }
  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z";
  var ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z";
  var ICON_GLOBE = "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm6.9 6h-3a15.6 15.6 0 0 0-1.4-3.6A8 8 0 0 1 18.9 8zM12 4c.8 1.2 1.5 2.5 1.9 4h-3.8c.4-1.5 1.1-2.8 1.9-4zM4.3 14a8.2 8.2 0 0 1 0-4h3.4a16.5 16.5 0 0 0 0 4zm.8 2h3a15.6 15.6 0 0 0 1.4 3.6A8 8 0 0 1 5.1 16zm3-8h-3a8 8 0 0 1 4.4-3.6C8.9 5.5 8.4 6.7 8.1 8zM12 20c-.8-1.2-1.5-2.5-1.9-4h3.8c-.4 1.5-1.1 2.8-1.9 4zm2.3-6H9.7a14.7 14.7 0 0 1 0-4h4.6a14.7 14.7 0 0 1 0 4zm.2 5.6c.6-1.1 1.1-2.3 1.4-3.6h3a8 8 0 0 1-4.4 3.6zm1.8-5.6a16.5 16.5 0 0 0 0-4h3.4a8.2 8.2 0 0 1 0 4z";
  var ICON_SEND = "M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z";

  // ------------------------------------------------------------------ the structure

  var host = document.createElement("move-to-lulea-chat");
  host.style.setProperty("display", "none", "important");  // until our stylesheet has loaded
  var root = host.attachShadow({ mode: "open" });
  var stylesheet = el("link", { rel: "stylesheet", href: BASE + "/static/widget.css?v=" + encodeURIComponent(CONFIG.version) });
  function reveal() { host.style.removeProperty("display"); }
  stylesheet.addEventListener("load", reveal);
  stylesheet.addEventListener("error", reveal);
  root.appendChild(stylesheet);

  var launcherText = tx(el("span", { "class": "launcher-text" }), "widget_launcher");
  var launcher = tx(el("button", {
    "class": "launcher", type: "button", "aria-expanded": "false", "aria-controls": "mtl-panel"
  }, [svg(ICON_CHAT, "24"), launcherText]), "widget_open", "aria-label");

  var title = tx(el("h2", { id: "mtl-title", "class": "title" }), "widget_title");
  var closeButton = tx(el("button", { type: "button", "class": "icon-button close" }, [svg(ICON_CLOSE, "22")]), "widget_close", "aria-label");
  var langSelect = el("select", { id: "mtl-lang", "class": "lang-select" });
  LANGS.forEach(function (code) {
    var name = (STRINGS.language_name && STRINGS.language_name[code]) || code;
    langSelect.appendChild(el("option", { value: code, lang: code }, [name]));
  });
  var langLabel = el("label", { "for": "mtl-lang", "class": "lang-label" }, [svg(ICON_GLOBE, "18"), tx(el("span", { "class": "visually-hidden" }), "widget_language")]);
  var restartButton = tx(el("button", { type: "button", "class": "header-button restart" }), "start_over");
  var header = el("div", { "class": "header" }, [
    el("div", { "class": "header-row" }, [title, closeButton]),
    el("div", { "class": "header-row tools" }, [el("div", { "class": "lang" }, [langLabel, langSelect]), restartButton])
  ]);

  var privacyButton = el("button", { type: "button", "class": "link-button privacy-more" });
  var privacy = el("p", { "class": "privacy" }, [tx(el("span"), "widget_privacy"), " ", privacyButton]);
  var log = el("div", { "class": "log" });
  var typing = el("div", { "class": "typing", hidden: true }, [
    el("span", { "class": "dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
    tx(el("span", { "class": "typing-text" }), "widget_typing")
  ]);
  // The scrolling conversation: focusable, so keyboard users can scroll a long answer.
  var conversation = tx(el("div", { "class": "conversation", role: "region", tabindex: "0" }, [privacy, log]), "widget_conversation", "aria-label");
  // New bot messages are read out from here (polite), not from the log, so the mover's own
  // messages are not echoed back to them.
  var live = el("div", { "class": "visually-hidden", "aria-live": "polite", "aria-atomic": "false", role: "status" });

  var topicsButton = tx(el("button", { type: "button", "class": "chip" }), "browse_topics");
  var personButton = tx(el("button", { type: "button", "class": "chip" }), "talk_to_person");
  var shortcuts = el("div", { "class": "shortcuts" }, [topicsButton, personButton]);
  var input = tx(tx(el("textarea", {
    id: "mtl-input", rows: "1", maxlength: String(CONFIG.maxChars), autocomplete: "off", enterkeyhint: "send"
  }), "widget_placeholder", "placeholder"), "widget_placeholder", "aria-label");
  var sendButton = tx(el("button", { type: "submit", "class": "send" }, [svg(ICON_SEND, "20"), tx(el("span", { "class": "send-text" }), "widget_send")]), "widget_send", "aria-label");
  var composer = el("form", { "class": "composer", novalidate: true }, [input, sendButton]);
  var footer = el("div", { "class": "footer" }, [typing, shortcuts, composer]);

  var overlay = el("div", { "class": "overlay", hidden: true });
  var body = el("div", { "class": "body" }, [conversation, overlay, footer]);
  var panel = el("div", {
    id: "mtl-panel", "class": "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "mtl-title", hidden: true
  }, [header, body, live]);
  root.appendChild(launcher);
  root.appendChild(panel);

  function applyStrings() {
    Array.prototype.forEach.call(root.querySelectorAll("[data-t]"), function (node) {
      node.textContent = t(node.getAttribute("data-t"));
    });
    ["aria-label", "placeholder"].forEach(function (attr) {
      Array.prototype.forEach.call(root.querySelectorAll("[data-t-" + attr + "]"), function (node) {
        node.setAttribute(attr, t(node.getAttribute("data-t-" + attr)));
      });
    });
    var about = CONFIG.privacyTopic;
    privacyButton.textContent = about ? (about.title[state.lang] || about.title.en) : "";
    privacyButton.hidden = !about;
    langSelect.value = state.lang;
    panel.setAttribute("lang", state.lang);
    launcher.setAttribute("lang", state.lang);
  }

  // ------------------------------------------------------------------ rendering bot text safely

  var URL_RE = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'])/g;

  function safeUrl(url) {
    try {
      var u = new URL(url);
      return (u.protocol === "https:" || u.protocol === "http:") ? u.href : null;
    } catch (e) { return null; }
  }
  function newTabNote() { return tx(el("span", { "class": "visually-hidden" }), "widget_new_tab"); }
  function externalLink(href, text) {
    var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, [text, " "]);
    var note = newTabNote();
    note.textContent = t("widget_new_tab");
    a.appendChild(note);
    return a;
  }
  // Plain text with bare https links made clickable; everything else stays text.
  function appendInline(parent, text) {
    var last = 0;
    String(text).replace(URL_RE, function (match, url, offset) {
      if (offset > last) parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var href = safeUrl(url);
      parent.appendChild(href ? externalLink(href, url) : document.createTextNode(url));
      last = offset + match.length;
      return match;
    });
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function renderText(container, text) {
    String(text).replace(/\r\n/g, "\n").split(/\n\s*\n/).forEach(function (block) {
      var lines = block.split("\n").filter(function (l) { return l.trim() !== ""; });
      if (!lines.length) return;
      var bullet = /^\s*[-•*]\s+/, numbered = /^\s*\d{1,2}[.)]\s+/;
      var i = 0, p = null;
      function flushParagraph() { if (p) { container.appendChild(p); p = null; } }
      while (i < lines.length) {
        var kind = bullet.test(lines[i]) ? "ul" : numbered.test(lines[i]) ? "ol" : null;
        if (kind) {
          flushParagraph();
          var list = el(kind);
          var marker = kind === "ul" ? bullet : numbered;
          while (i < lines.length && marker.test(lines[i])) {
            var li = el("li");
            appendInline(li, lines[i].replace(marker, ""));
            list.appendChild(li);
            i++;
          }
          container.appendChild(list);
        } else {
          if (!p) p = el("p"); else p.appendChild(el("br"));
          appendInline(p, lines[i]);
          i++;
        }
      }
      flushParagraph();
    });
  }

  // ------------------------------------------------------------------ messages

  // Who said it, for screen readers (the bubbles' look says it to everyone else).
  function who(key) {
    var node = tx(el("span", { "class": "visually-hidden" }), key);
    node.textContent = t(key);
    return node;
  }

  function clearQuickReplies() {
    Array.prototype.forEach.call(log.querySelectorAll(".quick-replies"), function (group) { group.remove(); });
  }

  function addUserMessage(text) {
    var item = el("div", { "class": "msg user", lang: state.lang }, [who("widget_you")]);
    var bubble = el("div", { "class": "bubble" });
    renderText(bubble, text);
    item.appendChild(bubble);
    log.appendChild(item);
    scrollToEnd();
    return item;
  }

  function addBotMessage(message, options) {
    options = options || {};
    var item = el("div", { "class": "msg bot" + (options.error ? " error" : "") });
    if (message.lang) item.setAttribute("lang", message.lang);
    item.appendChild(who("widget_assistant"));
    var bubble = el("div", { "class": "bubble" });
    if (message.title && message.topic) bubble.appendChild(el("p", { "class": "msg-title" }, [el("strong", null, [message.title])]));
    renderText(bubble, message.text || "");
    item.appendChild(bubble);
    var sources = (message.sources || []).map(function (url, i) {
      var href = safeUrl(url);
      if (!href) return null;
      var name = (message.source_names && message.source_names[i]) || new URL(href).hostname;
      return externalLink(href, name);
    }).filter(Boolean);
    if (sources.length) {
      var list = el("ul", { "class": "source-list" });
      sources.forEach(function (a) { list.appendChild(el("li", null, [a])); });
      item.appendChild(el("div", { "class": "sources" }, [el("p", { "class": "sources-label" }, [t("sources_label") + ":"]), list]));
    }
    var buttons = (message.buttons || []).filter(function (b) { return b && b.title && b.payload; });
    if (buttons.length && options.buttons !== false) {
      var group = el("div", { "class": "quick-replies", role: "group" });
      group.setAttribute("aria-label", t("widget_quick_replies"));
      buttons.forEach(function (b) {
        var button = el("button", { type: "button", "class": "quick" }, [b.title]);
        button.addEventListener("click", function () { ask({ payload: b.payload }, b.title); });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    (options.actions || []).forEach(function (action) {
      if (!item.querySelector(".quick-replies")) {
        var g = el("div", { "class": "quick-replies", role: "group" });
        g.setAttribute("aria-label", t("widget_quick_replies"));
        item.appendChild(g);
      }
      var button = el("button", { type: "button", "class": "quick" + (action.primary ? " primary" : "") }, [action.title]);
      button.addEventListener("click", action.run);
      item.querySelector(".quick-replies").appendChild(button);
    });
    log.appendChild(item);
    if (options.announce !== false) announce(message.text || "");
    scrollToEnd();
    return item;
  }

  function announce(text) {
    var node = el("p", null, [t("widget_assistant") + " " + text]);
    live.appendChild(node);
    while (live.childNodes.length > 3) live.removeChild(live.firstChild);
  }

  function scrollToEnd() {
    var last = log.lastElementChild;
    // A long answer is shown from its start, so it can be read top-down; short ones just scroll in.
    if (last && last.classList.contains("bot") && last.offsetHeight > conversation.clientHeight * 0.8) {
      conversation.scrollTop = last.offsetTop - 8;  // .conversation is the offset parent
    } else {
      conversation.scrollTop = conversation.scrollHeight;
    }
  }

  function setBusy(busy) {
    state.busy = busy;
    typing.hidden = !busy;
    composer.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // ------------------------------------------------------------------ talking to web/

  function request(method, path, payload) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var init = { method: method, headers: { "Accept": "application/json" }, credentials: "omit", mode: "cors" };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    if (controller) init.signal = controller.signal;
    return fetch(BASE + path, init).then(function (r) {
      if (timer) clearTimeout(timer);
      return r.json().catch(function () { return {}; }).then(function (data) { return { status: r.status, ok: r.ok, data: data || {} }; });
    }, function (err) {
      if (timer) clearTimeout(timer);
      return { status: 0, ok: false, data: {}, network: true, error: err };
    });
  }

  function ask(body, shown) {
    if (state.busy) return;
    clearQuickReplies();
    if (shown) addUserMessage(shown);
    send(body);
  }

  function send(body) {
    body.lang = state.lang;
    if (state.session) body.session = state.session;
    state.lastRequest = body;
    setBusy(true);
    var generation = state.generation;
    request("POST", "/api/chat", body).then(function (res) {
      if (generation !== state.generation) return;  // the mover started over meanwhile
      setBusy(false);
      if (res.data.session && /^[A-Za-z0-9_-]{16,64}$/.test(res.data.session)) {
        state.session = res.data.session;
        storeSession(state.session);
      }
      if (!res.ok) { showError(res); return; }
      state.backendDown = false;
      var messages = Array.isArray(res.data.messages) ? res.data.messages : [];
      var spoken = [];
      messages.forEach(function (m) {
        if (!m || typeof m.text !== "string") return;
        if (m.lang && LANGS.indexOf(m.lang) >= 0 && m.lang !== state.lang) { state.lang = m.lang; applyStrings(); }
        addBotMessage(m, { announce: false });
        spoken.push(m.text);
      });
      if (spoken.length) announce(spoken.join(" \n"));
    });
  }

  function showError(res) {
    var down = res.network || res.status === 503 || res.status >= 500;
    var message = (res.data && res.data.error && typeof res.data.error.message === "string" && res.data.error.message) || t("error_unavailable");
    if (res.network) message = t("error_unavailable");
    var actions = [];
    if (down) {
      state.backendDown = true;
      actions.push({ title: t("widget_retry"), primary: true, run: function () {
        var item = this.closest(".msg");
        if (item) item.remove();
        if (state.lastRequest && !state.busy) send(state.lastRequest);
        input.focus();
      } });
      actions.push({ title: t("widget_contact_open"), run: function () { openContact(this); } });
    }
    addBotMessage({ text: message, lang: state.lang }, { error: true, actions: actions });
  }

  // After a reload: show the conversation the server keeps for this session.
  function loadHistory() {
    if (state.history) return state.history;
    if (!state.session) return Promise.resolve();
    var generation = state.generation;
    state.history = request("POST", "/api/history", { session: state.session }).then(function (res) {
      if (generation !== state.generation) return;
      if (!res.ok) {
        if (res.status === 400) { state.session = null; storeSession(null); }
        return;
      }
      if (res.data.lang && LANGS.indexOf(res.data.lang) >= 0 && res.data.lang !== state.lang) {
        state.lang = res.data.lang;
        applyStrings();
      }
      var items = Array.isArray(res.data.messages) ? res.data.messages : [];
      var lastUser = -1;
      items.forEach(function (m, i) { if (m && m.who === "user") lastUser = i; });
      items.forEach(function (m, i) {
        if (!m || typeof m.text !== "string") return;
        if (m.who === "user") addUserMessage(m.text);
        else addBotMessage(m, { announce: false, buttons: i > lastUser });
      });
    });
    return state.history;
  }

  // ------------------------------------------------------------------ open, close, keyboard

  function isOpen() { return !panel.hidden; }

  function open() {
    if (isOpen()) { input.focus(); return; }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    host.setAttribute("data-open", "");
    fitToViewport();
    input.focus();
    loadHistory().then(function () {
      if (!log.querySelector(".msg") && !state.busy) send({ payload: "/greet" });
    });
  }

  function close() {
    if (!isOpen()) return;
    closeOverlay(false);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    host.removeAttribute("data-open");
    launcher.focus();
  }

  function startOver() {
    state.generation += 1;
    state.history = Promise.resolve();
    state.session = null;
    storeSession(null);
    state.lastRequest = null;
    state.backendDown = false;
    closeOverlay(false);
    contact.reset();
    log.textContent = "";
    live.textContent = "";
    setBusy(false);
    send({ payload: "/greet" });
    input.focus();
  }

  function setLanguage(code) {
    if (LANGS.indexOf(code) < 0) return;
    state.lang = code;
    applyStrings();
    if (state.overlay === "topics") renderTopics();
    if (state.overlay === "contact" && overlay.querySelector(".contact-form")) contact.open(state.returnFocus, true);
    if (isOpen() && log.querySelector(".msg") && !state.backendDown) {
      ask({ payload: "/set_language{\"lang\":\"" + code + "\"}" });
    }
  }

  launcher.addEventListener("click", function () { isOpen() ? close() : open(); });
  closeButton.addEventListener("click", close);
  restartButton.addEventListener("click", startOver);
  langSelect.addEventListener("change", function () { setLanguage(langSelect.value); });
  privacyButton.addEventListener("click", function () {
    if (CONFIG.privacyTopic) ask({ payload: CONFIG.privacyTopic.payload }, privacyButton.textContent);
  });
  panel.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" && e.key !== "Esc") return;
    e.preventDefault();
    e.stopPropagation();
    if (state.overlay) closeOverlay(true); else close();
  });
  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || state.busy) return;
    input.value = "";
    autosize();
    ask({ message: text }, text);
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 140) + "px";
  }
  input.addEventListener("input", autosize);
  topicsButton.addEventListener("click", function () { openTopics(topicsButton); });
  personButton.addEventListener("click", function () {
    if (state.backendDown) openContact(personButton);
    else ask({ payload: "/talk_to_person" }, personButton.textContent);
  });

  // On phones the panel fills the visual viewport, which shrinks when the on-screen keyboard
  // opens: the composer and its send button stay above the keyboard.
  function fitToViewport() {
    var vv = window.visualViewport;
    if (!vv) return;
    panel.style.setProperty("--mtl-vh", vv.height + "px");
    panel.style.setProperty("--mtl-top", vv.offsetTop + "px");
  }
  if (window.visualViewport) {
    window.visualViewport.addEventListener("resize", fitToViewport);
    window.visualViewport.addEventListener("scroll", fitToViewport);
  }

  // ------------------------------------------------------------------ overlays: topics, contact form

  function showOverlay(name, content, opener) {
    state.overlay = name;
    state.returnFocus = opener || null;
    overlay.textContent = "";
    overlay.appendChild(content);
    overlay.hidden = false;
    conversation.hidden = true;
    footer.hidden = true;
  }
  function closeOverlay(restoreFocus) {
    if (!state.overlay) return;
    state.overlay = null;
    overlay.hidden = true;
    overlay.textContent = "";
    conversation.hidden = false;
    footer.hidden = false;
    var target = state.returnFocus;
    state.returnFocus = null;
    if (restoreFocus) (target && target.isConnected ? target : input).focus();
    scrollToEnd();
  }
  function overlayHeader(key) {
    var heading = el("h3", { "class": "overlay-title", tabindex: "-1" }, [t(key)]);
    var back = el("button", { type: "button", "class": "header-button back" }, [t("widget_back")]);
    back.addEventListener("click", function () { closeOverlay(true); });
    return { node: el("div", { "class": "overlay-header" }, [heading, back]), heading: heading };
  }

  var topicsView = null;
  function openTopics(opener) {
    var head = overlayHeader("browse_topics");
    var list = el("div", { "class": "topic-list" });
    topicsView = { list: list };
    showOverlay("topics", el("div", { "class": "overlay-inner", role: "region", "aria-label": t("browse_topics") }, [head.node, list]), opener);
    renderTopics();
    head.heading.focus();
  }
  function renderTopics() {
    if (!topicsView) return;
    var list = topicsView.list;
    var lang = state.lang;
    var topics = state.topics[lang];
    list.textContent = "";
    if (!topics) {
      list.appendChild(el("p", { "class": "muted", role: "status" }, [t("widget_loading")]));
      request("GET", "/api/topics?lang=" + encodeURIComponent(lang)).then(function (res) {
        if (res.ok && Array.isArray(res.data.topics)) {
          state.topics[lang] = res.data.topics;
          if (state.overlay === "topics" && state.lang === lang) renderTopics();
        } else if (state.overlay === "topics") {
          list.textContent = "";
          var retry = el("button", { type: "button", "class": "quick primary" }, [t("widget_retry")]);
          retry.addEventListener("click", renderTopics);
          list.appendChild(el("p", { role: "alert" }, [t("error_unavailable")]));
          list.appendChild(retry);
        }
      });
      return;
    }
    var ul = el("ul", { "class": "topics" });
    topics.forEach(function (topic) {
      if (!topic || !topic.title || !topic.payload) return;
      var button = el("button", { type: "button", "class": "topic" }, [topic.title]);
      button.addEventListener("click", function () {
        closeOverlay(false);
        ask({ payload: topic.payload }, topic.title);
        input.focus();
      });
      ul.appendChild(el("li", null, [button]));
    });
    list.appendChild(ul);
  }

  // The contact form: the way to reach a person when the assistant itself cannot answer.
  // It posts to /api/contact, which stores the request as a lead (with the consent given here).
  var contact = (function () {
    var saved = {};  // what the mover typed, kept while the page lives (never in storage)

    function field(name, labelKey, control, options) {
      options = options || {};
      var id = "mtl-c-" + name;
      control.id = id;
      control.name = name;
      var error = el("p", { "class": "field-error", id: id + "-error", hidden: true });
      var hint = options.hintKey ? el("p", { "class": "hint", id: id + "-hint" }, [t(options.hintKey)]) : null;
      control.setAttribute("aria-describedby", (hint ? id + "-hint " : "") + id + "-error");
      if (options.required) { control.required = true; control.setAttribute("aria-required", "true"); }
      var label = el("label", { "for": id }, [t(labelKey) + (options.required ? " *" : "")]);
      return el("div", { "class": "field", "data-field": name }, [label, hint, control, error].filter(Boolean));
    }
    function choiceGroup(name, legendKey, type, values, labelFor, required) {
      var set = el("fieldset", { "class": "field choices", "data-field": name, id: "mtl-c-" + name });
      set.appendChild(el("legend", null, [t(legendKey) + (required ? " *" : "")]));
      var error = el("p", { "class": "field-error", id: "mtl-c-" + name + "-error", hidden: true });
      set.setAttribute("aria-describedby", "mtl-c-" + name + "-error");
      values.forEach(function (value) {
        var id = "mtl-c-" + name + "-" + value;
        var box = el("input", { type: type, id: id, name: name, value: value });
        set.appendChild(el("div", { "class": "choice" }, [box, el("label", { "for": id }, [labelFor(value)])]));
      });
      set.appendChild(error);
      return set;
    }
    // Required choices start unchosen, so nobody sends a default they never looked at.
    function select(values, labelFor, placeholder) {
      var s = el("select");
      if (placeholder) s.appendChild(el("option", { value: "" }, [t("widget_choose")]));
      values.forEach(function (v) { s.appendChild(el("option", { value: v }, [labelFor(v)])); });
      return s;
    }

    function build() {
      var head = overlayHeader("widget_contact_title");
      var form = el("form", { "class": "contact-form", novalidate: true });
      var summary = el("div", { "class": "form-summary", role: "alert", tabindex: "-1", hidden: true });
      form.appendChild(el("p", { "class": "intro" }, [t("widget_contact_intro")]));
      form.appendChild(summary);
      form.appendChild(field("name", "widget_field_name", el("input", { type: "text", autocomplete: "name", maxlength: "200" }), { required: true }));
      form.appendChild(field("email", "widget_field_email", el("input", { type: "email", autocomplete: "email", maxlength: "254", inputmode: "email" }), { required: true }));
      form.appendChild(field("phone", "widget_field_phone", el("input", { type: "tel", autocomplete: "tel", maxlength: "40", inputmode: "tel" })));
      form.appendChild(field("country", "widget_field_country", el("input", { type: "text", autocomplete: "country-name", maxlength: "100" }), { required: true }));
      form.appendChild(field("profession", "widget_field_profession", el("input", { type: "text", autocomplete: "organization-title", maxlength: "300" })));
      form.appendChild(choiceGroup("help_topics", "ask_topics", "checkbox", CONFIG.helpTopics, function (v) { return t("help_topic_" + v); }, true));
      form.appendChild(field("household", "ask_household", select(CONFIG.households, function (v) { return t("household_" + v); }, true), { required: true }));
      form.appendChild(field("move_when", "ask_move_when", select(CONFIG.moveWhen, function (v) {
        return t({ soon: "move_soon", half_year: "move_half_year", later: "move_later" }[v] || v);
      }, true), { required: true }));
      var languageSelect = select(LANGS, function (v) { return (STRINGS.language_name && STRINGS.language_name[v]) || v; });
      form.appendChild(field("preferred_language", "ask_language", languageSelect, { required: true }));
      form.appendChild(field("message", "widget_field_message", el("textarea", { rows: "3", maxlength: "4000" })));
      var consentBox = el("input", { type: "checkbox", id: "mtl-c-consent", name: "consent", required: true, "aria-describedby": "mtl-c-consent-text mtl-c-consent-error" });
      form.appendChild(el("div", { "class": "field consent", "data-field": "consent" }, [
        el("p", { id: "mtl-c-consent-text", "class": "consent-text" }, [t("ask_consent")]),
        el("div", { "class": "choice" }, [consentBox, el("label", { "for": "mtl-c-consent" }, [t("consent_yes") + " *"])]),
        el("p", { "class": "field-error", id: "mtl-c-consent-error", hidden: true })
      ]));
      var submit = el("button", { type: "submit", "class": "primary-button" }, [t("widget_send")]);
      form.appendChild(submit);
      restore(form, languageSelect);
      form.addEventListener("input", function () { remember(form); });
      form.addEventListener("change", function () { remember(form); });
      form.addEventListener("submit", function (e) { e.preventDefault(); submitForm(form, submit, summary, head); });
      return { node: el("div", { "class": "overlay-inner" }, [head.node, form]), heading: head.heading };
    }

    function values(form) {
      var v = {};
      ["name", "email", "phone", "country", "profession", "household", "move_when", "preferred_language", "message"].forEach(function (n) {
        v[n] = form.elements[n].value;
      });
      v.help_topics = Array.prototype.filter.call(form.querySelectorAll("input[name=help_topics]"), function (b) { return b.checked; }).map(function (b) { return b.value; });
      v.consent = form.elements.consent.checked;
      return v;
    }
    function remember(form) { saved = values(form); }
    function restore(form, languageSelect) {
      languageSelect.value = state.lang;
      Object.keys(saved).forEach(function (n) {
        if (n === "help_topics") {
          Array.prototype.forEach.call(form.querySelectorAll("input[name=help_topics]"), function (b) { b.checked = saved.help_topics.indexOf(b.value) >= 0; });
        } else if (n === "consent") {
          form.elements.consent.checked = !!saved.consent;
        } else if (form.elements[n]) {
          form.elements[n].value = saved[n];
        }
      });
    }

    function setError(form, name, message) {
      var wrap = form.querySelector("[data-field=" + name + "]");
      if (!wrap) return null;
      var error = wrap.querySelector(".field-error");
      var control = name === "consent" ? form.elements.consent : name === "help_topics" ? wrap : form.elements[name];
      error.textContent = message || "";
      error.hidden = !message;
      wrap.classList.toggle("invalid", !!message);
      if (control && control.setAttribute && name !== "help_topics") control.setAttribute("aria-invalid", message ? "true" : "false");
      return name === "help_topics" ? wrap.querySelector("input") : control;
    }

    // The checks a person needs right away; the server checks everything again (and decides).
    function check(form, v) {
      var problems = [];
      function need(name, ok, key) { if (!ok) problems.push([name, t(key)]); }
      need("name", v.name.trim() !== "", "widget_error_required");
      need("email", /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.email.trim()), v.email.trim() ? "invalid_email" : "widget_error_required");
      need("phone", v.phone.trim() === "" || /^\+[\d\s().-]{6,}$/.test(v.phone.trim()), "widget_invalid_phone");
      need("country", v.country.trim() !== "", "widget_error_required");
      need("help_topics", v.help_topics.length > 0, "widget_error_choose");
      need("household", v.household !== "", "widget_error_required");
      need("move_when", v.move_when !== "", "widget_error_required");
      need("consent", v.consent, "consent_required");
      return problems;
    }

    function submitForm(form, submit, summary, head) {
      if (submit.getAttribute("aria-disabled") === "true") return;
      var v = values(form);
      ["name", "email", "phone", "country", "profession", "help_topics", "household", "move_when", "preferred_language", "message", "consent"].forEach(function (n) { setError(form, n, ""); });
      var problems = check(form, v);
      if (problems.length) { showProblems(form, summary, problems); return; }
      summary.hidden = true;
      var payload = {
        name: v.name, email: v.email, phone: v.phone.trim() || null, country: v.country,
        profession: v.profession.trim() || null, help_topics: v.help_topics, household: v.household,
        move_when: v.move_when, preferred_language: v.preferred_language, message: v.message.trim() || null,
        consent: true, consent_version: CONFIG.consent[state.lang], lang: state.lang
      };
      if (state.session) payload.session = state.session;
      submit.setAttribute("aria-disabled", "true");
      submit.textContent = t("widget_sending");
      request("POST", "/api/contact", payload).then(function (res) {
        submit.removeAttribute("aria-disabled");
        submit.textContent = t("widget_send");
        if (res.ok && res.data.reference) { done(res.data); return; }
        var err = (res.data && res.data.error) || {};
        var message = typeof err.message === "string" && err.message ? err.message : t("lead_failed");
        if (res.network) message = t("lead_failed");
        if (err.field && form.querySelector("[data-field=" + err.field + "]")) showProblems(form, summary, [[err.field, message]]);
        else showProblems(form, summary, [[null, message]]);
      });
    }

    function showProblems(form, summary, problems) {
      summary.textContent = "";
      var first = null;
      var general = problems.filter(function (p) { return !p[0]; });
      summary.appendChild(el("p", null, [general.length ? general[0][1] : t("widget_form_invalid")]));
      problems.forEach(function (p) {
        if (!p[0]) return;
        var control = setError(form, p[0], p[1]);
        if (!first) first = control;
      });
      summary.hidden = false;
      (first || summary).focus();
    }

    function done(data) {
      saved = {};
      var head = overlayHeader("widget_contact_title");
      var message = el("div", { "class": "contact-done", role: "status" });
      renderText(message, data.message || "");
      var code = el("p", { "class": "reference" }, [t("widget_reference") + ": ", el("strong", { "class": "reference-code" }, [data.reference])]);
      var back = el("button", { type: "button", "class": "primary-button" }, [t("widget_back")]);
      back.addEventListener("click", function () { closeOverlay(true); });
      overlay.textContent = "";
      overlay.appendChild(el("div", { "class": "overlay-inner" }, [head.node, message, code, back]));
      addBotMessage({ text: data.message || "", lang: state.lang }, { announce: false });
      head.heading.focus();
    }

    return {
      open: function (opener, keepFocus) {
        var view = build();
        showOverlay("contact", view.node, opener);
        if (!keepFocus) view.heading.focus();
      },
      reset: function () { saved = {}; }
    };
  })();

  function openContact(opener) { contact.open(opener); }

  // ------------------------------------------------------------------ start

  applyStrings();
  function mount() {
    (document.body || document.documentElement).appendChild(host);
    if (state.session) loadHistory();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.MoveToLulea = Object.freeze({
    open: open,
    close: close,
    setLanguage: function (code) { setLanguage(String(code || "").toLowerCase()); },
    startOver: startOver,
    version: CONFIG.version
  });
})();
