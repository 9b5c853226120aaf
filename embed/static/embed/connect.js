/*! Patchbay connect widget. No dependencies; talks only to the Patchbay that served it.
 *
 *   <script src="PATCHBAY_URL/embed/HUB_ID/connect.js"></script>
 *   var widget = Patchbay.connect({
 *     container: "#connect",              // element or selector
 *     token: fetchConnectSessionToken,    // string, or function returning a string or promise:
 *                                         // a connect session token or a company-signed JWT
 *     onConnected: function (e) {},       // e.connectionId
 *     onError: function (e) {},           // e.error (a code), e.message
 *   });
 *   widget.setToken(token); widget.destroy();
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var src = script && script.src ? new URL(script.src) : null;
  var path = src && /^\/embed\/([0-9a-fA-F-]{36})\/connect\.js$/.exec(src.pathname);
  if (!path) {
    throw new Error("Patchbay: load connect.js with a plain <script src> from Patchbay");
  }
  // The token only ever goes to this exact origin: the one that served this script.
  var ORIGIN = src.origin;
  var PANEL = ORIGIN + "/embed/" + path[1] + "/";

  function call(fn, event) {
    if (typeof fn === "function") fn(event);
  }

  function connect(options) {
    options = options || {};
    var container =
      typeof options.container === "string"
        ? document.querySelector(options.container)
        : options.container;
    if (!container || !container.appendChild) {
      throw new Error("Patchbay.connect: container not found");
    }
    var tokenSource = options.token;
    if (typeof tokenSource !== "string" && typeof tokenSource !== "function") {
      throw new Error("Patchbay.connect: token must be a string or a function");
    }
    var destroyed = false;
    var iframe = document.createElement("iframe");
    iframe.src = PANEL;
    iframe.title = options.title || "Connect your accounts";
    iframe.referrerPolicy = "no-referrer";
    iframe.style.cssText = "display:block;width:100%;height:320px;border:0;background:transparent";

    function post(message) {
      if (!destroyed && iframe.contentWindow) iframe.contentWindow.postMessage(message, ORIGIN);
    }

    var sentToken = null;
    var renewedAt = -Infinity;

    function sendToken(renewing) {
      Promise.resolve(typeof tokenSource === "function" ? tokenSource() : tokenSource)
        .then(function (token) {
          if (typeof token !== "string" || !token) throw new Error("no token");
          // The session just ended: the very same token again (a cached one) would only
          // end the same way, over and over.
          if (renewing && token === sentToken) throw new Error("same token");
          sentToken = token;
          post({ type: "patchbay:session", token: token });
        })
        .catch(function () {
          call(options.onError, {
            type: "patchbay:error",
            error: "token_unavailable",
            message: "No connect session token could be obtained.",
          });
        });
    }

    function onMessage(event) {
      // Only the panel we made, at Patchbay's origin, may speak to us.
      if (event.source !== iframe.contentWindow || event.origin !== ORIGIN) return;
      var data = event.data;
      if (!data || typeof data !== "object" || typeof data.type !== "string") return;
      if (data.type === "patchbay:ready") {
        sendToken(false);
      } else if (data.type === "patchbay:resize") {
        var height = Number(data.height);
        if (height > 0) iframe.style.height = Math.min(Math.ceil(height), 4000) + "px";
      } else if (data.type === "patchbay:connected") {
        call(options.onConnected, {
          type: data.type,
          connectionId: String(data.connectionId),
        });
      } else if (data.type === "patchbay:error") {
        var error = String(data.error || "error");
        // A function token can mint a fresh session: do so instead of leaving the panel
        // dead, but at most once in 30 s (a session lasts 15 minutes; a fresh one that
        // fails at once will not do better on the next try).
        if (error === "session_expired" && typeof tokenSource === "function") {
          var now = Date.now();
          if (now - renewedAt > 30000) {
            renewedAt = now;
            sendToken(true);
          }
        }
        call(options.onError, {
          type: data.type,
          error: error,
          message: data.message ? String(data.message) : "",
        });
      }
    }

    window.addEventListener("message", onMessage);
    container.appendChild(iframe);

    return {
      iframe: iframe,
      setToken: function (token) {
        tokenSource = token;
        sendToken(false);
      },
      destroy: function () {
        destroyed = true;
        window.removeEventListener("message", onMessage);
        if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
      },
    };
  }

  window.Patchbay = window.Patchbay || {};
  window.Patchbay.connect = connect;
})();
