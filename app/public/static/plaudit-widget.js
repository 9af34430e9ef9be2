/*! Plaudit feedback widget. No build step, no dependencies.
 *
 * <script src="https://plaudit.example/widget.js" data-token="..."></script>
 *   renders the widget where the script tag is; or, anywhere after the script:
 * <plaudit-feedback token="..."></plaudit-feedback>
 *
 * Attributes: token (required), prompt ("Was this helpful?"), server (defaults to
 * the origin the script was loaded from; the widget talks to nothing else).
 * On the script tag use data-token, data-prompt.
 * Styling, only through CSS custom properties: --plaudit-font, --plaudit-text,
 * --plaudit-muted, --plaudit-background, --plaudit-border, --plaudit-accent,
 * --plaudit-radius. Defaults follow prefers-color-scheme.
 * Events (bubbling, composed CustomEvents): plaudit:submitted
 * {detail: {score, comment, feedback}}, plaudit:error {detail: {error, message, status}}.
 */
(function () {
  "use strict";
  var TAG = "plaudit-feedback";
  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  var CSS =
    ":host{display:block;--_fg:var(--plaudit-text,#1f2328);--_muted:var(--plaudit-muted,#59636e);" +
    "--_bg:var(--plaudit-background,#fff);--_bd:var(--plaudit-border,#d1d9e0);" +
    "--_ac:var(--plaudit-accent,#0969da);--_r:var(--plaudit-radius,8px);" +
    "font:var(--plaudit-font,14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif);color:var(--_fg)}" +
    "@media (prefers-color-scheme:dark){:host{--_fg:var(--plaudit-text,#e6edf3);" +
    "--_muted:var(--plaudit-muted,#9198a1);--_bg:var(--plaudit-background,#0d1117);" +
    "--_bd:var(--plaudit-border,#3d444d);--_ac:var(--plaudit-accent,#4493f8)}}" +
    ":host([hidden]){display:none}" +
    ".box{background:var(--_bg);border:1px solid var(--_bd);border-radius:var(--_r);padding:10px 12px;" +
    "display:flex;flex-direction:column;gap:8px;max-width:28rem}" +
    ".row{display:flex;align-items:center;gap:8px;flex-wrap:wrap}" +
    "button{font:inherit;color:inherit;background:transparent;border:1px solid var(--_bd);" +
    "border-radius:var(--_r);padding:4px 10px;cursor:pointer}" +
    "button:hover{border-color:var(--_ac)}" +
    "button:focus-visible,textarea:focus-visible{outline:2px solid var(--_ac);outline-offset:2px}" +
    "button[aria-pressed=true]{border-color:var(--_ac);background:color-mix(in srgb,var(--_ac) 18%,transparent)}" +
    ".thumb{line-height:0;padding:5px 9px}" +
    ".send{background:var(--_ac);border-color:var(--_ac);color:#fff}" +
    "textarea{font:inherit;color:inherit;background:transparent;border:1px solid var(--_bd);" +
    "border-radius:var(--_r);padding:6px;min-height:4em;resize:vertical;width:100%;box-sizing:border-box}" +
    "label{color:var(--_muted)}.status{margin:0;color:var(--_muted)}.status:empty{display:none}" +
    ".error{color:#d1242f}[hidden]{display:none!important}";

  // Thumb icons: Feather icons (MIT), inline so no emoji font is needed.
  var SVG = '<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" ' +
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="';
  var UP = SVG + "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3z" +
    'M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3"/></svg>';
  var DOWN = SVG + "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3z" +
    'm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17"/></svg>';

  var HTML =
    '<div class="box" part="box">' +
    '<div class="row"><span class="prompt" id="prompt"></span>' +
    '<span class="row" role="group" aria-labelledby="prompt">' +
    '<button type="button" class="thumb up" aria-pressed="false" aria-label="Yes, helpful" title="Yes, helpful">' + UP + "</button>" +
    '<button type="button" class="thumb down" aria-pressed="false" aria-label="No, not helpful" title="No, not helpful">' + DOWN + "</button>" +
    "</span></div>" +
    '<form class="more" hidden><label for="comment">Tell us more (optional)</label>' +
    '<textarea id="comment" name="comment" maxlength="2000"></textarea>' +
    '<div class="row"><button type="submit" class="send">Send</button></div></form>' +
    '<div class="row"><p class="status" role="status" aria-live="polite"></p>' +
    '<button type="button" class="retry" hidden>Retry</button></div></div>';

  function serverOf(el) {
    var s = el.getAttribute("server");
    try {
      return s ? new URL(s).origin : origin;
    } catch (e) {
      return origin;
    }
  }

  if (!customElements.get(TAG)) {
    class PlauditFeedback extends HTMLElement {
      connectedCallback() {
        if (this.shadowRoot) return;
        var root = this.attachShadow({ mode: "open" });
        var style = document.createElement("style");
        style.textContent = CSS;
        var tpl = document.createElement("template");
        tpl.innerHTML = HTML; // static markup only; no user text goes through innerHTML
        root.append(style, tpl.content.cloneNode(true));
        var q = function (sel) {
          return root.querySelector(sel);
        };
        this._ui = {
          up: q(".up"),
          down: q(".down"),
          form: q(".more"),
          comment: q("textarea"),
          status: q(".status"),
          retry: q(".retry"),
        };
        q(".prompt").textContent = this.getAttribute("prompt") || "Was this helpful?";
        this._score = null; // the vote the server has
        this._commented = false;
        this._pending = null; // the payload that failed, for Retry
        var self = this;
        this._ui.up.addEventListener("click", function () {
          self._vote(1);
        });
        this._ui.down.addEventListener("click", function () {
          self._vote(0);
        });
        this._ui.form.addEventListener("submit", function (ev) {
          ev.preventDefault();
          self._send({ comment: self._ui.comment.value });
        });
        this._ui.retry.addEventListener("click", function () {
          if (self._pending) self._send(self._pending);
        });
      }

      _vote(score) {
        // Pressing the chosen thumb again withdraws the vote, explicitly: a null
        // score means "no score given" and would keep it.
        this._send(this._score === score ? { retract: true } : { score: score });
      }

      _setBusy(busy) {
        var ui = this._ui;
        [ui.up, ui.down, ui.retry, ui.form.querySelector("button")].forEach(function (b) {
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

      _send(fields) {
        var self = this;
        var ui = this._ui;
        var token = this.getAttribute("token");
        var payload = Object.assign({}, fields);
        this._setBusy(true);
        ui.retry.hidden = true;
        this._show("Sending\u2026");
        fetch(serverOf(this) + "/public/feedback", {
          method: "POST",
          mode: "cors",
          credentials: "omit",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(Object.assign({ token: token }, payload)),
        })
          .then(function (res) {
            return res
              .json()
              .catch(function () {
                return {};
              })
              .then(function (body) {
                return { res: res, body: body };
              });
          })
          .then(
            function (r) {
              self._setBusy(false);
              if (r.res.ok) return self._done(payload, r.body.feedback || null);
              var retryable = r.res.status === 429 || r.res.status >= 500;
              self._fail(payload, {
                error: r.body.error || "http_" + r.res.status,
                message: r.body.message || "Something went wrong.",
                status: r.res.status,
              }, retryable);
            },
            function () {
              self._setBusy(false);
              self._fail(payload, {
                error: "network",
                message: "Could not reach the feedback server.",
                status: 0,
              }, true);
            }
          );
      }

      _done(payload, feedback) {
        var ui = this._ui;
        this._pending = null;
        if ("score" in payload || payload.retract) {
          this._score = payload.retract ? null : payload.score;
          ui.up.setAttribute("aria-pressed", String(this._score === 1));
          ui.down.setAttribute("aria-pressed", String(this._score === 0));
        }
        if ("comment" in payload) this._commented = true;
        ui.form.hidden = this._commented || this._score === null;
        if (this._commented) this._show("Thank you! Your comment was sent.");
        else if (this._score === null) this._show("Your vote was withdrawn.");
        else this._show("Thanks for your feedback!");
        this._emit("plaudit:submitted", {
          score: this._score,
          comment: "comment" in payload ? payload.comment : null,
          feedback: feedback,
        });
      }

      _fail(payload, detail, retryable) {
        // The comment box keeps its text: nothing the user typed is lost.
        this._pending = retryable ? payload : null;
        this._ui.retry.hidden = !retryable;
        this._show(retryable ? detail.message + " Your answer was not sent yet." : detail.message, true);
        this._emit("plaudit:error", detail);
      }
    }
    customElements.define(TAG, PlauditFeedback);
  }

  if (script && script.dataset.token) {
    var el = document.createElement(TAG);
    el.setAttribute("token", script.dataset.token);
    if (script.dataset.prompt) el.setAttribute("prompt", script.dataset.prompt);
    el.setAttribute("server", origin);
    script.after(el);
  }
})();
