/*! Plaudit feedback widget. No build step, no dependencies.
 *
 * <script src="https://plaudit.example/widget.js" data-token="..."></script>
 *   renders the widget where the script tag is; or, anywhere after the script:
 * <plaudit-feedback token="..."></plaudit-feedback>
 *
 * The answers follow the token's key (GET /public/question): thumbs for a boolean
 * or unregistered key, a scale (stars or numbered buttons, min..max) for a
 * continuous key with a small whole-number range, a number box for other
 * continuous keys, one button per category for a categorical key, a comment box
 * only for a freeform key. The question is the token's prompt, else the key's
 * description.
 *
 * Attributes (on the script tag: data-token, data-prompt, data-theme, data-scale):
 *   token (required); prompt (overrides the token's question); server (defaults to
 *   the origin the script was loaded from; the widget talks to nothing else);
 *   theme: auto (default: the host page's color-scheme, else the colour behind the
 *   widget), light or dark; scale: stars or numbers (default: stars for 1..N up
 *   to 10 when higher is better, else numbers).
 * Styling, only through CSS custom properties: --plaudit-font, --plaudit-text,
 * --plaudit-muted, --plaudit-background, --plaudit-border, --plaudit-accent,
 * --plaudit-radius.
 * Events (bubbling, composed CustomEvents): plaudit:submitted
 * {detail: {score, comment, feedback}}, plaudit:error {detail: {error, message, status}}.
 */
(function () {
  "use strict";
  var TAG = "plaudit-feedback";
  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  var LIGHT =
    "--_fg:var(--plaudit-text,#1f2328);--_muted:var(--plaudit-muted,#59636e);" +
    "--_bg:var(--plaudit-background,#fff);--_bd:var(--plaudit-border,#d1d9e0);" +
    "--_ac:var(--plaudit-accent,#0969da);--_err:#d1242f;color-scheme:light";
  var DARK =
    "--_fg:var(--plaudit-text,#e6edf3);--_muted:var(--plaudit-muted,#9198a1);" +
    "--_bg:var(--plaudit-background,#0d1117);--_bd:var(--plaudit-border,#3d444d);" +
    "--_ac:var(--plaudit-accent,#4493f8);--_err:#f85149;color-scheme:dark";
  var CSS =
    ":host{display:block}:host([hidden]){display:none}" +
    ".box{" + LIGHT + ";--_r:var(--plaudit-radius,8px);" +
    "font:var(--plaudit-font,14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif);color:var(--_fg);" +
    "background:var(--_bg);border:1px solid var(--_bd);border-radius:var(--_r);padding:10px 12px;" +
    "display:flex;flex-direction:column;gap:8px;max-width:28rem}" +
    ".box.dark{" + DARK + "}" +
    ".row{display:flex;align-items:center;gap:8px;flex-wrap:wrap}" +
    ".answers{display:flex;align-items:center;gap:6px;flex-wrap:wrap}" +
    "button,input{font:inherit;color:inherit;background:transparent;border:1px solid var(--_bd);" +
    "border-radius:var(--_r);padding:4px 10px}button{cursor:pointer}" +
    "input{width:7em}" +
    "button:hover{border-color:var(--_ac)}button:disabled{cursor:default;opacity:.6}" +
    "button:focus-visible,textarea:focus-visible,input:focus-visible{outline:2px solid var(--_ac);outline-offset:2px}" +
    "button[aria-pressed=true]{border-color:var(--_ac);background:color-mix(in srgb,var(--_ac) 18%,transparent)}" +
    ".thumb{line-height:0;padding:5px 9px}" +
    ".star{border-color:transparent;padding:0 2px;font-size:22px;line-height:1;color:var(--_muted)}" +
    ".star.on{color:#e3b341}.star[aria-pressed=true]{background:transparent;border-color:transparent}" +
    ".send{background:var(--_ac);border-color:var(--_ac);color:#fff}" +
    ".link{border:0;padding:0;color:var(--_ac);text-decoration:underline}" +
    "textarea{font:inherit;color:inherit;background:transparent;border:1px solid var(--_bd);" +
    "border-radius:var(--_r);padding:6px;min-height:4em;resize:vertical;width:100%;box-sizing:border-box}" +
    "label,.hint{color:var(--_muted)}.status{margin:0;color:var(--_muted)}.status:empty{display:none}" +
    ".sent q{font-style:italic}" +
    ".error{color:var(--_err)}[hidden]{display:none!important}";

  // Thumb icons: Feather icons (MIT), inline so no emoji font is needed.
  var SVG = '<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" ' +
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="';
  var UP = SVG + "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3z" +
    'M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3"/></svg>';
  var DOWN = SVG + "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3z" +
    'm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17"/></svg>';

  // Static markup only: no text from the server or the page goes through innerHTML.
  var HTML =
    '<div class="box" part="box">' +
    '<div class="row"><span class="prompt" id="prompt"></span>' +
    '<span class="answers" role="group" aria-labelledby="prompt"></span></div>' +
    '<form class="more" hidden><label for="comment">Tell us more (optional)</label>' +
    '<textarea id="comment" name="comment" maxlength="2000"></textarea>' +
    '<div class="row"><button type="submit" class="send">Send</button></div></form>' +
    '<p class="sent" hidden><span class="hint">Your comment: </span><q></q> ' +
    '<button type="button" class="link edit">Edit</button></p>' +
    '<div class="row"><p class="status" role="status" aria-live="polite"></p>' +
    '<button type="button" class="retry" hidden>Retry</button></div>' +
    '<i hidden><b data-score="1">' + UP + '</b><b data-score="0">' + DOWN + "</b></i></div>";

  function serverOf(el) {
    var s = el.getAttribute("server");
    try {
      return s ? new URL(s).origin : origin;
    } catch (e) {
      return origin;
    }
  }

  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // --- colour scheme: the host page's, not only the OS's -----------------------

  function schemeOf(value) {
    var words = String(value || "").toLowerCase().split(/[\s,]+/);
    var light = words.indexOf("light") >= 0;
    var dark = words.indexOf("dark") >= 0;
    if (dark && !light) return "dark";
    if (light && !dark) return "light";
    if (light && dark) return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
    return null; // "normal": nothing declared
  }

  function parseRgb(color) {
    var m = /rgba?\(([^)]+)\)/.exec(color || "");
    if (!m) return null;
    var p = m[1].split(/[\s,/]+/).filter(Boolean).map(parseFloat);
    return p.length >= 3 && (p.length < 4 || p[3] > 0) ? p : null;
  }

  // The first opaque background behind the element, through shadow roots.
  function backgroundIsDark(el) {
    for (var n = el; n && n.nodeType === 1; ) {
      var rgb = parseRgb(getComputedStyle(n).backgroundColor);
      if (rgb) return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 128;
      var parent = n.parentNode;
      n = parent && parent.nodeType === 11 ? parent.host : parent;
    }
    return null;
  }

  function hostScheme(el) {
    var meta = document.querySelector('meta[name="color-scheme"]');
    var declared = schemeOf(getComputedStyle(el).colorScheme) || schemeOf(meta && meta.content);
    if (declared) return declared;
    var dark = backgroundIsDark(el.parentElement || el);
    return dark ? "dark" : "light"; // nothing opaque behind it: the browser's default canvas
  }

  if (!customElements.get(TAG)) {
    class PlauditFeedback extends HTMLElement {
      static get observedAttributes() {
        return ["theme"];
      }

      attributeChangedCallback() {
        if (this._ui) this._applyTheme();
      }

      connectedCallback() {
        if (this.shadowRoot) return;
        var root = this.attachShadow({ mode: "open" });
        var style = document.createElement("style");
        style.textContent = CSS;
        var tpl = document.createElement("template");
        tpl.innerHTML = HTML;
        root.append(style, tpl.content.cloneNode(true));
        var q = function (sel) {
          return root.querySelector(sel);
        };
        this._ui = {
          box: q(".box"),
          prompt: q(".prompt"),
          answers: q(".answers"),
          form: q(".more"),
          comment: q("textarea"),
          send: q(".send"),
          sent: q(".sent"),
          sentText: q(".sent q"),
          edit: q(".edit"),
          status: q(".status"),
          retry: q(".retry"),
        };
        this._question = null; // what GET /public/question said
        this._buttons = []; // [{score, button}]
        this._score = null; // the answer the server has
        this._comment = null; // the comment the server has
        this._pending = null; // what failed, for Retry: a function
        var self = this;
        this._ui.form.addEventListener("submit", function (ev) {
          ev.preventDefault();
          self._send({ comment: self._ui.comment.value });
        });
        this._ui.edit.addEventListener("click", function () {
          self._editComment();
        });
        this._ui.retry.addEventListener("click", function () {
          if (self._pending) self._pending();
        });
        this._watchTheme();
        this._load();
      }

      disconnectedCallback() {
        if (this._unwatch) this._unwatch();
      }

      // --- theme ---------------------------------------------------------------

      _applyTheme() {
        var theme = (this.getAttribute("theme") || "auto").toLowerCase();
        var scheme = theme === "light" || theme === "dark" ? theme : hostScheme(this);
        this._ui.box.classList.toggle("dark", scheme === "dark");
        this._ui.box.dataset.scheme = scheme;
      }

      _watchTheme() {
        var self = this;
        var apply = function () {
          self._applyTheme();
        };
        var media = matchMedia("(prefers-color-scheme: dark)");
        media.addEventListener("change", apply);
        // The host page switching themes (a class, a style, an attribute on <html>
        // or <body>): read its scheme again.
        var observer = new MutationObserver(apply);
        [document.documentElement, document.body].forEach(function (n) {
          if (n) observer.observe(n, { attributes: true });
        });
        this._unwatch = function () {
          media.removeEventListener("change", apply);
          observer.disconnect();
        };
        apply();
      }

      // --- the question ----------------------------------------------------------

      _load() {
        var self = this;
        var path = "/public/question?token=" + encodeURIComponent(this.getAttribute("token") || "");
        this._show("Loading\u2026");
        this._request(path, { method: "GET" }).then(function (r) {
          if (r.ok) {
            self._show("");
            return self._render(r.body);
          }
          self._fail(r.detail, r.retryable ? self._load.bind(self) : null);
        });
      }

      _render(question) {
        var ui = this._ui;
        this._question = question;
        ui.prompt.textContent = this.getAttribute("prompt") || question.prompt;
        var kind = question.kind;
        var self = this;
        ui.answers.replaceChildren();
        this._buttons = [];
        if (kind === "thumbs" || kind === "scale" || kind === "categorical") {
          var stars = kind === "scale" && this._stars(question);
          question.choices.forEach(function (choice) {
            var b = node("button", "choice");
            b.type = "button";
            b.setAttribute("aria-pressed", "false");
            var icon = kind === "thumbs" && ui.box.querySelector("[data-score='" + choice.score + "'] svg");
            if (icon) {
              b.className = "choice thumb";
              b.appendChild(icon.cloneNode(true));
            } else if (stars) {
              b.className = "choice star";
              b.textContent = "\u2605";
            } else {
              b.textContent = choice.label;
            }
            b.setAttribute("aria-label", stars ? choice.label + " of " + question.max : choice.label);
            b.title = b.getAttribute("aria-label");
            b.addEventListener("click", function () {
              self._choose(choice.score);
            });
            ui.answers.appendChild(b);
            self._buttons.push({ score: choice.score, button: b });
          });
        } else if (kind === "number") {
          var input = node("input", "number");
          input.type = "number";
          input.step = "any";
          if (question.min !== null) input.min = String(question.min);
          if (question.max !== null) input.max = String(question.max);
          input.setAttribute("aria-label", "Your score");
          var go = node("button", "score-send", "Send score");
          go.type = "button";
          go.addEventListener("click", function () {
            if (input.value === "" || !input.reportValidity()) return;
            self._send({ score: Number(input.value) });
          });
          ui.answers.append(input, go);
          this._number = input;
        } else {
          ui.form.hidden = false; // a comment is the whole answer
        }
      }

      _stars(question) {
        var want = (this.getAttribute("scale") || "").toLowerCase();
        if (want === "numbers") return false;
        if (want === "stars") return true;
        return question.min === 1 && question.max <= 10;
      }

      // --- answering -------------------------------------------------------------

      _choose(score) {
        // The answer the server has, chosen again: withdraw it.
        if (this._score === score) this._withdraw();
        else this._send({ score: score });
      }

      _withdraw() {
        // Explicitly: a null score means "no score given" and would keep the vote.
        this._send({ retract: true });
      }

      _editComment() {
        var ui = this._ui;
        ui.comment.value = this._comment || "";
        ui.sent.hidden = true;
        ui.form.hidden = false;
        ui.send.textContent = "Update";
        ui.comment.focus();
      }

      _setBusy(busy) {
        var ui = this._ui;
        var buttons = this._buttons.map(function (b) {
          return b.button;
        });
        buttons.concat([ui.retry, ui.send, ui.edit]).forEach(function (b) {
          b.disabled = busy;
        });
        this.toggleAttribute("aria-busy", busy);
      }

      _show(message, isError) {
        this._ui.status.textContent = message; // textContent: never parsed as HTML
        this._ui.status.classList.toggle("error", !!isError);
      }

      _emit(name, detail) {
        this.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true, composed: true }));
      }

      // Fetch from the widget's server (nothing else), read the JSON body, and say
      // what went wrong in the widget's words.
      _request(path, init) {
        var options = Object.assign({ mode: "cors", credentials: "omit" }, init);
        return fetch(serverOf(this) + path, options).then(
          function (res) {
            return res
              .json()
              .catch(function () {
                return {};
              })
              .then(function (body) {
                if (res.ok) return { ok: true, body: body };
                var error = body.error || "http_" + res.status;
                var message = body.message || "Something went wrong.";
                if (error === "origin_not_allowed") {
                  message = "Feedback cannot be sent from this site (" + location.origin + "): " +
                    "its origin is not allowed for this feedback link.";
                }
                return {
                  ok: false,
                  retryable: res.status === 429 || res.status >= 500,
                  detail: { error: error, message: message, status: res.status },
                };
              });
          },
          function () {
            return {
              ok: false,
              retryable: true,
              detail: { error: "network", message: "Could not reach the feedback server.", status: 0 },
            };
          }
        );
      }

      _send(fields) {
        var self = this;
        var payload = Object.assign({}, fields);
        this._setBusy(true);
        this._ui.retry.hidden = true;
        this._show("Sending\u2026");
        this._request("/public/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(Object.assign({ token: this.getAttribute("token") }, payload)),
        }).then(function (r) {
          self._setBusy(false);
          if (r.ok) return self._done(payload, r.body.feedback || null);
          var again = function () {
            self._send(payload);
          };
          self._fail(r.detail, r.retryable ? again : null, true);
        });
      }

      _done(payload, feedback) {
        var ui = this._ui;
        var edited = "comment" in payload && this._comment !== null;
        this._pending = null;
        if ("score" in payload || payload.retract) {
          var chosen = (this._score = payload.retract ? null : payload.score);
          this._buttons.forEach(function (b) {
            b.button.setAttribute("aria-pressed", String(b.score === chosen));
            b.button.classList.toggle("on", chosen !== null && b.score <= chosen);
          });
        }
        if ("comment" in payload) this._comment = payload.comment;
        var commented = this._comment !== null;
        var open = this._question && this._question.kind === "comment";
        ui.form.hidden = commented || (!open && this._score === null);
        ui.sent.hidden = !commented;
        ui.sentText.textContent = commented ? this._comment : "";
        ui.send.textContent = "Send";
        if (edited) this._show("Your comment was updated.");
        else if (commented) this._show("Thank you! Your comment was sent.");
        else if (this._score === null) this._show("Your vote was withdrawn.");
        else this._show("Thanks for your feedback!");
        this._emit("plaudit:submitted", {
          score: this._score,
          comment: "comment" in payload ? payload.comment : null,
          feedback: feedback,
        });
      }

      _fail(detail, retry, keepsInput) {
        // The comment box keeps its text: nothing the user typed is lost.
        this._pending = retry;
        this._ui.retry.hidden = !retry;
        var suffix = retry && keepsInput ? " Your answer was not sent yet." : "";
        this._show(detail.message + suffix, true);
        this._emit("plaudit:error", detail);
      }
    }
    customElements.define(TAG, PlauditFeedback);
  }

  if (script && script.dataset.token) {
    var el = document.createElement(TAG);
    el.setAttribute("token", script.dataset.token);
    ["prompt", "theme", "scale"].forEach(function (name) {
      if (script.dataset[name]) el.setAttribute(name, script.dataset[name]);
    });
    el.setAttribute("server", origin);
    script.after(el);
  }
})();
