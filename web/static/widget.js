/* Move to Luleå chat widget. Embed with one tag:
 *   <script src="https://HOST/widget.js" data-lang="pl" defer></script>
 * Everything lives in a shadow root (no CSS clashes) and one global, window.MoveToLulea.
 * Only an opaque session id is kept in sessionStorage; no personal data in the browser.
 */
(function () {
  "use strict";
  if (window.MoveToLulea) return;

  var script = document.currentScript;
  var BASE = new URL(script ? script.src : "/widget.js", window.location.href).origin;
  var STRINGS = __UI_STRINGS__;
  var LANGS = ["en", "sv", "pl", "lt", "lv"];
  var SESSION_KEY = "moveToLulea.session";
  var LANG_KEY = "moveToLulea.lang";

  function pickLang() {
    var stored = sessionStorage.getItem(LANG_KEY);
    if (LANGS.indexOf(stored) >= 0) return stored;
    var wanted = script && script.getAttribute("data-lang");
    if (LANGS.indexOf(wanted) >= 0) return wanted;
    var nav = (navigator.languages || [navigator.language || "en"]);
    for (var i = 0; i < nav.length; i++) {
      var code = String(nav[i]).slice(0, 2).toLowerCase();
      if (code === "nb" || code === "nn" || code === "da") code = "sv";
      if (LANGS.indexOf(code) >= 0) return code;
    }
    return "en";
  }

  var state = { lang: pickLang(), session: sessionStorage.getItem(SESSION_KEY), busy: false, lastRequest: null };
  function t(key) { return (STRINGS[key] && STRINGS[key][state.lang]) || (STRINGS[key] && STRINGS[key].en) || key; }

  var host = document.createElement("div");
  host.id = "move-to-lulea-widget";
  var root = host.attachShadow({ mode: "open" });
  var style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = BASE + "/static/widget.css";
  root.appendChild(style);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  var launcher = el("button", { "class": "launcher", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false" });
  var panel = el("section", { "class": "panel", role: "dialog", "aria-modal": "false", hidden: "" });
  var header = el("header", { "class": "header" });
  var title = el("h2", { id: "mtl-title" });
  panel.setAttribute("aria-labelledby", "mtl-title");
  var langLabel = el("label", { "for": "mtl-lang", "class": "visually-hidden" });
  var langSelect = el("select", { id: "mtl-lang" });
  LANGS.forEach(function (code) { langSelect.appendChild(el("option", { value: code }, STRINGS.language_name ? STRINGS.language_name[code] : code)); });
  var restart = el("button", { type: "button", "class": "ghost" });
  var close = el("button", { type: "button", "class": "ghost close" });
  header.append(title, langLabel, langSelect, restart, close);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
  var typing = el("div", { "class": "typing", hidden: "", "aria-hidden": "true" }, "…");
  var form = el("form", { "class": "composer" });
  var inputLabel = el("label", { "for": "mtl-input", "class": "visually-hidden" });
  var input = el("textarea", { id: "mtl-input", rows: "1", maxlength: "1000", autocomplete: "off" });
  var send = el("button", { type: "submit", "class": "send" });
  form.append(inputLabel, input, send);
  panel.append(header, log, typing, form);
  root.append(launcher, panel);

  function applyStrings() {
    launcher.textContent = t("widget_open");
    launcher.setAttribute("aria-label", t("widget_open"));
    title.textContent = t("widget_title");
    langLabel.textContent = t("widget_language");
    restart.textContent = t("start_over");
    close.textContent = "×";
    close.setAttribute("aria-label", t("widget_close"));
    inputLabel.textContent = t("widget_placeholder");
    input.setAttribute("placeholder", t("widget_placeholder"));
    send.textContent = t("widget_send");
    langSelect.value = state.lang;
    panel.setAttribute("lang", state.lang);
  }

  function renderText(container, text) {
    var blocks = String(text).split(/\n\s*\n/);
    blocks.forEach(function (block) {
      var lines = block.split("\n");
      var bullets = lines.filter(function (l) { return /^\s*-\s+/.test(l); });
      if (bullets.length && bullets.length === lines.length) {
        var ul = el("ul");
        lines.forEach(function (l) { ul.appendChild(el("li", {}, l.replace(/^\s*-\s+/, ""))); });
        container.appendChild(ul);
      } else {
        var p = el("p");
        lines.forEach(function (l, i) {
          if (/^\s*-\s+/.test(l)) { p.appendChild(document.createTextNode("• " + l.replace(/^\s*-\s+/, ""))); }
          else { p.appendChild(document.createTextNode(l)); }
          if (i < lines.length - 1) p.appendChild(el("br"));
        });
        container.appendChild(p);
      }
    });
  }

  function safeUrl(url) {
    try { var u = new URL(url); return (u.protocol === "https:" || u.protocol === "http:") ? u.href : null; }
    catch (e) { return null; }
  }

  function addMessage(who, message) {
    var item = el("div", { "class": "msg " + who });
    if (message.lang) item.setAttribute("lang", message.lang);
    var bubble = el("div", { "class": "bubble" });
    renderText(bubble, message.text || "");
    item.appendChild(bubble);
    if (message.sources && message.sources.length) {
      var src = el("p", { "class": "sources" });
      src.appendChild(el("span", {}, t("sources_label") + ": "));
      message.sources.forEach(function (url, i) {
        var href = safeUrl(url);
        if (!href) return;
        var name = (message.source_names && message.source_names[i]) || new URL(href).hostname;
        var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, name);
        if (i > 0) src.appendChild(document.createTextNode(" · "));
        src.appendChild(a);
      });
      item.appendChild(src);
    }
    if (message.buttons && message.buttons.length) {
      var group = el("div", { "class": "buttons", role: "group" });
      message.buttons.forEach(function (b) {
        var btn = el("button", { type: "button", "class": "quick" }, b.title);
        btn.addEventListener("click", function () { ask({ payload: b.payload }, b.title); });
        group.appendChild(btn);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function setBusy(busy) {
    state.busy = busy;
    typing.hidden = !busy;
    send.disabled = busy;
  }

  function ask(body, shown) {
    if (state.busy) return;
    if (shown) addMessage("user", { text: shown, lang: state.lang });
    body.lang = state.lang;
    if (state.session) body.session = state.session;
    state.lastRequest = { body: body };
    setBusy(true);
    fetch(BASE + "/api/chat", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        setBusy(false);
        if (res.data.session) { state.session = res.data.session; sessionStorage.setItem(SESSION_KEY, state.session); }
        if (!res.ok) { showError((res.data.error && res.data.error.message) || t("error_unavailable")); return; }
        (res.data.messages || []).forEach(function (m) {
          if (m.lang && LANGS.indexOf(m.lang) >= 0 && m.lang !== state.lang) { state.lang = m.lang; sessionStorage.setItem(LANG_KEY, m.lang); applyStrings(); }
          addMessage("bot", m);
        });
      })
      .catch(function () { setBusy(false); showError(t("error_unavailable")); });
  }

  function showError(text) {
    var item = addMessage("bot error", { text: text, lang: state.lang });
    var retry = el("button", { type: "button", "class": "quick" }, t("widget_retry"));
    retry.addEventListener("click", function () {
      item.remove();
      if (state.lastRequest) ask(state.lastRequest.body);
    });
    item.appendChild(retry);
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (!log.children.length) ask({ payload: "/greet" });
    input.focus();
  }
  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { panel.hidden ? open() : closePanel(); });
  close.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); closePanel(); } });
  restart.addEventListener("click", function () {
    sessionStorage.removeItem(SESSION_KEY);
    state.session = null;
    log.textContent = "";
    ask({ payload: "/greet" });
    input.focus();
  });
  langSelect.addEventListener("change", function () {
    state.lang = langSelect.value;
    sessionStorage.setItem(LANG_KEY, state.lang);
    applyStrings();
    ask({ payload: "/set_language{\"lang\":\"" + state.lang + "\"}" });
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || state.busy) return;
    input.value = "";
    ask({ message: text }, text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });

  applyStrings();
  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.MoveToLulea = { open: open, close: closePanel, version: "1" };
})();
