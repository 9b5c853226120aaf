/* Patchbay's start page for an embed OAuth flow: the popup the connect panel opens.
 * It takes the flow's one-time secret only from the panel that opened it (its opener,
 * at Patchbay's own origin), trades it with a same-origin POST for a cookie that binds
 * the flow to this browser, then goes on to the provider. The secret is never in a URL. */
(function () {
  "use strict";
  var SELF = window.location.origin;
  var status = document.getElementById("status");
  var opener = window.opener;
  var started = false;

  function say(text) {
    status.textContent = text;
  }

  if (!opener) {
    say("Open this page from the app you are connecting.");
    return;
  }

  window.addEventListener("message", function (event) {
    // Only the panel that opened this window, at Patchbay's exact origin.
    if (event.source !== opener || event.origin !== SELF) return;
    var data = event.data;
    if (!data || data.type !== "patchbay:flow-start" || started) return;
    if (typeof data.url !== "string" || !/^https?:\/\//.test(data.url)) return;
    started = true;
    say("Connecting…");
    fetch(SELF + "/embed/flow/bind", {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ authorisationId: data.authorisationId, secret: data.secret }),
    })
      .then(function (response) {
        if (response.status !== 204) throw new Error("refused");
        window.location.replace(data.url);
      })
      .catch(function () {
        say("This connection could not be started. Close this window and try again.");
      });
  });

  // Tell the panel this window is ready for its flow (it answers with the secret).
  opener.postMessage({ type: "patchbay:flow-ready" }, SELF);
})();
